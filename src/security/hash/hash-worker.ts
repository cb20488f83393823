/**
 * Worker-thread entry for password hashing (hash-pool.ts starts it). At start it lowers its own thread's CPU priority
 * to `workerData.nice` (Linux: setpriority on the thread id read from /proc/thread-self; elsewhere nothing) and says
 * `{ ready: true, nice }` with the value applied, or null when it could not. Then, one job at a time:
 *   in:  `{ id, op: "argon2", password, options }` (options of @node-rs/argon2's hashRawSync, salt as bytes)
 *        `{ id, op: "bcrypt", password, cost, salt? }` (@node-rs/bcrypt's hashSync)
 *        `{ id, op: "crypt", alg, password, salt, rounds }` (md5-crypt / sha256-crypt / sha512-crypt, legacy/crypt.ts)
 *   out: `{ id, bytes }` (argon2: the raw hash), `{ id, text }` (bcrypt: the encoded hash; crypt: its hash part) or
 *        `{ id, error }`.
 * The computation is synchronous here: this thread exists only for it, so the event loop never runs a hash and the
 * libuv threadpool (file I/O, DNS) never waits behind one.
 */
import { readlinkSync } from "node:fs";
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
}

function lowerPriority(nice: number): number | null {
  if (nice === 0) return 0;
  try {
    // "<pid>/task/<tid>": this thread's id, which setpriority(PRIO_PROCESS) accepts on Linux.
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return null;
    setPriority(tid, nice);
    return nice;
  } catch {
    return null;
  }
}

const port = parentPort;
if (port) {
  const applied = lowerPriority((workerData as HashWorkerData | undefined)?.nice ?? 0);
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
  port.postMessage({ ready: true, nice: applied });
}
