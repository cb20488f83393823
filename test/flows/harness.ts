/**
 * The flows under test: the real test app (SQLite, cheap argon2, manual clock) with the flows wired exactly as the
 * composition root does (`wireFlows`), plus a tiny cookie jar and helpers to drive the public API with `inject`.
 * Until app.ts wires flows and sessions itself, this wires them on the same instance.
 */
import assert from "node:assert/strict";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";
import { wireFlows, type SessionsPort } from "../../src/flow/index.ts";
import { createSessionService } from "../../src/session/session-service.ts";
import type { Database } from "../../src/persistence/db.ts";
import { createAddressStore } from "../../src/strategies/code/addresses.ts";

export const PUBLIC = "http://127.0.0.1:4433/";
export const UI = "http://127.0.0.1:4455/";

export interface FlowsHarness {
  t: TestApp;
  pub: FastifyInstance;
  sessions: SessionsPort;
  close(): Promise<void>;
}

export async function createFlowsHarness(config: Record<string, unknown> = {}): Promise<FlowsHarness> {
  const t = await createTestApp({ config });
  const pub = t.app.public;
  const deps = t.app.deps as typeof t.app.deps & { sessions?: SessionsPort };
  const sessions: SessionsPort =
    deps.sessions ??
    createSessionService({ database: deps.database, repo: deps.repo, clock: deps.clock, config: deps.config, publicBaseUrl: deps.publicBaseUrl, dev: false });
  if (!pub.hasRoute({ method: "GET", url: "/self-service/login/api" })) await wireFlows(pub, { ...deps, sessions });
  databases.set(pub, deps.database);
  return { t, pub, sessions, close: () => t.close() };
}

/** Each harness's database, so `registerApi` can stand in for the owner clicking the verification link. */
const databases = new WeakMap<FastifyInstance, Database>();
export const rememberDatabase = (pub: FastifyInstance, database: Database): void => void databases.set(pub, database);

/** Marks the verifiable address `value` as verified, as a completed verification flow does. */
export async function markVerified(pub: FastifyInstance, value: string): Promise<void> {
  const database = databases.get(pub);
  if (!database) throw new Error("markVerified: not a flows-harness instance");
  // Through the address store, as the flow does: it also rewrites the identity's copy of its addresses.
  const addresses = createAddressStore(database);
  const found = await addresses.findVerifiable(value);
  if (found) await addresses.markVerified(found.id, new Date());
}

/** Cookies kept by name, as a browser would for one host. */
export class Jar {
  readonly cookies = new Map<string, string>();
  take(res: LightMyRequestResponse): void {
    const raw = res.headers["set-cookie"];
    for (const c of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(c) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function json(res: LightMyRequestResponse): Json {
  assert.match(String(res.headers["content-type"]), /application\/json/, `expected JSON, got ${res.statusCode} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as Json;
}

export function node(flow: Json, name: string): Json {
  const n = (flow.ui.nodes as Json[]).find((x) => x.attributes.name === name);
  assert.ok(n, `node ${name} missing`);
  return n;
}

export const csrfOf = (flow: Json): string => node(flow, "csrf_token").attributes.value as string;
export const flowIdFrom = (location: string): string => new URL(location).searchParams.get("flow") ?? "";

/** Starts a browser flow as the reference UI does (JSON init), returning the flow and keeping the CSRF cookie. */
export async function browserFlow(pub: FastifyInstance, kind: "login" | "registration", jar: Jar, query = ""): Promise<Json> {
  const res = await pub.inject({ method: "GET", url: `/self-service/${kind}/browser${query}`, headers: { accept: "application/json", cookie: jar.header() } });
  assert.equal(res.statusCode, 200, res.body);
  jar.take(res);
  return json(res);
}

export async function apiFlow(pub: FastifyInstance, kind: "login" | "registration", query = ""): Promise<Json> {
  const res = await pub.inject({ method: "GET", url: `/self-service/${kind}/api${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

export async function submitJson(pub: FastifyInstance, flow: Json, body: Json, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return pub.inject({ method: "POST", url: new URL(flow.ui.action as string).pathname + new URL(flow.ui.action as string).search, headers: { "content-type": "application/json", accept: "application/json", ...headers }, payload: JSON.stringify(body) });
}

export async function submitForm(pub: FastifyInstance, flow: Json, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const u = new URL(flow.ui.action as string);
  return pub.inject({ method: "POST", url: u.pathname + u.search, headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, payload: new URLSearchParams(fields).toString() });
}

/** Registers an identity through the API flow (the real path) and returns the response JSON. */
/**
 * Registers through the API flow. With enumeration mitigation and verification on, registration signs nobody in; then
 * (unless `signIn: false`) a password login supplies `session_token`.
 */
export async function registerApi(pub: FastifyInstance, email: string, password: string, opts: { signIn?: boolean } = {}): Promise<Json> {
  const flow = await apiFlow(pub, "registration");
  const res = await submitJson(pub, flow, { method: "password", password, traits: { email } });
  assert.equal(res.statusCode, 200, res.body);
  const out = json(res);
  if (out.session_token === undefined && opts.signIn !== false) {
    // Enumeration-safe registration gives no session, and a password login waits for the address to be verified
    // (a session would tell that the address was free): verify it as the owner would, then sign in.
    await markVerified(pub, email);
    const login = await apiFlow(pub, "login");
    const signed = await submitJson(pub, login, { method: "password", identifier: email, password });
    assert.equal(signed.statusCode, 200, signed.body);
    out.session_token = json(signed).session_token;
  }
  return out;
}
