/**
 * The settings tests' app: the real test app, plus a second public instance wired by `wireFlows` exactly as the
 * composition root does but WITH a real courier (the outbox in the same SQLite database), so the tests can read the
 * `courier_messages` rows the flow queued. When app.ts passes the courier itself, this stays equivalent.
 */
import assert from "node:assert/strict";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { createCourier } from "../../src/courier/courier.ts";
import { wireFlows } from "../../src/flow/index.ts";
import { createHttpInstance } from "../../src/http/server.ts";
import { registerSessionRoutes } from "../../src/session/routes.ts";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";
import { json, markVerified, rememberDatabase, type Json } from "./harness.ts";

export interface SettingsApp {
  t: TestApp;
  pub: FastifyInstance;
  close(): Promise<void>;
  /** Queued messages as [template_type, recipient] (rows of one manual-clock instant come in no fixed order). */
  messages(): Promise<Array<[string, string]>>;
}

export async function createSettingsApp(config: Record<string, unknown> = {}): Promise<SettingsApp> {
  const t = await createTestApp({ config });
  const d = t.app.deps;
  const courier = createCourier({ database: d.database, config: d.config, clock: d.clock, logger: d.logger, publicBaseUrl: d.publicBaseUrl });
  const pub = createHttpInstance({ logger: d.logger, bodyLimit: d.config.serve.public.request_body_limit });
  registerSessionRoutes(pub, d);
  await wireFlows(pub, { ...d, policy: d.passwordPolicy, courier });
  rememberDatabase(pub, d.database);
  await pub.ready();
  return {
    t,
    pub,
    async close() {
      await pub.close();
      await t.close();
    },
    async messages() {
      const rows = await d.database.db.selectFrom("courier_messages").select(["template_type", "recipient", "created_at"]).orderBy("created_at").execute();
      return rows.map((r) => [String(r.template_type), String(r.recipient)]);
    },
  };
}

/** Signs up through the API registration flow; returns the session token. */
export async function signUp(pub: FastifyInstance, email: string, password: string): Promise<string> {
  const flow = json(await pub.inject({ method: "GET", url: "/self-service/registration/api" }));
  const res = await pub.inject({ method: "POST", url: `/self-service/registration?flow=${flow.id}`, headers: { "content-type": "application/json" }, payload: { method: "password", password, traits: { email } } });
  assert.equal(res.statusCode, 200, res.body);
  // With enumeration mitigation and verification on, registration signs nobody in, and a password login waits for
  // the address to be verified: verify it as the owner would, then sign in for the token.
  const token = json(res).session_token as string | undefined;
  if (token) return token;
  await markVerified(pub, email);
  return (await loginApi(pub, email, password)).token as string;
}

/** API login; returns the session token, or the failed response. */
export async function loginApi(pub: FastifyInstance, identifier: string, password: string): Promise<{ token?: string; res: LightMyRequestResponse }> {
  const flow = json(await pub.inject({ method: "GET", url: "/self-service/login/api" }));
  const res = await pub.inject({ method: "POST", url: `/self-service/login?flow=${flow.id}`, headers: { "content-type": "application/json" }, payload: { method: "password", identifier, password } });
  return { token: res.statusCode === 200 ? (json(res).session_token as string) : undefined, res };
}

export async function settingsApiFlow(pub: FastifyInstance, token: string): Promise<Json> {
  const res = await pub.inject({ method: "GET", url: "/self-service/settings/api", headers: { "x-session-token": token } });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

export async function submitSettings(pub: FastifyInstance, flowId: string, token: string, body: unknown): Promise<LightMyRequestResponse> {
  return pub.inject({
    method: "POST",
    url: `/self-service/settings?flow=${flowId}`,
    headers: { "content-type": "application/json", accept: "application/json", "x-session-token": token },
    payload: JSON.stringify(body),
  });
}

export async function whoami(pub: FastifyInstance, token: string): Promise<number> {
  return (await pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": token } })).statusCode;
}
