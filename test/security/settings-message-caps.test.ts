import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { answerOf, assertSameAnswer, postJson, queued, queuedSince, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Settings respects the message caps (`security.brute_force.messages`), through the public API:
 * - changing one's email to another account's address again and again sends that owner at most
 *   `messages.per_address` `registration_attempt` notices per window; beyond it the answer is the same;
 * - the changed addresses' verification codes count against the per-IP cap (4 x per_address) under the real client
 *   IP (behind a trusted proxy, from `X-Forwarded-For`): a client changing its address to ever new ones stops
 *   receiving codes at the cap, while another client IP is not affected.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const PER_ADDRESS = 2;
const CONFIG = {
  serve: { public: { trusted_proxies: ["127.0.0.1"] } },
  security: { brute_force: { messages: { per_address: PER_ADDRESS, window: "1h" } } },
  selfservice: { flows: { verification: { enabled: true } } },
};

describe("settings message caps", () => {
  let s: Served;
  before(async () => {
    s = await serve(CONFIG);
  });
  after(async () => s.close());

  /** An identity with a verified address (so its password login is never held back for verification). */
  const createVerified = async (email: string) => {
    const res = await s.t.app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: {
        schema_id: "default",
        traits: { email },
        credentials: { password: { config: { password: PASSWORD } } },
        verifiable_addresses: [{ value: email, via: "email", verified: true, status: "completed" }],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
  };
  const login = async (email: string, ip: string): Promise<string> => {
    const flow = (await (await fetch(`${s.base}/self-service/login/api`, { headers: { "x-forwarded-for": ip } })).json()) as { id: string };
    const res = await postJson(s.base, `/self-service/login?flow=${flow.id}`, { method: "password", identifier: email, password: PASSWORD }, { "x-forwarded-for": ip });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { session_token: string }).session_token;
  };
  const change = async (token: string, email: string, ip: string): Promise<Response> => {
    const res = await fetch(`${s.base}/self-service/settings/api`, { headers: { "x-session-token": token, "x-forwarded-for": ip } });
    assert.equal(res.status, 200);
    const flow = ((await res.json()) as { id: string }).id;
    return postJson(s.base, `/self-service/settings?flow=${flow}`, { method: "profile", traits: { email } }, { "x-session-token": token, "x-forwarded-for": ip });
  };

  test("repeated changes to another account's address send its owner at most messages.per_address notices", async () => {
    await createVerified("victim@example.com");
    // Each attempt from its own IP, so only the per-address cap can stop them.
    await createVerified("mallory@example.com");
    const token = await login("mallory@example.com", "198.51.100.1");
    const before = await queued(s.t);
    const answers = [];
    for (let i = 0; i < PER_ADDRESS + 3; i++) {
      const res = await change(token, "victim@example.com", `198.51.100.${10 + i}`);
      assert.equal(res.status, 200);
      answers.push(await answerOf(res, ["victim@example.com", "mallory@example.com"]));
    }
    const added = await queuedSince(s.t, before);
    assert.deepEqual(
      added.filter(([, to]) => to === "victim@example.com"),
      Array.from({ length: PER_ADDRESS }, () => ["registration_attempt", "victim@example.com"]),
    );
    assert.deepEqual(added, added.filter(([, to]) => to === "victim@example.com"), "nothing else was queued");
    // Beyond the cap: the same answer.
    for (let i = 1; i < answers.length; i++) assertSameAnswer(answers[i], answers[0], `attempt ${i + 1}`);
  });

  test("verification codes of changed addresses count against the per-IP cap of the real client IP", async () => {
    s.t.clock.advance(2 * 3_600_000); // a fresh message window
    const perIp = 4 * PER_ADDRESS;
    await createVerified("rotator@example.com");
    const ip = "203.0.113.7";
    const token = await login("rotator@example.com", ip);
    const before = await queued(s.t);
    const answers = [];
    for (let i = 0; i < perIp + 2; i++) {
      const to = `rotate-${i}@example.com`;
      const res = await change(token, to, ip);
      assert.equal(res.status, 200);
      answers.push(await answerOf(res, [to]));
    }
    const added = await queuedSince(s.t, before);
    assert.equal(added.length, perIp, `codes sent: ${JSON.stringify(added)}`);
    assert.ok(added.every(([type]) => type === "verification_code_valid"), JSON.stringify(added));
    assertSameAnswer(answers[perIp], answers[perIp - 1], "capped change");
    // The cap is the client's, not the address's: another client IP still gets its code.
    await createVerified("other@example.com");
    const other = await login("other@example.com", "203.0.113.8");
    const mark = await queued(s.t);
    assert.equal((await change(other, "fresh-other@example.com", "203.0.113.8")).status, 200);
    assert.deepEqual(await queuedSince(s.t, mark), [["verification_code_valid", "fresh-other@example.com"]]);
  });
});
