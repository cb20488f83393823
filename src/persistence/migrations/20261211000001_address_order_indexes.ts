import { sql } from "kysely";
import { createIndex, dialectOf, type MigrationDb } from "./helpers.ts";

/**
 * Indexes on `(identity_id, created_at, id)` of both address tables: the order Kratos lists an identity's addresses in.
 * Reading an identity's addresses through them yields that order without sorting (whoami's statement on SQLite,
 * `session/session-repo.ts`, walks them instead of sorting per request). The older `(identity_id)` indexes stay.
 */
const INDEXES = [
  ["identity_verifiable_addresses", "identity_verifiable_addresses_order_idx"],
  ["identity_recovery_addresses", "identity_recovery_addresses_order_idx"],
] as const;

export async function up(db: MigrationDb): Promise<void> {
  for (const [table, name] of INDEXES) await createIndex(db, table, name, ["identity_id", "created_at", "id"]);
}

export async function down(db: MigrationDb): Promise<void> {
  for (const [table, name] of INDEXES) {
    if (dialectOf(db) === "mysql") {
      const found = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
        where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
      if (Number(found.rows[0]?.n ?? 0) > 0) await sql`drop index ${sql.id(name)} on ${sql.table(table)}`.execute(db);
    } else {
      await db.schema.dropIndex(name).ifExists().execute();
    }
  }
}
