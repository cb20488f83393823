/**
 * The whole Tessera public API for benches: `createApp` with the real config loader over a fresh SQLite file (every
 * migration applied), the dev identity schema, production hashing defaults (argon2id 19 MiB, t=2, p=1, 1 GiB
 * `dedicated_memory`) unless `config` says otherwise, the breach check off (no network in a bench), the per-IP request
 * limit raised out of reach (all load comes from one address; the hook still runs), the `session` hook
 * after password registration (Kratos's quickstart), and logging at `warn` unless `opts.logLevel` says otherwise
 * (request logs would measure pino).
 * Listens on 127.0.0.1 on a free port. Meant to run inside the bench child process (see `child.ts`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { deepMerge } from "../../test/helpers/create-test-app.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createLogger } from "../../src/util/logger.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface BenchApp {
  app: App;
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

export async function startBenchApp(config: Record<string, unknown> = {}, opts: { logLevel?: string } = {}): Promise<BenchApp> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-bench-app-"));
  const base = {
    dsn: `sqlite://${join(dir, "bench.db")}`,
    serve: { public: { base_url: "http://127.0.0.1:4433/" } },
    secrets: { default: ["bench-secret-0123456789abcdefghij"] },
    identity: { default_schema_id: "default", schemas: [{ id: "default", url: `file://${join(REPO_ROOT, "config/identity.schema.json")}` }] },
    selfservice: {
      default_browser_return_url: "http://127.0.0.1:4455/",
      methods: { password: { enabled: true, config: { haveibeenpwned_enabled: false } } },
      // Kratos's immediate sign-in after registration (Tessera's default defers it until verification).
      flows: { registration: { after: { password: { hooks: [{ hook: "session" }] } } }, verification: { enabled: false } },
    },
    log: { level: "warning" },
    // Every bench client comes from 127.0.0.1: the per-IP request limit (600/min by default, on every public route)
    // would answer 429 within a second. Raised, not disabled, so its hook still runs on every request measured.
    security: { brute_force: { ip: { max_requests: 1_000_000_000 } } },
  };
  const { config: loaded } = await loadConfig({ overrides: deepMerge(base, config), env: {} });
  const app = await createApp({ config: loaded, baseDir: REPO_ROOT, logger: createLogger({ level: opts.logLevel ?? "warn" }) });
  await migrator(app.deps.database).up();
  const url = (await app.public.listen({ host: "127.0.0.1", port: 0 })).replace(/\/$/, "");
  return {
    app,
    url,
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
