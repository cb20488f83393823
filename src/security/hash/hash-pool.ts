/**
 * The threads that compute password hashes: worker threads of this process, one hash at a time each, at a lower CPU
 * priority than the event loop (Linux: SCHED_IDLE by default, and `nice`, default 19; see docs/hashing.md). When the
 * CPUs are saturated the event loop (whoami, flows, every cheap request) runs first and hashing takes what is left, so
 * a login flood slows logins down but not the rest of the API. When nothing else wants the CPU, the priority changes
 * nothing.
 *
 * One pool per process, shared by every hasher in it (tests build many): `ensure(size, priority)` lets it grow to `size`
 * threads and starts min(size, CPUs) of them at once, so no login waits for a thread to start in the usual case.
 * Threads beyond that start when jobs need them and stop after `IDLE_MS` without work (each thread holds a V8
 * isolate, about 10 MB). Concurrency is bounded upstream by the hasher's memory semaphore; jobs beyond the idle
 * threads wait here in order. A thread that crashes fails its job and is replaced on the next one. Idle threads are
 * unref'd: they never keep the process alive.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { startModuleWorker } from "../../util/ts-worker.ts";
import type { HashJob, HashResult, HashWorkerData, ThreadPolicy } from "./hash-worker.ts";

/** Without a configuration (`hashers.thread_nice`): the lowest priority. */
export const DEFAULT_HASH_NICE = 19;

/** The hashing threads' CPU priority: nice value, and SCHED_IDLE (`hashers.thread_policy: idle`, the default). */
export interface HashPriority {
  nice: number;
  idle: boolean;
}

/** Threads beyond the ones started up front stop after this long without a job. */
const IDLE_MS = 10_000;

export type Argon2RawOptions = Extract<HashJob, { op: "argon2" }>["options"];

type JobMessage = HashJob extends infer J ? (J extends HashJob ? Omit<J, "id"> : never) : never;

interface Job {
  msg: JobMessage;
  resolve: (r: HashResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy?: { id: number; job: Job };
  /** Started on demand beyond the up-front threads: stops when idle for IDLE_MS. */
  extra: boolean;
  idle?: NodeJS.Timeout;
  /** The nice value the thread applied, null when it could not (non-Linux), undefined until it says. */
  nice?: number | null;
  /** The scheduling policy the kernel reports for the thread after it lowered it (null: unknown). */
  policy?: ThreadPolicy;
}

export interface HashPool {
  /** Grows the pool to at least `size` threads (started now) and sets the priority of threads started from now on. */
  ensure(size: number, priority: HashPriority): void;
  argon2(password: Buffer, options: Argon2RawOptions): Promise<Buffer>;
  bcrypt(password: Buffer, cost: number, salt?: Buffer): Promise<string>;
  /** The hash part of a crypt(3) string (md5-crypt, sha256-crypt, sha512-crypt: JavaScript loops, legacy/crypt.ts). */
  crypt(alg: "md5" | "sha256" | "sha512", password: Buffer, salt: string, rounds: number): Promise<string>;
  stats(): { threads: number; busy: number; queued: number; nice: Array<number | null | undefined>; policy: Array<ThreadPolicy | undefined> };
  /** Resolves once every thread started so far has reported the priority it applied (at most `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every thread (tests); the next job starts new ones. */
  close(): Promise<void>;
}

function createHashPool(): HashPool {
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let size = 1;
  let priority: HashPriority = { nice: DEFAULT_HASH_NICE, idle: true };
  let nextId = 1;

  function start(extra: boolean): Slot {
    const worker = startModuleWorker(new URL("./hash-worker.ts", import.meta.url), { workerData: { nice: priority.nice, idle: priority.idle } satisfies HashWorkerData });
    const slot: Slot = { worker, extra };
    worker.on("message", (m: HashResult | { ready: true; nice: number | null; policy: ThreadPolicy }) => {
      if ("ready" in m) {
        slot.nice = m.nice;
        slot.policy = m.policy;
        return;
      }
      const busy = slot.busy;
      if (!busy || busy.id !== m.id) return;
      slot.busy = undefined;
      busy.job.resolve(m);
      next(slot);
    });
    const fail = (e: Error) => {
      clearTimeout(slot.idle);
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      const busy = slot.busy;
      slot.busy = undefined;
      busy?.job.reject(e);
      dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`hash worker exited with code ${code}`)));
    worker.unref();
    slots.push(slot);
    return slot;
  }

  function run(slot: Slot, job: Job): void {
    const id = nextId++;
    clearTimeout(slot.idle);
    slot.busy = { id, job };
    slot.worker.ref();
    const msg = { ...job.msg, id } as HashJob;
    slot.worker.postMessage(msg);
  }

  /** A slot finished: take the next job, or go idle. */
  function next(slot: Slot): void {
    const job = queue.shift();
    if (job) return run(slot, job);
    slot.worker.unref();
    if (slot.extra) {
      slot.idle = setTimeout(() => {
        const i = slots.indexOf(slot);
        if (i >= 0 && !slot.busy) {
          slots.splice(i, 1);
          void slot.worker.terminate();
        }
      }, IDLE_MS);
      slot.idle.unref();
    }
  }

  function dispatch(): void {
    while (queue.length > 0) {
      let slot = slots.find((s) => !s.busy);
      if (!slot && slots.length < size) slot = start(true);
      if (!slot) return;
      run(slot, queue.shift() as Job);
    }
  }

  const submit = (msg: JobMessage): Promise<HashResult> =>
    new Promise<HashResult>((resolve, reject) => {
      queue.push({ msg, resolve, reject });
      dispatch();
    }).then((r) => {
      if ("error" in r) throw new Error(r.error);
      return r;
    });

  return {
    ensure(n, p) {
      priority = p;
      size = Math.max(size, n);
      const upFront = Math.min(size, Math.max(1, availableParallelism()));
      while (slots.length < upFront) start(false);
    },
    async argon2(password, options) {
      // Byte arrays travel as copies of their own: a structured clone copies a view's whole ArrayBuffer, and a small
      // Buffer (a salt from `randomBytes` or base64) is a view into Node's shared 8 KiB pool.
      const r = await submit({ op: "argon2", password: new Uint8Array(password), options: { ...options, salt: new Uint8Array(options.salt) } });
      if (!("bytes" in r)) throw new Error("hash worker: argon2 answered without bytes");
      return Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    },
    async bcrypt(password, cost, salt) {
      const r = await submit({ op: "bcrypt", password: new Uint8Array(password), cost, salt: salt ? new Uint8Array(salt) : undefined });
      if (!("text" in r)) throw new Error("hash worker: bcrypt answered without text");
      return r.text;
    },
    async crypt(alg, password, salt, rounds) {
      const r = await submit({ op: "crypt", alg, password: new Uint8Array(password), salt, rounds });
      if (!("text" in r)) throw new Error("hash worker: crypt answered without text");
      return r.text;
    },
    stats: () => ({ threads: slots.length, busy: slots.filter((s) => s.busy).length, queued: queue.length, nice: slots.map((s) => s.nice), policy: slots.map((s) => s.policy) }),
    async ready(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (slots.some((s) => s.policy === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10).unref());
    },
    async close() {
      const all = slots.splice(0);
      for (const s of all) clearTimeout(s.idle);
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}

/** The process's hashing threads. */
export const hashPool: HashPool = createHashPool();

/**
 * With SCHED_IDLE wanted (`hashers.thread_policy: idle`, the default) on Linux: once the threads have reported, says
 * at warn when one of them did not get it (no `chrt` on the PATH, or the kernel refused). Hashing then yields to
 * request handling by its nice value only (docs/hashing.md). Resolves true when it warned.
 */
export async function warnUnlessIdle(pool: HashPool, wantIdle: boolean, logger: Pick<Logger, "warn">): Promise<boolean> {
  if (process.platform !== "linux" || !wantIdle) return false;
  await pool.ready();
  const { policy, nice } = pool.stats();
  if (policy.every((p) => p === "idle")) return false;
  logger.warn({ event: "hashers.thread_policy", policy, nice }, "hashing threads could not switch to SCHED_IDLE (is util-linux's chrt installed?); they run at their nice value only");
  return true;
}
