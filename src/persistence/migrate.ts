import { Migrator, sql } from "kysely";
import type { Kysely, MigrationResultSet } from "kysely";
import type { Database } from "./db.ts";
import { migrations } from "./migrations/index.ts";

/** Bookkeeping tables. Never rename them: a renamed table looks like an empty database to the migrator. */
export const MIGRATION_TABLE = "tessera_migration";
export const MIGRATION_LOCK_TABLE = "tessera_migration_lock";

export interface MigrationStatus {
  name: string;
  applied: boolean;
}

/**
 * Applies and reverts the migrations of `migrations/index.ts` on `database`.
 * - `up()` applies every pending migration in name order and returns the names applied (empty when up to date).
 *   Concurrent callers serialise on Kysely's lock (advisory lock on PostgreSQL, GET_LOCK on MySQL); on PostgreSQL
 *   the whole batch is one transaction; on SQLite (Kysely's adapter reports no transactional DDL) and MySQL each
 *   statement commits on its own, so the migrations are written to be re-runnable after a partial failure, and one
 *   that must not stop half-way on SQLite (a table rebuild) wraps itself in a transaction.
 * - `down()` reverts the latest applied migration and returns its name, or null when none is applied.
 * - `status()` lists every known migration in order; `pending()` the names not yet applied.
 * Failures throw an Error naming the migration that failed.
 */
export function migrator(database: Database): {
  up(): Promise<string[]>;
  down(): Promise<string | null>;
  status(): Promise<MigrationStatus[]>;
  pending(): Promise<string[]>;
} {
  const m = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    // Plain code-unit order: the names start with a fixed-width UTC timestamp, and localeCompare could vary by ICU.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  });
  const status = async (): Promise<MigrationStatus[]> =>
    (await m.getMigrations()).map((i) => ({ name: i.name, applied: i.executedAt !== undefined }));
  return {
    async up() {
      return succeeded(await m.migrateToLatest(), "apply");
    },
    async down() {
      return succeeded(await m.migrateDown(), "revert")[0] ?? null;
    },
    status,
    async pending() {
      return (await status()).filter((s) => !s.applied).map((s) => s.name);
    },
  };
}

function succeeded(r: MigrationResultSet, verb: string): string[] {
  if (r.error !== undefined) {
    const failed = r.results?.find((x) => x.status === "Error")?.migrationName;
    const reason = r.error instanceof Error ? r.error.message : String(r.error);
    throw new Error(failed ? `could not ${verb} migration ${failed}: ${reason}` : `migration failed: ${reason}`, {
      cause: r.error,
    });
  }
  return (r.results ?? []).filter((x) => x.status === "Success").map((x) => x.migrationName);
}

/**
 * Names recorded as applied in the database that this build does not know: the database was migrated by a newer
 * Tessera. Running an older build against it is refused (it would not understand the schema).
 */
export async function unknownAppliedMigrations(database: Database): Promise<string[]> {
  const db = database.db as unknown as Kysely<Record<string, { name: string }>>;
  let rows: Array<{ name: string }>;
  try {
    rows = (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db)).rows;
  } catch {
    return []; // no bookkeeping table yet: a fresh database
  }
  return rows.map((r) => r.name).filter((n) => !(n in migrations)).sort();
}

/**
 * True for a database that lives only in this process (`dsn: memory`, `sqlite://:memory:`, SQLite's temp database):
 * SQLite reports an empty file name for it. No other process can ever migrate it, so `serve` migrates it itself.
 */
export async function isInMemoryDatabase(database: Database): Promise<boolean> {
  if (database.dialect !== "sqlite") return false;
  const rows = (await sql<{ name: string; file: string | null }>`pragma database_list`.execute(database.db)).rows;
  const main = rows.find((r) => r.name === "main");
  return main !== undefined && (main.file === null || main.file === "");
}

/**
 * The start-up check of `tessera serve`. With pending migrations it refuses (throws, naming the pending migrations
 * and the command that applies them), except in dev mode or on an in-memory database (which starts empty every time
 * and which `tessera migrate` cannot reach: Kratos migrates `dsn: memory` itself too), where it applies them and
 * returns their names. A database migrated by a newer build is always refused.
 */
export async function ensureMigrated(
  database: Database,
  opts: { dev?: boolean; configFile?: string } = {},
): Promise<string[]> {
  const unknown = await unknownAppliedMigrations(database);
  if (unknown.length) {
    throw new Error(
      `the database has migrations this version of Tessera does not know (${unknown.join(", ")}): it was migrated by a newer version`,
    );
  }
  const mig = migrator(database);
  const pending = await mig.pending();
  if (pending.length === 0) return [];
  if (opts.dev || (await isInMemoryDatabase(database))) return mig.up();
  const cfg = opts.configFile ? `-c ${opts.configFile}` : "-c <config file>";
  throw new Error(
    `the database schema is not up to date: ${pending.length} pending migration(s) (${pending.join(", ")}). ` +
      `Run \`tessera migrate sql up ${cfg} --yes\` (or \`tessera migrate sql up -e --yes\` with DSN set), ` +
      `or start with --dev to apply them automatically.`,
  );
}
