/**
 * `GET /sessions/whoami` with a valid token on SQLite, against a bare Fastify route that answers the same session JSON
 * from a `Map`, measured in the same run with autocannon (10 connections). The whoami server is the whole app
 * (`createApp`: every route, hook and plugin of the public listener, production hashing defaults) on a SQLite file
 * holding 2000 other sessions; `persistence/db.ts` reuses prepared statements, so this is the default path.
 *
 *   node --import tsx bench/whoami.ts [--duration <seconds per measurement, default 5>] [--rounds <n, default 2>]
 *                                     [--dedicated-memory <size, e.g. 19MiB: one hash at a time>]
 *                                     [--thread-nice <0..19: hashers.thread_nice, default 19>]
 *                                     [--thread-policy <idle|normal: hashers.thread_policy, default idle>]
 *                                     [--argon2-memory <size: hashers.argon2.memory, default 19MiB; a diagnostic:
 *                                                       how much of the loaded figure is the hashes' memory traffic>]
 *                                     [--flow-pause <ms: each flow client waits this long after each registration
 *                                                    and login; with --argon2-memory 64KB, matches the flow rate of
 *                                                    the default hashes without their cost>]
 *                                     [--scenario <n: run only scenario n below>]
 *
 * Scenarios (push more onto `scenarios`; each gets the running servers and returns lines to print):
 * 1. whoami vs bare: ratio of requests/s (target >= 0.60) and whoami's p99 (target < 5 ms);
 * 2. whoami while 2 clients register and log in without pause (API flows, argon2id 19 MiB t=2 p=1): whoami's rate
 *    against its solo rate measured just before and after (target >= 0.70: hashing runs on the libuv threadpool, never
 *    on the event loop, never inside a transaction or while holding the SQLite connection).
 *
 * The servers run in a child process and autocannon in this one (`lib/child.ts`), so the load generator does not
 * share the servers' event loop. Request logging is off in both servers.
 */
import Fastify from "fastify";
import { formatMeasurement, measure, measureRounds, type Measurement, type Target } from "./lib/autocannon.ts";
import { startBenchApp } from "./lib/app.ts";
import { runBench } from "./lib/child.ts";
import { createFlowClient, formatStatuses, runWorkers } from "./lib/flow-client.ts";

/** What the server child reports once listening. */
export interface BenchServers {
  /** The whole public API, `http://127.0.0.1:<port>`. */
  publicUrl: string;
  whoamiUrl: string;
  bareUrl: string;
  token: string;
  /** GET: the server process's `process.cpuUsage()`. */
  cpuUrl: string;
  /** How many hashes the server's hasher runs at once. */
  hashLimit: number;
}

export interface Scenario {
  name: string;
  run(servers: BenchServers, opts: { duration: number; rounds: number }): Promise<string[]>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const targets = (s: BenchServers): { bare: Target; whoami: Target } => ({
  bare: { label: "bare Map route", url: s.bareUrl, headers: { "x-session-token": s.token } },
  whoami: { label: "/sessions/whoami", url: s.whoamiUrl, headers: { "x-session-token": s.token } },
});

/** The server process's CPU time (user + system), in microseconds. */
async function serverCpu(servers: BenchServers): Promise<number> {
  const c = (await (await fetch(servers.cpuUrl)).json()) as { user: number; system: number };
  return c.user + c.system;
}

const whoamiVsBare: Scenario = {
  name: "whoami vs bare Map route",
  async run(servers, { duration, rounds }) {
    const t = targets(servers);
    // Server CPU time per request: unlike requests/s it barely moves when other processes load the machine.
    const cpu = new Map<string, { us: number; requests: number }>();
    let before = 0;
    const r = await measureRounds([t.bare, t.whoami], {
      duration,
      rounds,
      connections: 10,
      beforeRun: async () => {
        before = await serverCpu(servers);
      },
      afterRun: async (target, m) => {
        const c = cpu.get(target.label) ?? { us: 0, requests: 0 };
        cpu.set(target.label, { us: c.us + (await serverCpu(servers)) - before, requests: c.requests + m.requests });
      },
    });
    const perRequest = (label: string) => cpu.get(label)!.us / cpu.get(label)!.requests;
    const ratio = r[t.whoami.label].rps / r[t.bare.label].rps;
    const cpuRatio = perRequest(t.bare.label) / perRequest(t.whoami.label);
    const p99 = r[t.whoami.label].p99;
    return [
      `${formatMeasurement(r[t.bare.label])}  server CPU ${perRequest(t.bare.label).toFixed(0)} us/request`,
      `${formatMeasurement(r[t.whoami.label])}  server CPU ${perRequest(t.whoami.label).toFixed(0)} us/request`,
      `ratio whoami/bare = ${ratio.toFixed(2)} (target >= 0.60: ${ratio >= 0.6 ? "met" : "MISSED"}), whoami p99 ${p99} ms (target < 5 ms: ${p99 < 5 ? "met" : "MISSED"})`,
      `ratio of server CPU per request bare/whoami = ${cpuRatio.toFixed(2)} (the requests/s ratio a CPU-bound server reaches on an idle machine)`,
    ];
  },
};

const whoamiUnderFlows: Scenario = {
  name: "whoami while 2 clients register and log in without pause",
  async run(servers, { duration }) {
    const t = targets(servers).whoami;
    await measure(t, { duration: 1 });
    const soloBefore = await measure(t, { duration });
    const client = createFlowClient(servers.publicUrl);
    let stop = false;
    let registered = 0;
    let loggedIn = 0;
    const pauseMs = Number(arg("--flow-pause") ?? 0);
    const pause = () => (pauseMs > 0 ? new Promise((r) => setTimeout(r, pauseMs)) : undefined);
    // Each client: register a new identity, then log in as it, again and again until told to stop.
    const flows = runWorkers(2, () => !stop, async (w, i) => {
      const email = `load-${w}-${i}-${Date.now()}@example.com`;
      const reg = await client.register(email, "correct horse battery staple, loaded");
      if (reg !== 200) return reg;
      registered++;
      await pause();
      const login = await client.login(email, "correct horse battery staple, loaded");
      if (login === 200) loggedIn++;
      await pause();
      return login;
    });
    await new Promise((r) => setTimeout(r, 500));
    const started = performance.now();
    let loaded: Measurement;
    try {
      loaded = await measure(t, { duration });
    } finally {
      stop = true;
    }
    const seconds = (performance.now() - started) / 1000;
    const [reg, login] = [registered, loggedIn];
    const result = await flows;
    client.close();
    const soloAfter = await measure(t, { duration });
    const solo = (soloBefore.rps + soloAfter.rps) / 2;
    const ratio = loaded.rps / solo;
    return [
      formatMeasurement({ ...soloBefore, label: "whoami solo (before)" }),
      formatMeasurement({ ...loaded, label: "whoami with 2 flow clients" }),
      formatMeasurement({ ...soloAfter, label: "whoami solo (after)" }),
      `meanwhile: ${(reg / seconds).toFixed(1)} registrations/s and ${(login / seconds).toFixed(1)} logins/s (answers ${formatStatuses(result.statuses)})`,
      `ratio whoami loaded/solo = ${ratio.toFixed(2)} (target >= 0.70: ${ratio >= 0.7 ? "met" : "MISSED"})`,
    ];
  },
};

export const scenarios: Scenario[] = [whoamiVsBare, whoamiUnderFlows];

/** Child: the whole app with one identity holding 2001 sessions (one token for the bench), and the bare route. */
async function setup() {
  const dedicated = arg("--dedicated-memory");
  const memory = arg("--argon2-memory");
  const nice = arg("--thread-nice");
  const policy = arg("--thread-policy");
  const hashers: Record<string, unknown> = {};
  const argon2: Record<string, string> = {};
  if (dedicated) argon2.dedicated_memory = dedicated;
  if (memory) argon2.memory = memory;
  if (Object.keys(argon2).length) hashers.argon2 = argon2;
  if (nice !== undefined) hashers.thread_nice = Number(nice);
  if (policy !== undefined) hashers.thread_policy = policy;
  const bench = await startBenchApp(Object.keys(hashers).length ? { hashers } : {});
  const { identities, sessions } = bench.app.deps;
  const identity = await identities.create({
    schema_id: "default",
    state: "active",
    traits: { email: "bench@example.com", name: { first: "Bench", last: "Mark" } },
    credentials: { password: { config: { password: "correct horse battery staple, bench" } } },
  });
  // Other sessions so the token index has something to search.
  for (let i = 0; i < 2000; i++) await sessions.issue(identity, { method: "password", ip: "127.0.0.1", user_agent: "bench" });
  const { token } = await sessions.issue(identity, { method: "password", ip: "127.0.0.1", user_agent: "autocannon" });
  const found = await sessions.fromToken(token);
  if (!found) throw new Error("bench: the issued session is not usable");
  const map = new Map<string, object>([[token, sessions.toJson(found.session, found.identity)]]);

  const bare = Fastify();
  bare.get("/bare", async (request, reply) => {
    const v = map.get(String(request.headers["x-session-token"]));
    if (!v) return reply.code(401).send({ error: "none" });
    return v;
  });
  bare.get("/cpu", async () => process.cpuUsage());
  const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });
  const info: BenchServers = { publicUrl: bench.url, whoamiUrl: `${bench.url}/sessions/whoami`, bareUrl: `${bareUrl}/bare`, cpuUrl: `${bareUrl}/cpu`, token, hashLimit: bench.app.deps.hasher.stats().limit };
  return {
    info,
    async close() {
      await bare.close();
      await bench.close();
    },
  };
}

await runBench(import.meta.url, setup, async (servers: BenchServers) => {
  const duration = Number(arg("--duration") ?? 5);
  const rounds = Number(arg("--rounds") ?? 2);
  const check = await fetch(servers.whoamiUrl, { headers: { "x-session-token": servers.token } });
  if (check.status !== 200) throw new Error(`whoami answered ${check.status}, expected 200`);
  const only = arg("--scenario");
  for (const [i, s] of scenarios.entries()) {
    if (only !== undefined && Number(only) !== i + 1) continue;
    if (s === scenarios[0]) console.log(`# server: hashes at once: ${servers.hashLimit} (hashers.argon2.dedicated_memory / memory)`);
    console.log(`# ${s.name} (autocannon, 10 connections, ${duration} s per measurement)`);
    for (const l of await s.run(servers, { duration, rounds })) console.log(l);
  }
});
