import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread on one of our modules. Our sources are TypeScript run through tsx, and a worker does not
 * inherit the tsx loader that bin/tessera.js registered, so for a `.ts` entry the worker first registers tsx itself
 * (resolved from here, independent of the working directory). A `.js` entry (a compiled build) starts directly.
 */
export function startModuleWorker(entry: URL, opts: WorkerOptions = {}): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, opts);
  return new Worker(
    `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`,
    { ...opts, eval: true },
  );
}
