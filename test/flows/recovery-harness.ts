/**
 * Shared set-up for the recovery / verification / code tests: the real test app with recovery and verification on,
 * a real SMTP sink, and a courier on the same database whose `drainOnce` delivers the outbox to the sink.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { KyselyPlugin } from "kysely";
import { createApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createCourier } from "../../src/courier/courier.ts";
import { createDatabase } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.ts";
import { baseTestConfig, deepMerge, REPO_ROOT, type TestApp } from "../helpers/create-test-app.ts";
import { apiFlow, createFlowsHarness, Jar, json, registerApi, submitJson, type FlowsHarness, type Json } from "./harness.ts";

export interface MailHarness extends FlowsHarness {
  sink: SmtpSink;
  /** Delivers queued messages and returns the next mail to `to` (plain text). */
  mail(to: string): Promise<string>;
  close(): Promise<void>;
}

export interface MailHarnessOptions {
  /**
   * Every database query ends with a macrotask yield (a Kysely plugin), as on PostgreSQL or MySQL where each query is
   * network I/O. Without it, better-sqlite3 answers synchronously and concurrent requests through `inject` never
   * interleave, so a race between them could not show.
   */
  queryLatency?: boolean;
}

/** Yields to the event loop after each query's result, so other requests run in between. */
const yieldAfterEachQuery: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args) => {
    await new Promise((resolve) => setImmediate(resolve));
    return args.result;
  },
};

/** `createTestApp` (real wiring, SQLite, manual clock) on a database whose queries all yield (see `queryLatency`). */
async function createYieldingTestApp(config: Record<string, unknown>): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  const { config: loaded } = await loadConfig({ overrides: deepMerge(baseTestConfig(`sqlite://${join(dir, "tessera.db")}`), config), env: {}, dev: false });
  const base = createDatabase(loaded.dsn, { cwd: REPO_ROOT });
  const database = { ...base, db: base.db.withPlugin(yieldAfterEachQuery) };
  const clock = createManualClock();
  const app = await createApp({ config: loaded, baseDir: REPO_ROOT, clock, logger: createLogger({ level: "silent" }), dev: false, database });
  await migrator(app.deps.database).up();
  return {
    app,
    clock,
    dir,
    async close() {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function createMailHarness(config: Record<string, unknown> = {}, opts: MailHarnessOptions = {}): Promise<MailHarness> {
  const sink = await startSmtpSink();
  const merged = deepMerge(
    {
      courier: { smtp: { connection_uri: sink.uri, from_address: "no-reply@tessera.test" } },
      selfservice: {
        methods: { link: { enabled: true } },
        flows: {
          recovery: { enabled: true, after: { hooks: [{ hook: "revoke_active_sessions" }] } },
          verification: { enabled: true },
        },
      },
    },
    config,
  );
  let h: FlowsHarness;
  if (opts.queryLatency) {
    const t = await createYieldingTestApp(merged);
    h = { t, pub: t.app.public, sessions: t.app.deps.sessions, close: () => t.close() };
  } else h = await createFlowsHarness(merged);
  const d = h.t.app.deps;
  const courier = createCourier({ database: d.database, config: d.config, clock: d.clock, logger: d.logger, publicBaseUrl: d.publicBaseUrl });
  return {
    ...h,
    sink,
    async mail(to) {
      await courier.drainOnce();
      const m = await sink.waitFor(to, { timeoutMs: 5000 });
      return m.text ?? "";
    },
    async close() {
      courier.close();
      await h.close();
      await sink.stop();
    },
  };
}

export async function initFlow(pub: FastifyInstance, kind: "recovery" | "verification", type: "api" | "browser", headers: Record<string, string> = {}): Promise<{ flow: Json; res: LightMyRequestResponse }> {
  const res = await pub.inject({ method: "GET", url: `/self-service/${kind}/${type}`, headers: { accept: "application/json", ...headers } });
  assert.equal(res.statusCode, 200, res.body);
  return { flow: json(res), res };
}

export async function post(pub: FastifyInstance, kind: string, flowId: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return pub.inject({
    method: "POST",
    url: `/self-service/${kind}?flow=${flowId}`,
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const digitsIn = (text: string, n: number): string => {
  const m = new RegExp(`\\b(\\d{${n}})\\b`).exec(text);
  assert.ok(m, `no ${n}-digit code in: ${text}`);
  return m[1];
};

export const messagesOf = (flow: Json): number[] => ((flow.ui?.messages ?? []) as Json[]).map((m) => m.id as number);

/**
 * Registers through the API flow, verifies the address with the code from the mail (registration signs nobody in
 * while it hides existing accounts, and a password login waits for a verified address), then signs in by password.
 * Returns the registration answer with `session_token`.
 */
export async function registerVerified(h: MailHarness, email: string, password: string): Promise<Json> {
  const reg = await registerApi(h.pub, email, password, { signIn: false });
  const show = ((reg.continue_with ?? []) as Json[]).find((c) => c.action === "show_verification_ui");
  assert.ok(show, `no show_verification_ui in ${JSON.stringify(reg.continue_with)}`);
  const code = digitsIn(await h.mail(email), 6);
  const verified = await post(h.pub, "verification", show.flow.id as string, { method: "code", code });
  assert.equal(verified.statusCode, 200, verified.body);
  const login = await apiFlow(h.pub, "login");
  const signed = await submitJson(h.pub, login, { method: "password", identifier: email, password });
  assert.equal(signed.statusCode, 200, signed.body);
  return { ...reg, session_token: json(signed).session_token };
}

/** The identity as the admin API shows it. */
export async function adminIdentity(h: FlowsHarness, id: string): Promise<Json> {
  const res = await h.t.app.admin.inject({ method: "GET", url: `/admin/identities/${id}` });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

/** Outbox rows of one template type to one recipient. */
export async function outbox(h: FlowsHarness, templateType: string, recipient: string): Promise<{ id: string; status: string }[]> {
  return h.t.app.deps.database.db
    .selectFrom("courier_messages")
    .select(["id", "status"])
    .where("template_type", "=", templateType)
    .where("recipient", "=", recipient)
    .execute();
}

/** A browser: a cookie jar and requests that send and keep its cookies. */
export class Browser {
  readonly jar = new Jar();
  constructor(private readonly pub: FastifyInstance) {}

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const u = new URL(url, "http://127.0.0.1:4433");
    const res = await this.pub.inject({ method: "GET", url: u.pathname + u.search, headers: { ...this.cookie(), ...headers } });
    this.jar.take(res);
    return res;
  }

  async post(kind: string, flowId: string, body: unknown): Promise<LightMyRequestResponse> {
    const res = await post(this.pub, kind, flowId, body, this.cookie());
    this.jar.take(res);
    return res;
  }

  private cookie(): Record<string, string> {
    const c = this.jar.header();
    return c ? { cookie: c } : {};
  }
}
