/**
 * Worker-thread entry for password hashing (hash-pool.ts starts it). At start it lowers its own thread's CPU priority
 * to `workerData.nice` (Linux: setpriority on the thread id read from /proc/thread-self; elsewhere nothing) and, with
 * `workerData.idle`, puts the thread under the SCHED_IDLE policy (Linux, util-linux's `chrt --idle`: Node has no
 * sched_setscheduler; an unprivileged thread may always lower its own policy). It says `{ ready: true, nice, policy }`
 * with what the kernel reports afterwards (null: could not tell). Then, one job at a time:
 *   in:  `{ id, op: "argon2", password, options }` (options of @node-rs/argon2's hashRawSync, salt as bytes)
 *        `{ id, op: "bcrypt", password, cost, salt? }` (@node-rs/bcrypt's hashSync)
 *        `{ id, op: "crypt", alg, password, salt, rounds }` (md5-crypt / sha256-crypt / sha512-crypt, legacy/crypt.ts)
 *   out: `{ id, bytes }` (argon2: the raw hash), `{ id, text }` (bcrypt: the encoded hash; crypt: its hash part) or
 *        `{ id, error }`.
 * The computation is synchronous here: this thread exists only for it, so the event loop never runs a hash and the
 * libuv threadpool (file I/O, DNS) never waits behind one.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { hashRawSync } from "@node-rs/argon2";
import type { Options } from "@node-rs/argon2";
import { hashSync as bcryptHashSync } from "@node-rs/bcrypt";
import { md5Crypt, shaCrypt } from "./legacy/crypt.ts";

export type HashJob =
  | { id: number; op: "argon2"; password: Uint8Array; options: Omit<Options, "salt"> & { salt: Uint8Array } }
  | { id: number; op: "bcrypt"; password: Uint8Array; cost: number; salt?: Uint8Array }
  | { id: number; op: "crypt"; alg: "md5" | "sha256" | "sha512"; password: Uint8Array; salt: string; rounds: number };

export type HashResult = { id: number; bytes: Uint8Array } | { id: number; text: string } | { id: number; error: string };

export interface HashWorkerData {
  nice: number;
  /** Run under SCHED_IDLE (Linux): only when no other thread of normal policy wants the CPU. */
  idle: boolean;
}

/** The scheduling policy a thread reports: "idle" (SCHED_IDLE), "normal" (SCHED_OTHER), another name, or null. */
export type ThreadPolicy = "idle" | "normal" | "batch" | "realtime" | null;

/** This thread's id ("<pid>/task/<tid>"), which setpriority(PRIO_PROCESS) and sched_setscheduler accept on Linux. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Field 41 of /proc/<pid>/task/<tid>/stat: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE, 1/2 real-time. */
export function threadPolicy(tid: number | "thread-self"): ThreadPolicy {
  try {
    const stat = readFileSync(tid === "thread-self" ? "/proc/thread-self/stat" : `/proc/self/task/${tid}/stat`, "utf8");
    const policy = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
    return policy === 5 ? "idle" : policy === 0 ? "normal" : policy === 3 ? "batch" : policy === 1 || policy === 2 ? "realtime" : null;
  } catch {
    return null;
  }
}

function lowerPriority(nice: number, idle: boolean): { nice: number | null; policy: ThreadPolicy } {
  const tid = threadId();
  if (tid === undefined) return { nice: nice === 0 ? 0 : null, policy: null };
  let applied: number | null = 0;
  if (nice !== 0) {
    try {
      setPriority(tid, nice);
      applied = nice;
    } catch {
      applied = null;
    }
  }
  if (idle) {
    try {
      execFileSync("chrt", ["--idle", "--pid", "0", String(tid)], { stdio: "ignore", timeout: 5000 });
    } catch {
      // No chrt (or refused): the nice value alone orders this thread.
    }
  }
  return { nice: applied, policy: threadPolicy("thread-self") };
}

const port = parentPort;
if (port) {
  const data = workerData as HashWorkerData | undefined;
  const applied = lowerPriority(data?.nice ?? 0, data?.idle ?? false);
  port.on("message", (job: HashJob) => {
    let res: HashResult;
    try {
      if (job.op === "argon2") {
        const out = hashRawSync(Buffer.from(job.password), { ...job.options, salt: Buffer.from(job.options.salt) });
        res = { id: job.id, bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
      } else if (job.op === "crypt") {
        const pw = Buffer.from(job.password);
        res = { id: job.id, text: job.alg === "md5" ? md5Crypt(pw, job.salt) : shaCrypt(job.alg, pw, job.salt, job.rounds) };
      } else {
        res = { id: job.id, text: bcryptHashSync(Buffer.from(job.password), job.cost, job.salt ? Buffer.from(job.salt) : undefined) };
      }
    } catch (e) {
      res = { id: job.id, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(res);
  });
  port.postMessage({ ready: true, ...applied });
}
