import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { compareTiming, formatReport } from "./timing.ts";
import { answerOf, assertSameAnswer, createIdentity, postJson, queued, queuedSince, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Account enumeration on settings: changing one's email to an address of another account answers like a change to a
 * free address (identical answer, same time over 200 interleaved samples per class); the owner gets a
 * `registration_attempt` notice, the free address a verification code.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";

describe("settings email change enumeration", () => {
  let s: Served;
  const tokens: Record<string, string> = {};
  before(async () => {
    s = await serve({ security: { brute_force: { enabled: false } }, selfservice: { flows: { verification: { enabled: true } } } });
    for (const email of ["owner@example.com", "alice@example.com", "bob@example.com"]) {
      await createIdentity(s.t, email, PASSWORD);
      const flow = (await (await fetch(`${s.base}/self-service/login/api`)).json()) as { id: string };
      const res = await postJson(s.base, `/self-service/login?flow=${flow.id}`, { method: "password", identifier: email, password: PASSWORD });
      assert.equal(res.status, 200);
      tokens[email] = ((await res.json()) as { session_token: string }).session_token;
    }
  });
  after(async () => s.close());

  const settingsFlow = async (token: string): Promise<string> => {
    const res = await fetch(`${s.base}/self-service/settings/api`, { headers: { "x-session-token": token } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { id: string }).id;
  };
  const change = (flowId: string, token: string, email: string) =>
    postJson(s.base, `/self-service/settings?flow=${flowId}`, { method: "profile", traits: { email } }, { "x-session-token": token });

  test("a taken address answers like a free one; the owner is told", async () => {
    const before = await queued(s.t);
    const taken = await change(await settingsFlow(tokens["alice@example.com"]), tokens["alice@example.com"], "owner@example.com");
    const free = await change(await settingsFlow(tokens["bob@example.com"]), tokens["bob@example.com"], "free@example.com");
    assert.equal(taken.status, 200);
    assertSameAnswer(await answerOf(taken, ["owner@example.com", "alice@example.com"]), await answerOf(free, ["free@example.com", "bob@example.com"]), "settings");
    const added = await queuedSince(s.t, before);
    assert.deepEqual(added.filter(([, r]) => r === "owner@example.com"), [["registration_attempt", "owner@example.com"]]);
    assert.equal(added.filter(([, r]) => r === "free@example.com").length, 1);
  });

  test("timing: taken vs free address", async () => {
    const n = 220;
    const a = tokens["alice@example.com"];
    const b = tokens["bob@example.com"];
    const takenFlows = await Promise.all(Array.from({ length: n }, () => settingsFlow(a)));
    const freeFlows = await Promise.all(Array.from({ length: n }, () => settingsFlow(b)));
    let i = 0;
    let j = 0;
    const report = await compareTiming(
      "settings email change",
      async () => {
        const r = await change(takenFlows[i++], a, "owner@example.com");
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      },
      async () => {
        const r = await change(freeFlows[j], b, `free-${j++}@example.com`);
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      },
    );
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});
