/**
 * Runs crypt(3) computations (crypt.ts) in one worker thread, so a 600 000-round sha512-crypt (about 1.4 s in
 * JavaScript) never blocks the event loop. The worker starts on first use, is unref'd while idle (it never keeps
 * the process alive) and is restarted after a crash. Concurrency is bounded upstream by the hashing semaphore;
 * requests beyond one run queue in the worker's message queue.
 */
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../../../util/ts-worker.ts";
import type { CryptRequest, CryptResponse } from "./crypt-worker.ts";

type Pending = { resolve: (hash: string) => void; reject: (e: Error) => void };

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

function startWorker(): Worker {
  const w = startModuleWorker(new URL("./crypt-worker.ts", import.meta.url));
  w.on("message", (res: CryptResponse) => {
    const p = pending.get(res.id);
    if (!p) return;
    pending.delete(res.id);
    if ("error" in res) p.reject(new Error(res.error));
    else p.resolve(res.hash);
    if (pending.size === 0) w.unref();
  });
  const fail = (e: Error) => {
    if (worker === w) worker = undefined;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  w.on("error", fail);
  w.on("exit", (code) => fail(new Error(`crypt worker exited with code ${code}`)));
  return w;
}

/** Computes the hash part of a crypt string in the worker thread. */
export function cryptInWorker(alg: CryptRequest["alg"], password: Buffer, salt: string, rounds: number): Promise<string> {
  worker ??= startWorker();
  const w = worker;
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    const req: CryptRequest = { id, alg, password: new Uint8Array(password), salt, rounds };
    w.postMessage(req);
  });
}
