import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createHttpInstance } from "../../src/http/server.ts";
import { registerRecoveryAdminRoutes } from "../../src/flow/recovery/admin-routes.ts";
import { createCourier } from "../../src/courier/courier.ts";
import { json, registerApi } from "./harness.ts";
import { createMailHarness, messagesOf, post, type MailHarness } from "./recovery-harness.ts";

describe("admin recovery code and link", () => {
  let h: MailHarness;
  let admin: FastifyInstance;
  before(async () => {
    h = await createMailHarness();
    const d = h.t.app.deps;
    admin = createHttpInstance({ logger: d.logger, bodyLimit: 1 << 20 });
    const courier = createCourier({ database: d.database, config: d.config, clock: d.clock, logger: d.logger, publicBaseUrl: d.publicBaseUrl });
    await admin.register(async (scope) => registerRecoveryAdminRoutes(scope, { ...d, courier }), { prefix: "/admin" });
  });
  after(async () => {
    await admin.close();
    await h.close();
  });

  it("a code for an API flow recovers the account; bad bodies are 4xx", async () => {
    const reg = await registerApi(h.pub, "ivy@example.com", "correct horse battery staple 42");
    const res = await admin.inject({ method: "POST", url: "/admin/recovery/code", payload: { identity_id: reg.identity.id, flow_type: "api", expires_in: "15m" } });
    assert.equal(res.statusCode, 201, res.body);
    const out = json(res);
    assert.match(out.recovery_code, /^\d{8}$/);
    const flowId = new URL(out.recovery_link).searchParams.get("flow") ?? "";
    const wrong = await post(h.pub, "recovery", flowId, { method: "code", code: "12345678" === out.recovery_code ? "87654321" : "12345678" });
    assert.deepEqual(messagesOf(json(wrong)), [4060006]);
    const ok = await post(h.pub, "recovery", flowId, { method: "code", code: out.recovery_code });
    assert.equal(ok.statusCode, 200, ok.body);
    for (const payload of [{}, { identity_id: "x" }, { identity_id: reg.identity.id, expires_in: "-1h" }, { identity_id: "7d4b5a8e-0000-4000-8000-000000000000" }]) {
      const r = await admin.inject({ method: "POST", url: "/admin/recovery/link", payload });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${JSON.stringify(payload)} -> ${r.statusCode}`);
    }
    const link = json(await admin.inject({ method: "POST", url: "/admin/recovery/link", payload: { identity_id: reg.identity.id } }));
    const u = new URL(link.recovery_link);
    const open = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(open.statusCode, 303);
    assert.match(String(open.headers.location), /settings\?flow=/);
  });
});
