import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { compareTiming, formatReport } from "./timing.ts";
import { answerOf, apiFlowId, assertSameAnswer, createIdentity, postJson, queued, queuedSince, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Account enumeration on verification (code): a known (unverified) and an unknown address get the same answer and
 * cost the same time (200 interleaved samples per class, real socket); a code goes to the known address only.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";

describe("verification enumeration (code)", () => {
  let s: Served;
  before(async () => {
    s = await serve({ security: { brute_force: { enabled: false } }, selfservice: { flows: { verification: { enabled: true } } } });
    await createIdentity(s.t, "known@example.com", PASSWORD);
  });
  after(async () => s.close());

  const send = (flowId: string, email: string) => postJson(s.base, `/self-service/verification?flow=${flowId}`, { method: "code", email });

  test("known and unknown addresses: the same answer, a code only to the known one", async () => {
    const before = await queued(s.t);
    const known = await send(await apiFlowId(s.base, "verification"), "known@example.com");
    const unknown = await send(await apiFlowId(s.base, "verification"), "nobody@example.com");
    assert.equal(known.status, 200);
    assertSameAnswer(await answerOf(known, ["known@example.com"]), await answerOf(unknown, ["nobody@example.com"]), "api");
    assert.deepEqual(await queuedSince(s.t, before), [["verification_code_valid", "known@example.com"]]);
  });

  test("timing: known vs unknown address", async () => {
    const knownFlow = await apiFlowId(s.base, "verification");
    const unknownFlow = await apiFlowId(s.base, "verification");
    const report = await compareTiming(
      "verification code",
      async () => (await send(knownFlow, "known@example.com")).arrayBuffer(),
      async () => (await send(unknownFlow, "nobody@example.com")).arrayBuffer(),
    );
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});
