/**
 * Black-box helpers: run the real `bin/tessera.js` as a child process (CLI commands, or `serve` on free ports over a
 * temp SQLite file) and clean up after it. Used by test/compat/* (SDK against a listening server) and test/cli/*.
 *
 * Contract:
 * - Every child started here is tracked; `killAll()` (call it in `after()`) sends SIGTERM, then SIGKILL after 5 s,
 *   to every one still running, so a failing test never leaves a server behind.
 * - Children get a minimal environment (PATH, HOME, TMPDIR, LANG, NODE_ENV=test) plus `env`: a DSN or SERVE_* variable
 *   in the test runner's environment must not leak into the server under test (Kratos-style env overrides).
 * - Servers listen on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = join(REPO_ROOT, "bin/tessera.js");
export const DEV_SCHEMA_URL = `file://${join(REPO_ROOT, "config/identity.schema.json")}`;

/** Start-up of `node bin/tessera.js` (tsx transform included) takes seconds on a busy 2-core CI machine. */
const DEFAULT_TIMEOUT_MS = 120_000;

const children = new Set<ChildProcess>();

/** `n` distinct ports that were free a moment ago: all are held open at once, then released. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const s = createServer();
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve(s));
      });
    }),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (!a || typeof a === "string") throw new Error("no port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function tempDir(prefix = "tessera-bb-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A complete, valid config for a test server: SQLite file `<dir>/tessera.db`, both listeners on 127.0.0.1, the dev
 * identity schema, cheap but real argon2id, quiet logs. `extra` is deep-merged over it (objects merge, the rest replaces).
 */
export function serverConfig(opts: { dir: string; publicPort?: number; adminPort?: number; extra?: Record<string, unknown> }): Record<string, unknown> {
  const base: Record<string, unknown> = {
    dsn: `sqlite://${join(opts.dir, "tessera.db")}`,
    serve: {
      public: { host: "127.0.0.1", port: opts.publicPort ?? 4433, base_url: `http://127.0.0.1:${opts.publicPort ?? 4433}/` },
      admin: { host: "127.0.0.1", port: opts.adminPort ?? 4434 },
    },
    secrets: { default: ["compat-secret-0123456789abcdefgh"] },
    identity: { default_schema_id: "default", schemas: [{ id: "default", url: DEV_SCHEMA_URL }] },
    selfservice: { default_browser_return_url: "http://127.0.0.1:4455/" },
    hashers: { algorithm: "argon2", argon2: { memory: "1MB", iterations: 1, parallelism: 1 } },
    log: { level: "warning" },
  };
  return merge(base, opts.extra ?? {});
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** Writes `config` as YAML to `<dir>/<name>` and returns the path. */
export async function writeConfig(dir: string, config: unknown, name = "tessera.yml"): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, toYaml(config));
  return file;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NODE_ENV: "test" };
  for (const k of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...extra };
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops every child these helpers started that is still running. Safe to call more than once. */
export async function killAll(): Promise<void> {
  await Promise.all([...children].map(terminate));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/tessera.js ...args` to completion (killed after `timeoutMs`). */
export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = track(spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: childEnv(opts.env), stdio: ["pipe", "pipe", "pipe"] }));
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(opts.input ?? "");
  const timer = setTimeout(() => void terminate(child), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c) => resolve(c));
    });
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export interface RunningServer {
  publicUrl: string;
  adminUrl: string;
  child: ChildProcess;
  /** Everything the server wrote so far (stdout and stderr interleaved), for failure messages. */
  output(): string;
  /** SIGTERM (SIGKILL after 5 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawns `node bin/tessera.js serve -c <configFile> ...args` and resolves once `GET <admin>/health/ready` answers 200.
 * Rejects (with the server's output) when the process exits first or `timeoutMs` passes; the child is then killed.
 */
export async function startServer(
  configFile: string,
  opts: { publicPort: number; adminPort: number; args?: string[]; env?: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<RunningServer> {
  const child = track(
    spawn(process.execPath, [BIN, "serve", "-c", configFile, ...(opts.args ?? [])], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: childEnv(opts.env),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const server: RunningServer = {
    publicUrl: `http://127.0.0.1:${opts.publicPort}`,
    adminUrl: `http://127.0.0.1:${opts.adminPort}`,
    child,
    output: () => out,
    stop: () => terminate(child),
  };
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`tessera serve exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${out}`);
    }
    try {
      const res = await fetch(`${server.adminUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await terminate(child);
  throw new Error(`tessera serve was not ready within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms:\n${out}`);
}

export interface MigratedServer extends RunningServer {
  dir: TempDir;
  configFile: string;
  /** Stops the server and removes the temp directory. */
  close(): Promise<void>;
}

/**
 * The whole black-box set-up: temp dir, free ports, `serverConfig` (+ `extra`), `migrate sql up --yes`, `serve`.
 * Throws with the CLI output when the migration fails.
 */
export async function startMigratedServer(extra: Record<string, unknown> = {}): Promise<MigratedServer> {
  const dir = await tempDir();
  const [publicPort, adminPort] = await freePorts(2);
  const configFile = await writeConfig(dir.path, serverConfig({ dir: dir.path, publicPort, adminPort, extra }));
  const migrated = await runCli(["migrate", "sql", "up", "-c", configFile, "--yes"]);
  if (migrated.code !== 0) {
    await dir.remove();
    throw new Error(`migrate sql up exited with ${migrated.code}:\n${migrated.stdout}${migrated.stderr}`);
  }
  let server: RunningServer;
  try {
    server = await startServer(configFile, { publicPort, adminPort });
  } catch (e) {
    await dir.remove();
    throw e;
  }
  return {
    ...server,
    dir,
    configFile,
    async close() {
      await server.stop();
      await dir.remove();
    },
  };
}
