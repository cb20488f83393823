import { fileURLToPath } from "node:url";
import pino from "pino";
import type { Logger } from "pino";
import type { Config } from "../../src/config/config.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createCourier } from "../../src/courier/courier.ts";
import type { CourierDeps } from "../../src/courier/courier.ts";
import { createDatabase } from "../../src/persistence/db.ts";
import type { Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import type { Clock } from "../../src/util/clock.ts";

/**
 * Shared set-up of the courier tests: a real configuration through the real loader (courier keys merged over a
 * minimal valid file), a migrated database, and a courier over them. Also imported by the SIGKILL child process.
 */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PUBLIC_BASE_URL = "https://id.example.test/";

export async function courierConfig(dsn: string, courier: Record<string, unknown>): Promise<Config> {
  const { config } = await loadConfig({
    env: {},
    requireSecrets: false,
    overrides: {
      dsn,
      serve: { public: { base_url: PUBLIC_BASE_URL } },
      identity: { default_schema_id: "default", schemas: [{ id: "default", url: `file://${REPO_ROOT}config/identity.schema.json` }] },
      selfservice: {
        default_browser_return_url: "http://127.0.0.1:4455/welcome",
        flows: { error: { ui_url: "http://127.0.0.1:4455/error" }, login: { ui_url: "http://127.0.0.1:4455/login" } },
      },
      courier,
    },
  });
  return config;
}

export const silentLogger = (): Logger => pino({ level: "silent" });

export async function openMigrated(dsn: string): Promise<Database> {
  const database = createDatabase(dsn);
  await migrator(database).up();
  return database;
}

export function courierFor(database: Database, config: Config, clock: Clock, extra: Partial<CourierDeps> = {}) {
  return createCourier({ database, config, clock, logger: silentLogger(), publicBaseUrl: PUBLIC_BASE_URL, baseDir: REPO_ROOT, ...extra });
}
