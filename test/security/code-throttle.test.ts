import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { THROTTLE_MESSAGE_IDS } from "../../src/security/throttle/messages.ts";
import { answerOf, apiFlowId, assertSameAnswer, createIdentity, postJson, queued, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Brute-force protection beyond password guesses, through the public API:
 * - recovery and verification code guesses are throttled per address across flows (on top of `max_submissions`),
 *   identically for known and unknown addresses, and lifted by time;
 * - message caps: the 6th recovery message to one address within the window is not queued, the answer is the same;
 * - the owner of a locked identifier gets exactly one `login_throttled` email when the lockout starts;
 * - a completed recovery clears the login throttle.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const CONFIG = {
  security: { brute_force: { identifier: { free_attempts: 3, max_delay: "1m", max_consecutive_failures: 6, lockout: "10m" } } },
  selfservice: { flows: { recovery: { enabled: true }, verification: { enabled: true } } },
};

type Body = { ui: { messages?: Array<{ id: number }> }; state?: string };
const ids = async (res: Response) => ((((await res.json()) as Body).ui.messages ?? []) as Array<{ id: number }>).map((m) => m.id);

describe("code guesses, message caps, lockout notice", () => {
  let s: Served;
  before(async () => {
    s = await serve(CONFIG);
    for (const email of ["known@example.com", "locked@example.com", "recover@example.com"]) await createIdentity(s.t, email, PASSWORD);
  });
  after(async () => s.close());

  const post = (kind: string, flowId: string, body: Record<string, unknown>) => postJson(s.base, `/self-service/${kind}?flow=${flowId}`, body);
  /** Runs `send`, then returns the `digits`-digit code of the one new message to `to` (rows carry no reliable order). */
  const codeSentBy = async (to: string, digits: number, send: () => Promise<unknown>): Promise<string> => {
    const rows = () => s.t.app.deps.database.db.selectFrom("courier_messages").select(["id", "body"]).where("recipient", "=", to).execute();
    const seen = new Set((await rows()).map((r) => r.id));
    await send();
    const fresh = (await rows()).filter((r) => !seen.has(r.id));
    assert.equal(fresh.length, 1);
    const m = new RegExp(`: (\\d{${digits}})\\b`).exec(String(fresh[0].body));
    assert.ok(m, `no code in: ${fresh[0].body}`);
    return m[1];
  };

  for (const kind of ["recovery", "verification"] as const) {
    test(`${kind}: code guesses throttled per address across flows, same for an unknown address`, async () => {
      s.t.clock.advance(2 * 3_600_000); // a fresh message-cap window (caps are tested below)
      const wrong = kind === "recovery" ? "00000000" : "000000";
      const statuses: Record<string, number[]> = {};
      const throttled: Record<string, Response> = {};
      for (const email of [`known@example.com`, `nobody-${kind}@example.com`]) {
        const flow = await apiFlowId(s.base, kind);
        assert.equal((await post(kind, flow, { method: "code", email })).status, 200);
        statuses[email] = [];
        for (let i = 0; i < 3; i++) statuses[email].push((await post(kind, flow, { method: "code", code: wrong })).status);
        // A fresh flow (fresh max_submissions) does not reset the address's count.
        const flow2 = await apiFlowId(s.base, kind);
        assert.equal((await post(kind, flow2, { method: "code", email })).status, 200);
        throttled[email] = await post(kind, flow2, { method: "code", code: wrong });
      }
      // A wrong code answers the flow with 200 (4060006 / 4070006), as Kratos; the throttled one 429.
      assert.deepEqual(statuses["known@example.com"], [200, 200, 200]);
      assert.deepEqual(statuses[`nobody-${kind}@example.com`], [200, 200, 200]);
      const k = throttled["known@example.com"];
      assert.equal(k.status, 429);
      assert.ok(Number(k.headers.get("retry-after")) >= 1);
      assertSameAnswer(await answerOf(k.clone(), ["known@example.com"]), await answerOf(throttled[`nobody-${kind}@example.com`], [`nobody-${kind}@example.com`]), kind);
      assert.deepEqual(await ids(k), [THROTTLE_MESSAGE_IDS.throttled]);
      // After the wait, the right code works.
      s.t.clock.advance(1_100);
      const flow3 = await apiFlowId(s.base, kind);
      const code = await codeSentBy("known@example.com", kind === "recovery" ? 8 : 6, () => post(kind, flow3, { method: "code", email: "known@example.com" }));
      const ok = await post(kind, flow3, { method: "code", code });
      assert.equal(ok.status, 200, await ok.clone().text());
    });
  }

  test("message cap: the 6th recovery message to one address is not queued; the answer is the same", async () => {
    s.t.clock.advance(2 * 3_600_000); // a fresh message window
    const before = (await queued(s.t)).filter(([, r]) => r === "cap@example.com").length;
    await createIdentity(s.t, "cap@example.com", PASSWORD);
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const flow = await apiFlowId(s.base, "recovery");
      answers.push(await answerOf(await post("recovery", flow, { method: "code", email: "cap@example.com" }), ["cap@example.com"]));
    }
    const after = (await queued(s.t)).filter(([, r]) => r === "cap@example.com").length;
    assert.equal(after - before, 5);
    assertSameAnswer(answers[5], answers[4], "capped");
    assert.equal(answers[5].status, 200);
  });

  test("lockout: the owner gets exactly one login_throttled email; an unknown identifier none", async () => {
    const login = async (identifier: string) => {
      const flow = await apiFlowId(s.base, "login");
      return post("login", flow, { method: "password", identifier, password: "wrong password, quite long" });
    };
    for (const identifier of ["locked@example.com", "ghost@example.com"]) {
      for (let i = 0; i < 6; i++) {
        assert.equal((await login(identifier)).status, 400);
        s.t.clock.advance(61_000); // past the growing wait (max_delay 1m)
      }
      const refused = await login(identifier);
      assert.equal(refused.status, 429);
      assert.deepEqual(await ids(refused), [THROTTLE_MESSAGE_IDS.locked]);
    }
    // The notification runs after the answer: wait for it (bounded).
    const notices = async () => (await queued(s.t)).filter(([t]) => t === "login_throttled");
    for (let i = 0; i < 50 && (await notices()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await notices(), [["login_throttled", "locked@example.com"]]);
    // Further refused attempts during the lock send nothing more.
    for (let i = 0; i < 3; i++) assert.equal((await login("locked@example.com")).status, 429);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await notices()).length, 1);
  });

  test("a completed recovery clears the login throttle and the address's code-guess throttles", async () => {
    s.t.clock.advance(2 * 3_600_000);
    const login = async (password: string) => {
      const flow = await apiFlowId(s.base, "login");
      return post("login", flow, { method: "password", identifier: "recover@example.com", password });
    };
    for (let i = 0; i < 3; i++) assert.equal((await login("wrong password, quite long")).status, 400);
    assert.equal((await login(PASSWORD)).status, 429);
    // Verification-code guesses for the same address, up to the throttle (free_attempts 3).
    const verification = await apiFlowId(s.base, "verification");
    assert.equal((await post("verification", verification, { method: "code", email: "recover@example.com" })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await post("verification", verification, { method: "code", code: "000000" })).status, 200);
    const guess = async () => {
      const flow = await apiFlowId(s.base, "verification");
      assert.equal((await post("verification", flow, { method: "code", email: "recover@example.com" })).status, 200);
      return post("verification", flow, { method: "code", code: "000000" });
    };
    assert.equal((await guess()).status, 429, "the address's verification guesses are throttled");
    const flow = await apiFlowId(s.base, "recovery");
    const code = await codeSentBy("recover@example.com", 8, () => post("recovery", flow, { method: "code", email: "recover@example.com" }));
    const done = await post("recovery", flow, { method: "code", code });
    assert.equal(done.status, 200, await done.clone().text());
    assert.equal((await login(PASSWORD)).status, 200);
    const after = await guess();
    assert.equal(after.status, 200, "the recovery cleared the verification-code counter too");
    assert.deepEqual(await ids(after), [4070006]);
  });
});
