import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { createCourier } from "../../src/courier/courier.ts";
import { wireFlows } from "../../src/flow/index.ts";
import { MESSAGES_NOT_QUEUED_ID } from "../../src/flow/settings/errors.ts";
import { createHttpInstance } from "../../src/http/server.ts";
import { registerSessionRoutes } from "../../src/session/routes.ts";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";
import { json } from "./harness.ts";
import { loginApi, settingsApiFlow, submitSettings } from "./settings-harness.ts";

/**
 * Settings never drops a message silently (src/flow/settings/hooks.ts). The identity service stores a change in its
 * own transaction, so a failed enqueue cannot roll the change back; instead:
 * - a transient lock error on the outbox is retried in place (the answer is the usual 200);
 * - a persistent failure answers 400 with the flow and 4991001 (never a 5xx), the change stays stored, and the flow
 *   keeps the message: the next submit of that flow queues it first, exactly once.
 * The app below is wired like the composition root, with a courier whose `enqueue` the test can make fail.
 */
const OLD = "correct horse battery staple";
const NEW = "purple monkey dishwasher 42";

type Failure = "none" | "always" | "busy-once";

describe("settings: messages a change causes are queued or owed, never dropped", () => {
  let t: TestApp;
  let pub: FastifyInstance;
  let failure: Failure = "none";
  let attempts = 0;

  before(async () => {
    t = await createTestApp({ config: { selfservice: { flows: { verification: { enabled: true } } } } });
    const d = t.app.deps;
    const real = createCourier({ database: d.database, config: d.config, clock: d.clock, logger: d.logger, publicBaseUrl: d.publicBaseUrl });
    const courier: typeof real = Object.create(real) as typeof real;
    courier.enqueue = async (q, msg) => {
      attempts += 1;
      if (failure === "always") throw new Error("outbox unavailable");
      if (failure === "busy-once") {
        failure = "none";
        throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
      }
      return real.enqueue(q, msg);
    };
    pub = createHttpInstance({ logger: d.logger, bodyLimit: d.config.serve.public.request_body_limit });
    registerSessionRoutes(pub, d);
    await wireFlows(pub, { ...d, policy: d.passwordPolicy, courier });
    await pub.ready();
  });
  after(async () => {
    await pub.close();
    await t.close();
  });

  const rows = async (recipient: string) =>
    (await t.app.deps.database.db.selectFrom("courier_messages").select(["template_type"]).where("recipient", "=", recipient).execute()).map((r) => String(r.template_type));
  const createVerified = async (email: string) => {
    const res = await t.app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: {
        schema_id: "default",
        traits: { email },
        credentials: { password: { config: { password: OLD } } },
        verifiable_addresses: [{ value: email, via: "email", verified: true, status: "completed" }],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const { token } = await loginApi(pub, email, OLD);
    assert.ok(token);
    return token;
  };
  const formIds = (body: Record<string, unknown>) => ((body.ui as { messages?: Array<{ id: number }> }).messages ?? []).map((m) => m.id);

  it("a transient lock error is retried in place: 200, the notice queued once", async () => {
    const token = await createVerified("busy@example.com");
    const flow = await settingsApiFlow(pub, token);
    failure = "busy-once";
    attempts = 0;
    const res = await submitSettings(pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(attempts, 2);
    assert.deepEqual(await rows("busy@example.com"), ["password_changed"]);
  });

  it("password_changed that cannot be queued: 400 + 4991001, the change stored, queued by the next submit, once", async () => {
    const token = await createVerified("outage@example.com");
    const flow = await settingsApiFlow(pub, token);
    failure = "always";
    const res = await submitSettings(pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(formIds(json(res)), [MESSAGES_NOT_QUEUED_ID]);
    assert.deepEqual(await rows("outage@example.com"), []);
    // The change is stored: the new password signs in, the old one does not.
    assert.ok((await loginApi(pub, "outage@example.com", NEW)).token);
    assert.equal((await loginApi(pub, "outage@example.com", OLD)).token, undefined);
    // Still failing: the same answer, still owed.
    const again = await submitSettings(pub, flow.id, token, { method: "password", password: "another long passphrase 77" });
    assert.equal(again.statusCode, 400);
    assert.deepEqual(formIds(json(again)), [MESSAGES_NOT_QUEUED_ID]);
    assert.ok((await loginApi(pub, "outage@example.com", NEW)).token, "a submit that only retried changed nothing");
    // The outbox is back: the next submit queues what was owed first, then is handled as usual (here 4000039).
    failure = "none";
    const retried = await submitSettings(pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(retried.statusCode, 400);
    assert.deepEqual(formIds(json(retried)), []);
    assert.deepEqual(await rows("outage@example.com"), ["password_changed"]);
    const more = await submitSettings(pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(more.statusCode, 400);
    assert.deepEqual(await rows("outage@example.com"), ["password_changed"], "queued exactly once");
  });

  it("a changed address whose verification cannot be queued: 400 + 4991001, the code sent by the next submit", async () => {
    const token = await createVerified("mover@example.com");
    const flow = await settingsApiFlow(pub, token);
    failure = "always";
    const res = await submitSettings(pub, flow.id, token, { method: "profile", traits: { email: "moved@example.com" } });
    assert.equal(res.statusCode, 400, res.body);
    const body = json(res);
    assert.deepEqual(formIds(body), [MESSAGES_NOT_QUEUED_ID]);
    assert.equal(body.identity.traits.email, "moved@example.com", "the answer shows the stored change");
    assert.deepEqual(await rows("moved@example.com"), []);
    failure = "none";
    const retried = await submitSettings(pub, flow.id, token, { method: "profile", traits: { email: "moved@example.com" } });
    assert.equal(retried.statusCode, 200, retried.body);
    assert.deepEqual(await rows("moved@example.com"), ["verification_code_valid"]);
  });
});
