import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { compareTiming, formatReport } from "./timing.ts";
import { answerOf, apiFlowId, assertSameAnswer, createIdentity, FetchJar, postJson, queued, queuedSince, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Account enumeration on recovery, by code and by link: a known and an unknown address get the same answer (API and
 * browser JSON) and cost the same time (200 interleaved samples per class, real socket). Only the known address gets a
 * message; an unknown one gets `recovery_unknown` when `notify_unknown_recipients` is on.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const config = (use: "code" | "link", notify = false) => ({
  security: { brute_force: { enabled: false } },
  selfservice: {
    methods: { link: { enabled: true } },
    flows: { recovery: { enabled: true, use, notify_unknown_recipients: notify }, verification: { enabled: true } },
  },
});

for (const method of ["code", "link"] as const) {
  describe(`recovery enumeration (${method})`, () => {
    let s: Served;
    before(async () => {
      s = await serve(config(method));
      await createIdentity(s.t, "known@example.com", PASSWORD);
    });
    after(async () => s.close());

    const send = (flowId: string, email: string, headers: Record<string, string> = {}) =>
      postJson(s.base, `/self-service/recovery?flow=${flowId}`, { method, email, csrf_token: headers["x-csrf"] ?? undefined }, headers);

    test("known and unknown addresses: the same answer (API and browser), a message only to the known one", async () => {
      const before = await queued(s.t);
      const known = await send(await apiFlowId(s.base, "recovery"), "known@example.com");
      const unknown = await send(await apiFlowId(s.base, "recovery"), "nobody@example.com");
      assert.equal(known.status, 200);
      assertSameAnswer(await answerOf(known, ["known@example.com"]), await answerOf(unknown, ["nobody@example.com"]), "api");
      const added = await queuedSince(s.t, before);
      assert.deepEqual(added.map(([, r]) => r), ["known@example.com"]);

      const browser = async (email: string) => {
        const jar = new FetchJar();
        const init = await fetch(`${s.base}/self-service/recovery/browser`, { headers: { accept: "application/json" } });
        jar.take(init);
        const flow = (await init.json()) as { id: string; ui: { nodes: Array<{ attributes: { name: string; value?: string } }> } };
        const csrf = String(flow.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes.value);
        return postJson(s.base, `/self-service/recovery?flow=${flow.id}`, { method, email, csrf_token: csrf }, { cookie: jar.header() });
      };
      const bk = await browser("known@example.com");
      const bu = await browser("nobody@example.com");
      assert.equal(bk.status, 200);
      assertSameAnswer(await answerOf(bk, ["known@example.com"]), await answerOf(bu, ["nobody@example.com"]), "browser");
    });

    test(`timing: known vs unknown address (${method})`, async () => {
      const knownFlow = await apiFlowId(s.base, "recovery");
      const unknownFlow = await apiFlowId(s.base, "recovery");
      const report = await compareTiming(
        `recovery ${method}`,
        async () => (await send(knownFlow, "known@example.com")).arrayBuffer(),
        async () => (await send(unknownFlow, "nobody@example.com")).arrayBuffer(),
      );
      console.log(formatReport(report));
      assert.ok(report.pass, formatReport(report));
    });
  });
}

describe("recovery enumeration with notify_unknown_recipients", () => {
  let s: Served;
  before(async () => {
    s = await serve(config("code", true));
    await createIdentity(s.t, "known@example.com", PASSWORD);
  });
  after(async () => s.close());

  test("the unknown address gets recovery_unknown; exactly one message each; same answer", async () => {
    const before = await queued(s.t);
    const known = await postJson(s.base, `/self-service/recovery?flow=${await apiFlowId(s.base, "recovery")}`, { method: "code", email: "known@example.com" });
    const unknown = await postJson(s.base, `/self-service/recovery?flow=${await apiFlowId(s.base, "recovery")}`, { method: "code", email: "nobody@example.com" });
    assertSameAnswer(await answerOf(known, ["known@example.com"]), await answerOf(unknown, ["nobody@example.com"]), "api");
    assert.deepEqual(await queuedSince(s.t, before), [
      ["recovery_code_invalid", "nobody@example.com"],
      ["recovery_code_valid", "known@example.com"],
    ]);
  });
});
