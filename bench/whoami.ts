/**
 * `GET /sessions/whoami` with a valid token on SQLite, against a bare Fastify route that answers the same session JSON
 * from a `Map`, measured in the same run with autocannon (10 connections). Prints requests/s, p99 latency and the ratio
 * whoami / bare (target: >= 0.60 and p99 < 5 ms).
 *
 * Usage: node --import tsx bench/whoami.ts [--duration <seconds per round>] [--rounds <n>]
 *
 * The servers run in a child process (one core) and autocannon in this one, so the load generator does not steal the
 * servers' event loop. Rounds alternate bare/whoami so background load hits both alike; results are summed.
 * Request logging is off in both servers (log level `warn`): this measures the session path, not pino.
 *
 * Hook for more scenarios: push a `Scenario` onto `scenarios` (e.g. two clients registering and logging in
 * concurrently, once login exists); each gets the running servers and returns lines to print.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import pino from "pino";
import { createHttpInstance } from "../src/http/server.ts";
import { createIdentityRepo } from "../src/identity/identity-repo.ts";
import type { Identity } from "../src/identity/identity.ts";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { createDatabase, type Database } from "../src/persistence/db.ts";
import type { DB } from "../src/persistence/schema.ts";
import { migrator } from "../src/persistence/migrate.ts";
import { createSessionService, registerSessionRoutes } from "../src/session/session-service.ts";
type SqliteHandle = { prepare(source: string): unknown };
import { systemClock } from "../src/util/clock.ts";
import { newId } from "../src/util/ids.ts";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number; headers?: Record<string, string> }) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

/** What the server child reports once listening. */
export interface BenchServers {
  whoamiUrl: string;
  /** The same route over a SQLite connection whose statements are prepared once (the change proposed for db.ts). */
  whoamiCachedUrl: string;
  bareUrl: string;
  token: string;
}

export interface Scenario {
  name: string;
  run(servers: BenchServers, opts: { duration: number }): Promise<string[]>;
}

export async function measure(url: string, token: string, duration: number): Promise<AutocannonResult> {
  return autocannon({ url, connections: 10, duration, headers: { "x-session-token": token } });
}

type Target = "bare" | "whoami" | "whoamiCached";
const LABELS: Record<Target, string> = {
  bare: "bare Map route              ",
  whoami: "/sessions/whoami (db.ts)    ",
  whoamiCached: "/sessions/whoami (prepared) ",
};

const whoamiVsBare: Scenario = {
  name: "whoami vs bare Map route",
  async run(servers, { duration }) {
    const rounds = Number(arg("--rounds") ?? 2);
    const urls: Record<Target, string> = { bare: servers.bareUrl, whoami: servers.whoamiUrl, whoamiCached: servers.whoamiCachedUrl };
    const targets = Object.keys(urls) as Target[];
    for (const t of targets) await measure(urls[t], servers.token, 1);
    const sum = Object.fromEntries(targets.map((t) => [t, { total: 0, secs: 0, p99: 0, bad: 0 }])) as Record<Target, { total: number; secs: number; p99: number; bad: number }>;
    for (let i = 0; i < rounds; i++) {
      for (const which of i % 2 === 0 ? targets : [...targets].reverse()) {
        const r = await measure(urls[which], servers.token, duration);
        const s = sum[which];
        s.total += r.requests.total;
        s.secs += r.duration;
        s.p99 = Math.max(s.p99, r.latency.p99);
        s.bad += r.non2xx + r.errors;
      }
    }
    const rps = (t: Target) => sum[t].total / sum[t].secs;
    const lines = targets.map((t) => `${LABELS[t]}: ${rps(t).toFixed(0)} req/s, p99 ${sum[t].p99} ms, non-2xx/errors ${sum[t].bad}`);
    for (const t of ["whoami", "whoamiCached"] as const) {
      lines.push(`ratio ${t}/bare = ${(rps(t) / rps("bare")).toFixed(2)} (target >= 0.60), p99 ${sum[t].p99} ms (target < 5 ms)`);
    }
    return lines;
  },
};

export const scenarios: Scenario[] = [whoamiVsBare];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * A `Database` over the same SQLite file as `createDatabase` opens it (WAL, foreign keys, busy timeout), plus the two
 * changes proposed for `persistence/db.ts`: `prepare` memoized per SQL text (Kysely's SQLite driver calls `prepare` on
 * every query, and preparing the whoami statement costs several times more than running it), and the optional
 * `sqlite` read handle on which the session repository prepares its whoami statement once and runs it synchronously.
 */
function cachedSqliteDatabase(file: string): Database & { sqlite: SqliteHandle } {
  const conn = new SQLite(file);
  conn.pragma("journal_mode = WAL");
  conn.pragma("synchronous = NORMAL");
  conn.pragma("foreign_keys = ON");
  conn.pragma("busy_timeout = 5000");
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, SQLite.Statement>();
  conn.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      if (cache.size >= 1000) cache.clear();
      stmt = prepare(source);
      cache.set(source, stmt);
    }
    return stmt;
  }) as typeof conn.prepare;
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: conn }) });
  // A second, read-only connection for the whoami read: WAL snapshots, only committed rows.
  const reader = new SQLite(file, { readonly: true, fileMustExist: true });
  return { db, dialect: "sqlite", sqlite: reader, destroy: async () => { await db.destroy(); reader.close(); } };
}

/** Child: a real SQLite database with one identity and one session, the whoami route, and the bare route. */
async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-bench-"));
  const database = createDatabase(`sqlite://${join(dir, "bench.db")}`);
  await migrator(database).up();
  const repo = createIdentityRepo(database);
  const now = new Date().toISOString();
  const email = "bench@example.com";
  const identity: Identity = {
    id: newId(),
    schema_id: "default",
    state: "active",
    traits: { email, name: { first: "Bench", last: "Mark" } },
    metadata_public: null,
    metadata_admin: null,
    organization_id: null,
    verifiable_addresses: [{ id: newId(), value: email, verified: true, via: "email", status: "completed", verified_at: now, created_at: now, updated_at: now }],
    recovery_addresses: [{ id: newId(), value: email, via: "email", created_at: now, updated_at: now }],
    credentials: {},
    created_at: now,
    updated_at: now,
  };
  await repo.insert(identity);
  const config = {
    session: {
      lifespan: 86_400_000,
      earliest_possible_extend: 86_400_000,
      cookie: { name: "ory_kratos_session", persistent: true, same_site: "Lax" as const, path: "/" },
    },
  };
  const sessions = createSessionService({ database, repo, clock: systemClock, config, publicBaseUrl: "http://127.0.0.1:4433/", dev: true });
  // Other identities' sessions so the index has something to search.
  for (let i = 0; i < 2000; i++) await sessions.issue(identity, { method: "password", ip: "127.0.0.1", user_agent: "bench" });
  const { token } = await sessions.issue(identity, { method: "password", ip: "127.0.0.1", user_agent: "autocannon" });

  const app = createHttpInstance({ logger: pino({ level: "warn" }), bodyLimit: 1 << 20 });
  registerSessionRoutes(app, { sessions });
  const whoamiAddr = await app.listen({ host: "127.0.0.1", port: 0 });

  const found = await sessions.fromToken(token);
  if (!found) throw new Error("bench: the issued session is not usable");
  const map = new Map<string, object>([[token, sessions.toJson(found.session, found.identity)]]);
  const cachedDb = cachedSqliteDatabase(join(dir, "bench.db"));
  const cachedSessions = createSessionService({ database: cachedDb, repo, clock: systemClock, config, publicBaseUrl: "http://127.0.0.1:4433/", dev: true });
  const app2 = createHttpInstance({ logger: pino({ level: "warn" }), bodyLimit: 1 << 20 });
  registerSessionRoutes(app2, { sessions: cachedSessions });
  const cachedAddr = await app2.listen({ host: "127.0.0.1", port: 0 });

  const bare = Fastify();
  bare.get("/bare", async (request, reply) => {
    const v = map.get(String(request.headers["x-session-token"]));
    if (!v) return reply.code(401).send({ error: "none" });
    return v;
  });
  const bareAddr = await bare.listen({ host: "127.0.0.1", port: 0 });

  process.on("message", async (m) => {
    if (m !== "stop") return;
    await Promise.allSettled([app.close(), app2.close(), bare.close()]);
    await Promise.allSettled([database.destroy(), cachedDb.destroy()]);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  process.send?.({ whoamiUrl: `${whoamiAddr}/sessions/whoami`, whoamiCachedUrl: `${cachedAddr}/sessions/whoami`, bareUrl: `${bareAddr}/bare`, token } satisfies BenchServers);
}

async function main(): Promise<void> {
  const duration = Number(arg("--duration") ?? 5);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  const servers = await new Promise<BenchServers>((resolve, reject) => {
    child.once("message", (m) => resolve(m as BenchServers));
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  try {
    const check = await fetch(servers.whoamiUrl, { headers: { "x-session-token": servers.token } });
    if (check.status !== 200) throw new Error(`whoami answered ${check.status}, expected 200`);
    for (const s of scenarios) {
      console.log(`# ${s.name} (autocannon, 10 connections, ${duration}s per measurement)`);
      for (const line of await s.run(servers, { duration })) console.log(line);
    }
  } finally {
    child.send("stop");
  }
}

if (process.argv.includes("--serve")) await serve();
else await main();
