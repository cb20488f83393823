import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { hashRawSync } from "@node-rs/argon2";
import { hashSync as bcryptHashSync } from "@node-rs/bcrypt";
import { execFileSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { Writable } from "node:stream";
import { pino } from "pino";
import { hashPool, warnUnlessIdle } from "./hash-pool.ts";
import { threadPolicy } from "./hash-worker.ts";

/** `hashPool.ready()`, with a ref'd timer: the pool's threads and its wait are unref'd and would let the test end. */
async function hashPoolReady(): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await hashPool.ready();
  } finally {
    clearInterval(keepAlive);
  }
}

/** The nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): number[] {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

/** Whether util-linux's chrt is on the PATH (the SCHED_IDLE switch needs it). */
const hasChrt = (() => {
  try {
    execFileSync("chrt", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const options = (salt: Buffer) => ({ algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1, outputLen: 32, salt }) as const;

test("hashing threads run at the configured nice value; the event loop keeps its own", { skip: process.platform !== "linux" && "Linux only" }, async () => {
  hashPool.ensure(2, { nice: 19, idle: true });
  await hashPool.argon2(Buffer.from("warm up"), options(Buffer.alloc(16, 1)));
  await hashPoolReady();
  const s = hashPool.stats();
  assert.ok(s.threads >= 1);
  assert.ok(s.nice.every((n) => n === 19), `threads report ${JSON.stringify(s.nice)}`);
  const nices = threadNices();
  assert.ok(nices.filter((n) => n === 19).length >= s.threads, `thread nice values ${JSON.stringify(nices)}`);
  const main = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  assert.equal(Number(main.slice(main.lastIndexOf(")") + 2).split(" ")[16]), 0);
});

test("argon2 and bcrypt results equal the library computed directly; many jobs at once all complete", async () => {
  hashPool.ensure(2, { nice: 19, idle: true });
  const jobs = Array.from({ length: 12 }, (_, i) => {
    const salt = Buffer.alloc(16, i);
    const pw = Buffer.from(`password ${i} ✓`);
    return { pw, salt, expected: hashRawSync(pw, options(salt)) };
  });
  const out = await Promise.all(jobs.map((j) => hashPool.argon2(j.pw, options(j.salt))));
  out.forEach((o, i) => assert.ok(o.equals(jobs[i].expected), `job ${i}`));
  const salt = Buffer.alloc(16, 7);
  assert.equal(await hashPool.bcrypt(Buffer.from("pw"), 4, salt), bcryptHashSync(Buffer.from("pw"), 4, salt));
  assert.equal(hashPool.stats().queued, 0);
});

test("a job the library refuses rejects with its message; after close() new threads start", async () => {
  await assert.rejects(hashPool.argon2(Buffer.from("x"), { ...options(Buffer.alloc(16)), memoryCost: 1 }), /memory|cost|small|invalid/i);
  await hashPool.close();
  assert.equal(hashPool.stats().threads, 0);
  const salt = Buffer.alloc(16, 3);
  assert.ok((await hashPool.argon2(Buffer.from("again"), options(salt))).equals(hashRawSync(Buffer.from("again"), options(salt))));
  assert.ok(hashPool.stats().threads >= 1);
});

test("hashing threads run under SCHED_IDLE with thread_policy idle; the event loop stays SCHED_OTHER", { skip: (process.platform !== "linux" && "Linux only") || (!hasChrt && "no chrt on this machine") }, async () => {
  await hashPool.close();
  hashPool.ensure(2, { nice: 19, idle: true });
  await hashPool.argon2(Buffer.from("warm up"), options(Buffer.alloc(16, 2)));
  await hashPoolReady();
  const s = hashPool.stats();
  assert.ok(s.threads >= 1);
  assert.ok(s.policy.every((p) => p === "idle"), `threads report ${JSON.stringify(s.policy)}`);
  // The kernel's own view: as many SCHED_IDLE threads in this process as hashing threads, and the main thread normal.
  const policies = readdirSync("/proc/self/task").map((tid) => threadPolicy(Number(tid)));
  assert.ok(policies.filter((p) => p === "idle").length >= s.threads, `thread policies ${JSON.stringify(policies)}`);
  assert.equal(threadPolicy(process.pid), "normal");
});

test("thread_policy normal: new hashing threads stay SCHED_OTHER at their nice value", { skip: process.platform !== "linux" && "Linux only" }, async () => {
  await hashPool.close();
  hashPool.ensure(2, { nice: 5, idle: false });
  await hashPool.argon2(Buffer.from("warm up"), options(Buffer.alloc(16, 3)));
  await hashPoolReady();
  const s = hashPool.stats();
  assert.ok(s.policy.every((p) => p === "normal"), `threads report ${JSON.stringify(s.policy)}`);
  assert.ok(s.nice.every((n) => n === 5), `threads report ${JSON.stringify(s.nice)}`);
  await hashPool.close();
  hashPool.ensure(2, { nice: 19, idle: true });
});

test("at the default priority a hash waits while normal threads keep every CPU busy", { skip: (process.platform !== "linux" && "Linux only") || (!hasChrt && "no chrt on this machine") }, async () => {
  // Spinning workers on every CPU at normal policy, then one hash: it gets almost no CPU while they spin, so a hash that
  // takes a few ms alone takes far longer (at nice 0 and normal policy it gets its fair share beside two spinners per
  // CPU, about 2.5 times slower than alone).
  await hashPool.close();
  hashPool.ensure(1, { nice: 19, idle: true });
  const job = (pw: string) => hashPool.argon2(Buffer.from(pw), { ...options(Buffer.alloc(16, 5)), memoryCost: 8192, timeCost: 8 });
  await job("warm up");
  const alone0 = performance.now();
  await job("alone");
  const alone = performance.now() - alone0;
  const cpus = Math.max(1, (await import("node:os")).availableParallelism());
  const stop = new Int32Array(new SharedArrayBuffer(4));
  // Each spinner says it spins, then spins until told to stop (5 s at most).
  const spin = `const { parentPort, workerData } = require("node:worker_threads");
    parentPort.postMessage("spinning");
    const end = Date.now() + 5000;
    while (Atomics.load(workerData, 0) === 0 && Date.now() < end);
    parentPort.postMessage("done");`;
  // Twice as many spinners as CPUs, so that no CPU is left free while the scheduler balances them.
  const spinners = Array.from({ length: 2 * cpus }, () => new Worker(spin, { eval: true, workerData: stop }));
  try {
    await Promise.all(spinners.map((w) => new Promise((r) => w.once("message", r))));
    const busy0 = performance.now();
    const done = job("busy").then(() => performance.now() - busy0);
    // Stop the spinners after a while, so the hash does finish.
    const budget = Math.max(300, alone * 20);
    await Promise.race([done, new Promise((r) => setTimeout(r, budget))]);
    Atomics.store(stop, 0, 1);
    const busy = await done;
    assert.ok(busy > alone * 8 || busy >= budget, `the hash took ${busy.toFixed(0)} ms with every CPU busy, ${alone.toFixed(0)} ms alone`);
  } finally {
    Atomics.store(stop, 0, 1);
    await Promise.all(spinners.map((w) => w.terminate()));
  }
});

test("without chrt the threads keep SCHED_OTHER at their nice value, and the server says so once at warn", { skip: process.platform !== "linux" && "Linux only" }, async () => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const path = process.env.PATH;
  await hashPool.close();
  // Worker threads copy the environment when they start: these find no chrt.
  process.env.PATH = "/nonexistent";
  try {
    hashPool.ensure(2, { nice: 19, idle: true });
    await hashPoolReady();
  } finally {
    process.env.PATH = path;
  }
  const s = hashPool.stats();
  assert.ok(s.policy.every((p) => p === "normal") && s.nice.every((n) => n === 19), `threads report ${JSON.stringify(s)}`);
  assert.equal(await warnUnlessIdle(hashPool, true, logger), true);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]) as { level: number; event: string; msg: string };
  assert.equal(line.event, "hashers.thread_policy");
  assert.match(line.msg, /SCHED_IDLE/);
  assert.equal(await warnUnlessIdle(hashPool, false, logger), false, "nothing to say when SCHED_IDLE was not asked for");
  await hashPool.close();
  if (hasChrt) {
    hashPool.ensure(2, { nice: 19, idle: true });
    await hashPoolReady();
    assert.equal(await warnUnlessIdle(hashPool, true, logger), false, "nothing to say once the threads got it");
    assert.equal(lines.length, 1);
  }
});
