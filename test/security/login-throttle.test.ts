import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { apiFlow, createFlowsHarness, json, type FlowsHarness } from "../flows/harness.ts";
import { THROTTLE_MESSAGE_IDS } from "../../src/security/throttle/messages.ts";

/**
 * Brute-force protection on password login, through the public API: free attempts, then a growing wait answered with
 * 429 + Retry-After before any lookup or hashing, identical for an existing and an unknown identifier, reset by a
 * success, and lifted by the admin API.
 */
describe("password login brute-force protection", () => {
  let h: FlowsHarness;
  const password = "a sufficiently long and unusual passphrase";

  before(async () => {
    h = await createFlowsHarness({ security: { brute_force: { identifier: { free_attempts: 3, max_delay: "1m" } } } });
    const res = await h.t.app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: { schema_id: "default", traits: { email: "known@example.com" }, credentials: { password: { config: { password } } } },
    });
    assert.equal(res.statusCode, 201, res.body);
  });
  after(async () => h.close());

  async function login(identifier: string, pw: string) {
    const flow = await apiFlow(h.pub, "login");
    return h.pub.inject({ method: "POST", url: `/self-service/login?flow=${flow.id}`, payload: { method: "password", identifier, password: pw } });
  }

  const normalize = (body: string, identifier: string) =>
    body
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
      .replace(/\d{4}-\d\d-\d\dT[0-9:.]+Z/g, "<time>")
      .replaceAll(identifier, "<identifier>");

  test("free attempts, then 429 with Retry-After, identical for known and unknown identifiers", async () => {
    for (const identifier of ["known@example.com", "unknown@example.com"]) {
      // free_attempts failures are evaluated without delay; the last of them starts the wait.
      for (let i = 0; i < 3; i++) assert.equal((await login(identifier, "wrong password here")).statusCode, 400);
    }
    const known = await login("known@example.com", password);
    const unknown = await login("unknown@example.com", password);
    assert.equal(known.statusCode, 429, known.body);
    assert.equal(unknown.statusCode, 429);
    assert.equal(known.headers["retry-after"], unknown.headers["retry-after"]);
    assert.ok(Number(known.headers["retry-after"]) >= 1);
    assert.deepEqual(Object.keys(known.headers).sort(), Object.keys(unknown.headers).sort());
    assert.equal(normalize(known.body, "known@example.com"), normalize(unknown.body, "unknown@example.com"));
    const ids = (json(known).ui.messages as Array<{ id: number }>).map((m) => m.id);
    assert.ok(ids.includes(THROTTLE_MESSAGE_IDS.throttled) || ids.includes(THROTTLE_MESSAGE_IDS.locked), JSON.stringify(ids));
  });

  test("after the wait the correct password logs in and resets the count; the admin API lists and clears", async () => {
    const status = await h.t.app.admin.inject({ url: "/admin/security/throttles?identifier=known@example.com" });
    assert.equal(status.statusCode, 200);
    assert.equal(status.json<{ throttled: boolean }>().throttled, true);

    h.t.clock.advance(61_000);
    const ok = await login("KNOWN@example.com ", password);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.match(json(ok).session_token, /^ory_st_/);
    for (let i = 0; i < 3; i++) assert.equal((await login("known@example.com", "wrong password here")).statusCode, 400, "count was reset");

    assert.equal((await h.t.app.admin.inject({ method: "DELETE", url: "/admin/security/throttles?identifier=unknown@example.com" })).statusCode, 204);
    assert.equal((await login("unknown@example.com", "wrong password here")).statusCode, 400, "cleared");
  });
});
