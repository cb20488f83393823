import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";

/**
 * A fast, honest test app: the real wiring of `createApp`, a fresh SQLite file with every migration applied, cheap but
 * real argon2 parameters, a manual clock (expiry without sleeping) and a silent logger. `config` is deep-merged over
 * the defaults below before validation, so tests exercise the real config loader.
 */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

export interface TestAppOptions {
  config?: Record<string, unknown>;
  /** Use this DSN instead of a fresh SQLite file (e.g. a database from test/helpers/databases.ts). */
  dsn?: string;
  dev?: boolean;
  logLevel?: string;
}

export interface TestApp {
  app: App;
  clock: ReturnType<typeof createManualClock>;
  dir: string;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

export function baseTestConfig(dsn: string): Record<string, unknown> {
  return {
    dsn,
    serve: {
      public: { base_url: "http://127.0.0.1:4433/" },
      admin: { base_url: "http://127.0.0.1:4434/" },
    },
    secrets: { default: ["test-secret-0123456789abcdef"], cookie: ["test-cookie-secret-0123456789"] },
    identity: {
      default_schema_id: "default",
      schemas: [{ id: "default", url: `file://${join(REPO_ROOT, "config/identity.schema.json")}` }],
    },
    selfservice: {
      default_browser_return_url: "http://127.0.0.1:4455/welcome",
      allowed_return_urls: ["http://127.0.0.1:4455"],
      methods: { password: { enabled: true, config: { haveibeenpwned_enabled: false } } },
      flows: {
        error: { ui_url: "http://127.0.0.1:4455/error" },
        login: { ui_url: "http://127.0.0.1:4455/login" },
        registration: { ui_url: "http://127.0.0.1:4455/registration", after: { password: { hooks: [{ hook: "session" }] } } },
        settings: { ui_url: "http://127.0.0.1:4455/settings" },
        recovery: { ui_url: "http://127.0.0.1:4455/recovery" },
        // Tessera enables verification by default (so registration can hide existing accounts); most flow tests want
        // Kratos's immediate sign-in after registration and opt back in where they test verification.
        verification: { enabled: false, ui_url: "http://127.0.0.1:4455/verification" },
      },
    },
    // Cheap but real argon2id: the code paths are the production ones, only the cost differs. The hashing threads
    // keep the event loop's priority here (production default: nice 19): test files run two at a time, and at nice 19
    // one file's hashes would wait behind the other file's event loop, which timing assertions would read as slowness.
    hashers: { algorithm: "argon2", argon2: { memory: "1MB", iterations: 1, parallelism: 1 }, thread_nice: 0, thread_policy: "normal" },
  };
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-test-"));
  const dsn = opts.dsn ?? `sqlite://${join(dir, "tessera.db")}`;
  const { config } = await loadConfig({ overrides: deepMerge(baseTestConfig(dsn), opts.config), env: {}, dev: opts.dev ?? false });
  const clock = createManualClock();
  const app = await createApp({
    config,
    baseDir: REPO_ROOT,
    clock,
    logger: createLogger({ level: opts.logLevel ?? "silent" }),
    dev: opts.dev ?? false,
  });
  await migrator(app.deps.database).up();
  return {
    app,
    clock,
    dir,
    async close() {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
