import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * WAL checkpoints of a SQLite file, off the event loop. By default SQLite checkpoints inside the commit that pushes the
 * WAL past 1000 pages: that commit copies the WAL into the database and fsyncs it, synchronously, on the event loop
 * (measured: the slowest 5 % of registration commits held 73 % of all commit time, up to 31 ms each, while hashes
 * waited to be dispatched). Here the main connection never checkpoints (`wal_autocheckpoint = 0`); a worker thread
 * with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs` (default 250 ms). PASSIVE never
 * blocks readers or the writer; it copies what it can, and the next writer restarts the WAL once all of it is in the
 * database. If the worker cannot start or dies, the main connection goes back to SQLite's automatic checkpoints.
 *
 * The worker is plain JavaScript evaluated from a string (no loader, no file), unref'd: it never keeps the process
 * alive. `stop()` ends it; closing the last connection checkpoints as usual.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.module);
let db;
try {
  db = new SQLite(workerData.filename, { fileMustExist: true });
  db.pragma("busy_timeout = 0");
} catch (e) {
  parentPort.postMessage({ failed: String(e && e.message || e) });
  process.exit(1);
}
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch { /* busy: the next tick retries */ }
}, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

const sqliteModule = createRequire(import.meta.url).resolve("better-sqlite3");

export function startCheckpointer(filename: string, fallback: () => void, intervalMs = 250): Checkpointer {
  let stopped = false;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { filename, module: sqliteModule, intervalMs } });
  } catch {
    fallback();
    return { stop: async () => {} };
  }
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const failed = () => {
    if (!stopped) fallback();
  };
  worker.on("error", failed);
  worker.on("exit", failed);
  worker.on("message", (m: { failed?: string }) => {
    if (m.failed) failed();
  });
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      worker.ref();
      worker.postMessage("stop");
      const t = setTimeout(() => void worker.terminate(), 2000);
      t.unref();
      await exited;
      clearTimeout(t);
    },
  };
}
