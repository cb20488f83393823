import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { LightMyRequestResponse } from "fastify";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { baseTestConfig, deepMerge, REPO_ROOT } from "../helpers/create-test-app.ts";

/**
 * Security events as an operator's log pipeline sees them: the real app with a pino logger writing JSON lines to a
 * buffer, driven through the public API from a client behind a trusted proxy. Asserts, per event, its name, the
 * identity id (where the flow knows the account), the client IP (the forwarded one, not the proxy's) and the flow id;
 * and that no submitted password, code or issued session token appears in ANY line the app wrote (request lines
 * included), whatever its level.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const WRONG = ["first wrong passphrase 1111", "second wrong passphrase 2222", "third wrong passphrase 3333", "fourth wrong passphrase 4444", "fifth wrong passphrase 5555"];
const NEW_PASSWORD = "a brand new and even longer passphrase";
const WRONG_CODE = "13572468";
const CLIENT = "203.0.113.7";
const CONFIG = {
  serve: { public: { trusted_proxies: ["127.0.0.1"] } },
  security: { brute_force: { identifier: { free_attempts: 2, max_delay: "1m", max_consecutive_failures: 4, lockout: "10m" } } },
  selfservice: {
    flows: {
      recovery: { enabled: true },
      verification: { enabled: true },
      settings: { after: { password: { hooks: [{ hook: "revoke_active_sessions" }] } } },
    },
  },
};

type Line = Record<string, unknown>;

describe("security events in the log", () => {
  let app: App;
  let dir: string;
  const clock = createManualClock();
  const raw: string[] = [];
  /** Every secret the client submitted or was issued. */
  const secrets = new Set<string>([PASSWORD, NEW_PASSWORD, WRONG_CODE, ...WRONG]);
  let identityId = "";

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-events-"));
    const { config } = await loadConfig({ overrides: deepMerge(baseTestConfig(`sqlite://${join(dir, "tessera.db")}`), CONFIG), env: {}, dev: false });
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        raw.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
        cb();
      },
    });
    app = await createApp({ config, baseDir: REPO_ROOT, clock, logger: createLogger({ level: "info", destination }), dev: false });
    await migrator(app.deps.database).up();
    const res = await app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: {
        schema_id: "default",
        traits: { email: "eve@example.com" },
        credentials: { password: { config: { password: PASSWORD } } },
        verifiable_addresses: [{ value: "eve@example.com", via: "email", verified: true, status: "completed" }],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    identityId = (JSON.parse(res.body) as { id: string }).id;
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const headers = { "x-forwarded-for": CLIENT, accept: "application/json" };
  /** Records any session token an answer carries, so the log can be searched for it. */
  const remember = (res: LightMyRequestResponse): LightMyRequestResponse => {
    for (const m of res.body.matchAll(/ory_st_[A-Za-z0-9]+/g)) secrets.add(m[0]);
    return res;
  };
  const get = async (url: string, extra: Record<string, string> = {}) => remember(await app.public.inject({ method: "GET", url, headers: { ...headers, ...extra } }));
  const post = async (url: string, payload: unknown, extra: Record<string, string> = {}) =>
    remember(await app.public.inject({ method: "POST", url, headers: { ...headers, "content-type": "application/json", ...extra }, payload: JSON.stringify(payload) }));
  const flowId = async (kind: string, extra: Record<string, string> = {}) => {
    const res = await get(`/self-service/${kind}/api`, extra);
    assert.equal(res.statusCode, 200, res.body);
    return (JSON.parse(res.body) as { id: string }).id;
  };
  const login = async (password: string) => {
    const id = await flowId("login");
    return { id, res: await post(`/self-service/login?flow=${id}`, { method: "password", identifier: "eve@example.com", password }) };
  };
  const lines = (): Line[] => raw.map((l) => JSON.parse(l) as Line);
  const events = (name: string): Line[] => lines().filter((l) => l.security_event === name);
  /** The one event line of `name` for flow `flow`. */
  const eventOf = (name: string, flow: string): Line => {
    const found = events(name).filter((l) => l.flow_id === flow);
    assert.equal(found.length, 1, `${name} for flow ${flow}: ${JSON.stringify(events(name))}`);
    return found[0];
  };
  const waitFor = async (name: string): Promise<Line[]> => {
    for (let i = 0; i < 100 && events(name).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    return events(name);
  };

  test("login success and failure: name, identity id, client ip, flow id", async () => {
    const ok = await login(PASSWORD);
    assert.equal(ok.res.statusCode, 200, ok.res.body);
    assert.match(ok.res.body, /ory_st_/);
    assert.deepEqual(eventOf("login_succeeded", ok.id), { level: 30, time: eventOf("login_succeeded", ok.id).time, security_event: "login_succeeded", identity_id: identityId, client_ip: CLIENT, flow_id: ok.id, method: "password", msg: "security event: login_succeeded" });
    const bad = await login(WRONG[0]);
    assert.equal(bad.res.statusCode, 400);
    const failed = eventOf("login_failed", bad.id);
    assert.equal(failed.identity_id, identityId);
    assert.equal(failed.client_ip, CLIENT);
    assert.equal(failed.method, "password");
  });

  test("throttle and lockout", async () => {
    const second = await login(WRONG[1]);
    assert.equal(second.res.statusCode, 400);
    // Two failures: the next attempt must wait and is refused unevaluated.
    const refused = await login(WRONG[2]);
    assert.equal(refused.res.statusCode, 429);
    const throttled = eventOf("login_throttled", refused.id);
    assert.equal(throttled.client_ip, CLIENT);
    assert.equal(throttled.identity_id, undefined, "a refused attempt looks no account up");
    for (const pw of WRONG.slice(2, 4)) {
      clock.advance(61_000);
      assert.equal((await login(pw)).res.statusCode, 400);
    }
    const locked = await waitFor("identifier_locked");
    assert.equal(locked.length, 1);
    assert.equal(locked[0].identity_id, identityId);
    assert.equal(locked[0].client_ip, CLIENT);
    assert.equal(locked[0].method, "password");
    clock.advance(61_000);
    const during = await login(WRONG[4]);
    assert.equal(during.res.statusCode, 429);
    eventOf("login_throttled", during.id);
  });

  test("identifier_locked carries the flow id of the failure that locked", async () => {
    const [locked] = events("identifier_locked");
    assert.ok(locked, "no lockout yet");
    assert.equal(typeof locked.flow_id, "string");
  });

  test("recovery by code and a password change: requested, code failed, succeeded, password changed, sessions revoked", async () => {
    clock.advance(2 * 3_600_000); // past the lock and the message window
    const other = await login(PASSWORD); // a second session, revoked by the password change below
    assert.equal(other.res.statusCode, 200, other.res.body);
    const id = await flowId("recovery");
    assert.equal((await post(`/self-service/recovery?flow=${id}`, { method: "code", email: "eve@example.com" })).statusCode, 200);
    const requested = eventOf("recovery_requested", id);
    assert.deepEqual([requested.identity_id, requested.client_ip], [identityId, CLIENT]);
    const rows = await app.deps.database.db.selectFrom("courier_messages").select(["body"]).where("recipient", "=", "eve@example.com").where("template_type", "like", "recovery_code%").execute();
    const code = /\b(\d{8})\b/.exec(String(rows.at(-1)?.body))?.[1];
    assert.ok(code, "no recovery code mailed");
    secrets.add(code);
    assert.equal((await post(`/self-service/recovery?flow=${id}`, { method: "code", code: WRONG_CODE })).statusCode, 200, "a wrong code answers the flow, as Kratos");
    assert.equal(eventOf("code_failed", id).client_ip, CLIENT);
    const done = await post(`/self-service/recovery?flow=${id}`, { method: "code", code });
    assert.equal(done.statusCode, 200, done.body);
    const succeeded = eventOf("recovery_succeeded", id);
    assert.deepEqual([succeeded.identity_id, succeeded.client_ip], [identityId, CLIENT]);
    // Change the password with the recovery's (fresh, privileged) session.
    const token = /ory_st_[A-Za-z0-9]+/.exec(done.body)?.[0];
    assert.ok(token);
    const settings = await flowId("settings", { "x-session-token": token });
    const changed = await post(`/self-service/settings?flow=${settings}`, { method: "password", password: NEW_PASSWORD }, { "x-session-token": token });
    assert.equal(changed.statusCode, 200, changed.body);
    for (const name of ["password_changed", "session_revoked"]) {
      const e = eventOf(name, settings);
      assert.deepEqual([e.identity_id, e.client_ip], [identityId, CLIENT], name);
    }
  });

  test("no line the app wrote contains a submitted password, a code or a session token", () => {
    assert.ok(raw.length > 20, "the log was captured");
    assert.ok(secrets.size >= WRONG.length + 5, `secrets collected: ${secrets.size}`);
    for (const line of raw) for (const s of secrets) assert.ok(!line.includes(s), `a secret leaked into the log: ${line}`);
  });
});
