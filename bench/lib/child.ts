/**
 * Servers under test run in a child process so autocannon (in the parent) does not share their event loop.
 *
 * A bench script calls `runBench(import.meta.url, setup, measure)`:
 * - in the parent it forks the same script (through tsx) with `--bench-child`, waits for the child's `info`, runs
 *   `measure(info)`, then tells the child to stop (also when `measure` throws) and sets the exit code;
 * - in the child it runs `setup()`, sends `info` to the parent, and on "stop" calls `close()` and exits; when the
 *   parent goes away without a "stop" (killed, crashed), the IPC channel closes and the child exits too.
 * A child that dies before sending `info` rejects the parent with its exit code.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface ChildServers<T> {
  info: T;
  close(): Promise<void>;
}

const CHILD_FLAG = "--bench-child";

export async function runBench<T>(moduleUrl: string, setup: () => Promise<ChildServers<T>>, measure: (info: T) => Promise<number | void>): Promise<void> {
  if (process.argv.includes(CHILD_FLAG)) {
    const servers = await setup();
    let closing: Promise<void> | undefined;
    const shutdown = (code: number) => {
      closing ??= servers.close().finally(() => process.exit(code));
    };
    process.on("message", (m) => {
      if (m === "stop") shutdown(0);
    });
    // The parent died without saying "stop" (killed, crashed): clean up and never outlive it.
    process.once("disconnect", () => shutdown(1));
    process.send?.({ info: servers.info });
    return;
  }
  // BENCH_CPU_PROF=<dir>: the server child writes a V8 CPU profile there when it exits (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(fileURLToPath(moduleUrl), [...process.argv.slice(2), CHILD_FLAG], { execArgv: ["--import", "tsx", ...prof], stdio: "inherit" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const info = await new Promise<T>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { info: T }).info));
    child.once("exit", (code) => reject(new Error(`bench servers exited with ${code} before they were ready`)));
  });
  try {
    const code = await measure(info);
    process.exitCode = code ?? 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  } finally {
    child.send("stop");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
