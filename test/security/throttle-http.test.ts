import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { createHttpInstance } from "../../src/http/server.ts";
import { createDatabase, type Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import {
  clientIp,
  createSqlThrottleStore,
  createThrottle,
  registerIpRateLimit,
  registerThrottleAdminRoutes,
  trustedProxyMatcher,
} from "../../src/security/throttle/throttle.ts";
import type { Config } from "../../src/config/config.ts";
import { createManualClock } from "../../src/util/clock.ts";

/**
 * The throttle over real HTTP (Fastify inject through `createHttpInstance`, Kratos-shaped errors) on a real SQLite
 * store: the volumetric IP limit with and without a trusted proxy, a login-like route guarded by check/failed/
 * succeeded whose throttled answers are byte-identical for a known and an unknown account, and the admin routes.
 */
const T0 = new Date("2026-12-03T10:00:00.000Z");
const HOUR = 3_600_000;
const SECRET = "http-test-secret-0123456789";
const KNOWN: Record<string, string> = { "known@example.com": "right password" };

let dir: string;
let database: Database;
let pub: FastifyInstance;
let admin: FastifyInstance;
const clock = createManualClock(T0);

const config = {
  serve: { public: { trusted_proxies: ["10.0.0.0/8"] } },
  security: {
    account_enumeration: { mitigate: true },
    brute_force: {
      enabled: true,
      identifier: { free_attempts: 3, max_delay: 60_000, max_consecutive_failures: 100, lockout: HOUR },
      ip: { max_failures: 1000, window: 24 * HOUR, max_requests: 5 },
      messages: { per_address: 5, window: HOUR },
      store: "sql",
    },
  },
} as unknown as Pick<Config, "security" | "serve">;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-throttle-"));
  database = createDatabase(`sqlite://${join(dir, "t.db")}`);
  await migrator(database).up();
  const store = createSqlThrottleStore(database);
  const throttle = createThrottle({ store, config, clock, secret: SECRET });
  const logger = pino({ level: "silent" });
  const trusted = trustedProxyMatcher(config.serve.public.trusted_proxies);

  pub = createHttpInstance({ logger, bodyLimit: 1 << 20 });
  registerIpRateLimit(pub, { store, config, clock, secret: SECRET });
  pub.get("/health/alive", async () => ({ status: "ok" }));
  pub.get("/ping", async () => ({ ok: true }));
  // Shaped like the password login: check before any lookup, then count the outcome.
  pub.post("/login", async (request, reply) => {
    const { identifier, password } = request.body as { identifier: string; password: string };
    const ip = clientIp(request, trusted);
    await throttle.check(identifier, ip);
    if (KNOWN[identifier] === password) {
      await throttle.succeeded(identifier);
      return { ok: true };
    }
    await throttle.failed(identifier, ip);
    return reply.code(400).send({ ok: false });
  });

  admin = createHttpInstance({ logger, bodyLimit: 1 << 20 });
  await admin.register(async (scope) => registerThrottleAdminRoutes(scope, { throttle }), { prefix: "/admin" });
  await admin.register(async (scope) => registerThrottleAdminRoutes(scope, { throttle }));
  await Promise.all([pub.ready(), admin.ready()]);
});

after(async () => {
  await Promise.all([pub.close(), admin.close()]);
  await database.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const get = (remoteAddress: string, xff?: string, url = "/ping") =>
  pub.inject({ method: "GET", url, remoteAddress, headers: xff ? { "x-forwarded-for": xff } : {} });

test("volumetric limit: the 6th request in a minute is a 429 with Retry-After in Kratos's shape; the next minute is free", async () => {
  clock.set(T0);
  for (let i = 0; i < 5; i++) assert.equal((await get("192.0.2.10")).statusCode, 200);
  clock.advance(20_000);
  const res = await get("192.0.2.10");
  assert.equal(res.statusCode, 429);
  assert.equal(res.headers["retry-after"], "40");
  const body = res.json();
  assert.equal(body.error.id, "too_many_requests");
  assert.equal(body.error.code, 429);
  assert.equal(body.error.status, "Too Many Requests");
  assert.equal(body.error.details.retry_after_seconds, 40);
  assert.equal((await get("192.0.2.11")).statusCode, 200, "another client is not affected");
  assert.equal((await get("192.0.2.10", undefined, "/health/alive")).statusCode, 200, "health probes are exempt");
  clock.advance(40_000);
  assert.equal((await get("192.0.2.10")).statusCode, 200);
});

test("X-Forwarded-For from an untrusted peer is ignored: rotating it does not escape the limit", async () => {
  clock.set(new Date(T0.getTime() + HOUR));
  const codes = [];
  for (let i = 0; i < 7; i++) codes.push((await get("198.51.100.20", `203.0.113.${i}`)).statusCode);
  assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
});

test("behind a trusted proxy each forwarded client has its own budget, and the client's own XFF entries are ignored", async () => {
  clock.set(new Date(T0.getTime() + 2 * HOUR));
  const codes = [];
  for (let i = 0; i < 7; i++) codes.push((await get("10.0.0.1", `203.0.113.${i}`)).statusCode);
  assert.deepEqual(codes, [200, 200, 200, 200, 200, 200, 200], "seven clients behind one proxy");
  const spoof = [];
  for (let i = 0; i < 7; i++) spoof.push((await get("10.0.0.1", `1.1.1.${i}, 203.0.113.99`)).statusCode);
  assert.deepEqual(spoof, [200, 200, 200, 200, 200, 429, 429], "one client, whatever it prepends");
});

test("throttled logins answer byte-identically for a known and an unknown account; success resets; admin lists and clears", async () => {
  clock.set(new Date(T0.getTime() + 3 * HOUR));
  const post = (identifier: string, password: string, ip: string) =>
    pub.inject({ method: "POST", url: "/login", remoteAddress: ip, payload: { identifier, password } });
  for (let i = 0; i < 3; i++) {
    assert.equal((await post("known@example.com", "wrong", "192.0.2.30")).statusCode, 400);
    assert.equal((await post("unknown@example.com", "wrong", "192.0.2.31")).statusCode, 400);
  }
  const known = await post("known@example.com", "right password", "192.0.2.32");
  const unknown = await post("unknown@example.com", "anything", "192.0.2.33");
  assert.equal(known.statusCode, 429, "the right password is not even evaluated during a wait");
  assert.equal(unknown.statusCode, 429);
  assert.equal(known.body, unknown.body);
  assert.equal(known.headers["retry-after"], "1");
  assert.equal(known.headers["retry-after"], unknown.headers["retry-after"]);
  assert.equal(known.json().error.id, "self_service_too_many_attempts");

  const status = await admin.inject({ method: "GET", url: "/admin/security/throttles?identifier=KNOWN@example.com" });
  assert.equal(status.statusCode, 200);
  assert.deepEqual(status.json(), {
    identifier: "KNOWN@example.com",
    throttled: true,
    failures: 3,
    last_failure_at: new Date(T0.getTime() + 3 * HOUR).toISOString(),
    next_attempt_at: new Date(T0.getTime() + 3 * HOUR + 1000).toISOString(),
    locked_until: null,
  });
  assert.equal((await admin.inject({ method: "DELETE", url: "/security/throttles?identifier=known%40example.com" })).statusCode, 204);
  const cleared = await admin.inject({ method: "GET", url: "/security/throttles?identifier=known@example.com" });
  assert.deepEqual([cleared.json().throttled, cleared.json().failures], [false, 0]);
  assert.equal((await post("known@example.com", "right password", "192.0.2.32")).statusCode, 200);
  assert.equal((await post("unknown@example.com", "x", "192.0.2.33")).statusCode, 429, "the other identifier stays throttled");
  assert.equal((await admin.inject({ method: "GET", url: "/admin/security/throttles" })).statusCode, 400);
});
