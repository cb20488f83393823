/**
 * Login and registration throughput of the whole server against the hashing ceiling, and memory under a login flood,
 * at the default hashing parameters (argon2id m=19 MiB, t=2, p=1, `hashers.argon2.dedicated_memory` 1 GiB).
 *
 *   node --import tsx bench/flows.ts
 *   env: BENCH_SLICE seconds per measurement slice (default 4), BENCH_ROUNDS (default 3), BENCH_WORKERS concurrent
 *        clients for the throughput phases (default 4), BENCH_FLOOD connections of the flood (default 200),
 *        BENCH_FLOOD_SECONDS (default 15)
 *
 * Phases, in one run (the server in a child process, load and the ceiling in this one):
 * 1. ceiling with 1 caller: hashes/s of the real hasher (`hash-ceiling.ts`), nothing else running;
 * 2. `BENCH_ROUNDS` rounds of three slices, so background load on a shared machine hits all three alike:
 *    - ceiling with 2 callers;
 *    - registration: API flow + submit, `BENCH_WORKERS` clients without pause; registrations/s vs the 2-caller
 *      ceiling (target >= 0.85: the hash runs before the identity's transaction, never inside it);
 *    - login: the same with logins of the identities registered so far (target >= 0.90 of the ceiling);
 * 3. flood: `BENCH_FLOOD` concurrent login clients; the child samples `process.memoryUsage.rss()` every 10 ms during
 *    the flood only (the sampler is the bench's, not the server's: it must not cost the throughput phases event-loop
 *    time) and the kernel's high-water mark (VmHWM, the whole run) is read too; peak RSS is compared with
 *    `dedicated_memory`.
 * Exit code 1 when a throughput phase saw a non-200 answer, or the peak RSS exceeded `dedicated_memory`.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { performance as nodePerformance } from "node:perf_hooks";
import type { AddressInfo } from "node:net";
import { formatHashRate, measureHashRate } from "./hash-ceiling.ts";
import { startBenchApp } from "./lib/app.ts";
import { runBench } from "./lib/child.ts";
import { createFlowClient, formatStatuses, runWorkers, type WorkersResult } from "./lib/flow-client.ts";
import { createPasswordHasher, defaultHasherConfig } from "../src/security/hash/hasher.ts";

const SLICE = Number(process.env.BENCH_SLICE ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const FLOOD = Number(process.env.BENCH_FLOOD ?? 200);
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 15);
const PASSWORD = "correct horse battery staple, slowly";
const MiB = 1024 * 1024;

interface Info {
  url: string;
  /**
   * Control endpoint of the child: GET -> {rss, peak, ...}; POST `/flood/start` resets the peak to the current RSS and
   * starts sampling it every 10 ms, POST `/flood/stop` stops sampling (the peak is kept).
   */
  control: string;
  pid: number;
  dedicatedMemory: number;
  argon2Memory: number;
  limit: number;
}

interface Rss {
  rss: number;
  peak: number;
  /** The server process's CPU time (all threads, us) and its event loop's busy time (ms), both cumulative. */
  cpu: number;
  loopBusy: number;
  /** CPU time of the server's main (event loop) thread alone, ms, cumulative (Linux; 10 ms resolution); -1 elsewhere. */
  mainCpu: number;
}

/** CPU time (user + system, ms) of this process's main thread, from /proc; -1 where /proc is missing. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): state is the first, utime and stime the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return -1;
  }
}
/** USER_HZ: 100 on every Linux build that matters (the kernel's ABI for /proc times). */
const CLOCK_TICKS = 100;

/** Child: the whole app plus a tiny RSS sampler reachable over HTTP (its own server, off the app's routes). */
async function setup() {
  // Overload answers (503 + Retry-After from the hashing queue) are expected in the flood and counted; not logged.
  const bench = await startBenchApp({}, { logLevel: "fatal" });
  const argon2 = bench.app.deps.config.hashers.argon2;
  // `process.memoryUsage.rss()` reads only the RSS (the full `memoryUsage()` also walks the V8 heap spaces).
  let peak = process.memoryUsage.rss();
  let timer: NodeJS.Timeout | undefined;
  const stopSampling = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const control = http.createServer((req, res) => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    if (req.method === "POST" && req.url === "/flood/start") {
      peak = rss;
      stopSampling();
      timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 10);
    } else if (req.method === "POST" && req.url === "/flood/stop") stopSampling();
    const c = process.cpuUsage();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ rss, peak, cpu: c.user + c.system, loopBusy: nodePerformance.eventLoopUtilization().active, mainCpu: mainThreadCpuMs() } satisfies Rss));
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const info: Info = {
    url: bench.url,
    control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    pid: process.pid,
    dedicatedMemory: argon2.dedicated_memory,
    argon2Memory: argon2.memory,
    limit: bench.app.deps.hasher.stats().limit,
  };
  return {
    info,
    async close() {
      stopSampling();
      control.close();
      await bench.close();
    },
  };
}

/** The child's figures; with `flood`, first starts or stops its RSS sampler (see `Info.control`). */
async function rss(control: string, flood?: "start" | "stop"): Promise<Rss> {
  const res = flood ? await fetch(`${control}/flood/${flood}`, { method: "POST" }) : await fetch(control);
  return (await res.json()) as Rss;
}

/** The kernel's peak resident set of a process (Linux), in bytes; undefined elsewhere. */
function vmHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
const verdict = (ok: boolean) => (ok ? "meets target" : "BELOW target");
const line = (label: string, r: WorkersResult) => `${label.padEnd(14)} ${r.perSecond.toFixed(1).padStart(7)}/s  (${formatStatuses(r.statuses)} in ${r.seconds.toFixed(1)} s)`;

/** Sums per-round results into one (counts and seconds added). */
function sum(list: WorkersResult[]): WorkersResult {
  const statuses: Record<number, number> = {};
  for (const r of list) for (const [k, v] of Object.entries(r.statuses)) statuses[Number(k)] = (statuses[Number(k)] ?? 0) + v;
  const ok = statuses[200] ?? 0;
  const seconds = list.reduce((a, r) => a + r.seconds, 0);
  return { ok, statuses, seconds, perSecond: ok / seconds };
}

async function measure(info: Info): Promise<number> {
  let failed = false;
  console.log(`# flows vs hashing ceiling: argon2id m=${mib(info.argon2Memory)} t=2 p=1, ${info.limit} hashes at once within ${mib(info.dedicatedMemory)}`);
  console.log(`# ${ROUNDS} rounds of [ceiling 2 callers, registration, login], ${SLICE} s each, ${WORKERS} clients`);
  const hasher = await createPasswordHasher(defaultHasherConfig);
  await measureHashRate(hasher, 2, 1);
  const one = await measureHashRate(hasher, 1, SLICE);

  const client = createFlowClient(info.url);
  const users: string[] = [];
  const regs: WorkersResult[] = [];
  const logins: WorkersResult[] = [];
  let hashes = 0;
  let hashSeconds = 0;
  // Where the CPU goes while logging in: the server (hash threads + event loop), its event loop alone, and this
  // process (the load clients); and the CPU one hash costs, from the 2-caller ceiling slices run in this process.
  const spent = { serverCpu: 0, serverLoop: 0, clientCpu: 0, hashCpu: 0, mainLogin: 0, mainReg: 0, clientReg: 0, mainKnown: true };
  // Interleaved slices: load from other processes changes within seconds on a shared box and hits all three alike.
  for (let round = 0; round < ROUNDS; round++) {
    const h0 = process.cpuUsage();
    const two = await measureHashRate(hasher, 2, SLICE);
    const h1 = process.cpuUsage(h0);
    spent.hashCpu += h1.user + h1.system;
    hashes += two.hashes;
    hashSeconds += two.seconds;
    const r0 = await rss(info.control);
    const rc0 = process.cpuUsage();
    regs.push(
      await runWorkers(WORKERS, SLICE, async (w, i) => {
        const email = `bench-${round}-${w}-${i}@example.com`;
        const status = await client.register(email, PASSWORD);
        if (status === 200) users.push(email);
        return status;
      }),
    );
    const rc1 = process.cpuUsage(rc0);
    const r1 = await rss(info.control);
    spent.mainReg += r1.mainCpu - r0.mainCpu;
    if (r0.mainCpu < 0) spent.mainKnown = false;
    spent.clientReg += rc1.user + rc1.system;
    if (users.length === 0) throw new Error(`no registration succeeded: ${formatStatuses(regs[0].statuses)}`);
    let next = 0;
    const s0 = await rss(info.control);
    const c0 = process.cpuUsage();
    logins.push(await runWorkers(WORKERS, SLICE, () => client.login(users[next++ % users.length], PASSWORD)));
    const c1 = process.cpuUsage(c0);
    const s1 = await rss(info.control);
    spent.serverCpu += s1.cpu - s0.cpu;
    spent.serverLoop += (s1.loopBusy - s0.loopBusy) * 1000;
    spent.clientCpu += c1.user + c1.system;
    spent.mainLogin += s1.mainCpu - s0.mainCpu;
  }
  const reg = sum(regs);
  const login = sum(logins);
  const ceiling = hashes / hashSeconds;
  console.log(`ceiling           ${formatHashRate(one)}`);
  console.log(`ceiling           2 callers: ${ceiling.toFixed(1)} hashes/s (ratio 2/1 ${(ceiling / one.perSecond).toFixed(2)})`);
  console.log(line("registration", reg));
  console.log(line("login", login));
  const regRatio = reg.perSecond / ceiling;
  const loginRatio = login.perSecond / ceiling;
  console.log(`ratio registration/ceiling = ${regRatio.toFixed(2)} (target >= 0.85: ${verdict(regRatio >= 0.85)})`);
  console.log(`ratio login/ceiling        = ${loginRatio.toFixed(2)} (target >= 0.90: ${verdict(loginRatio >= 0.9)})`);
  const perLogin = (us: number) => (us / login.ok / 1000).toFixed(2);
  const hashMs = spent.hashCpu / hashes / 1000;
  console.log(
    `CPU per login: server ${perLogin(spent.serverCpu)} ms (event loop ${perLogin(spent.serverLoop)} ms), load clients ${perLogin(spent.clientCpu)} ms; one hash ${hashMs.toFixed(2)} ms of CPU in the ceiling`,
  );
  if (spent.mainKnown) {
    console.log(
      `main thread (event loop) CPU: ${(spent.mainLogin / login.ok).toFixed(2)} ms per login, ${(spent.mainReg / reg.ok).toFixed(2)} ms per registration; load clients ${perLogin(spent.clientCpu)} ms per login, ${(spent.clientReg / reg.ok / 1000).toFixed(2)} ms per registration`,
    );
  }
  console.log(`ratio (hash CPU)/(all CPU per login) = ${(hashMs / ((spent.serverCpu + spent.clientCpu) / login.ok / 1000)).toFixed(2)} (what a CPU-bound 2-core machine allows)`);
  if (reg.ok !== Object.values(reg.statuses).reduce((a, b) => a + b, 0) || login.ok !== Object.values(login.statuses).reduce((a, b) => a + b, 0)) {
    console.log("FAIL: non-200 answers during the throughput phases");
    failed = true;
  }

  console.log(`# login flood: ${FLOOD} concurrent clients for ${FLOOD_SECONDS} s`);
  const baseline = await rss(info.control, "start");
  const floodClient = createFlowClient(info.url, { maxSockets: FLOOD });
  let n = 0;
  const flood = await runWorkers(FLOOD, FLOOD_SECONDS, () => floodClient.login(users[n++ % users.length], PASSWORD));
  const after = await rss(info.control, "stop");
  const hwm = vmHwm(info.pid);
  floodClient.close();
  client.close();
  console.log(line("flood logins", flood));
  console.log(`server RSS before ${mib(baseline.rss)}, sampled peak ${mib(after.peak)} (+${mib(after.peak - baseline.rss)})${hwm ? `, kernel VmHWM ${mib(hwm)} (whole run)` : ""}`);
  const peak = Math.max(after.peak, hwm ?? 0);
  console.log(`ratio peak RSS/dedicated_memory = ${(peak / info.dedicatedMemory).toFixed(2)} (${mib(peak)} of ${mib(info.dedicatedMemory)}: ${peak <= info.dedicatedMemory ? "under budget" : "OVER budget"})`);
  if (peak > info.dedicatedMemory) failed = true;
  return failed ? 1 : 0;
}

await runBench(import.meta.url, setup, measure);
