import { createIndex, createTable, dropTable } from "./helpers.ts";
import type { MigrationDb } from "./helpers.ts";

/**
 * Brute-force counters (`security/throttle/sql-store.ts`). `throttle_key` is an opaque key such as `id:<HMAC hex>`:
 * identifiers and IPs are never stored. Times are integer milliseconds since the epoch (bigint), not the ISO text of
 * the other tables: every statement does arithmetic and comparisons on them inside atomic upserts, and integers
 * compare the same on every dialect whatever the collation. `expires_at` is indexed for pruning.
 */
export async function up(db: MigrationDb): Promise<void> {
  await createTable(db, "throttles")
    .addColumn("throttle_key", "varchar(128)", (c) => c.primaryKey().notNull())
    .addColumn("count", "integer", (c) => c.notNull())
    .addColumn("last_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("locked_until", "bigint")
    .execute();
  await createIndex(db, "throttles", "throttles_expires_at_idx", ["expires_at"]);
}

export async function down(db: MigrationDb): Promise<void> {
  await dropTable(db, "throttles");
}
