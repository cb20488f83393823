import { createIndex, dropIndex, type MigrationDb } from "./helpers.ts";

/**
 * Drops the `(identity_id, created_at, id)` indexes of both address tables (`20261211000001`). They existed so that
 * whoami's statement could read an identity's addresses in order without sorting; since `20261212000001` whoami and
 * identity reads take the addresses from the copy in the identity's row, nothing reads the tables in that order, and
 * the `(identity_id)` indexes serve every remaining lookup (the copy's rewrite, rows without a copy, deletes, MySQL's
 * foreign keys). Each registration writes two index entries less.
 */
const INDEXES = [
  ["identity_verifiable_addresses", "identity_verifiable_addresses_order_idx"],
  ["identity_recovery_addresses", "identity_recovery_addresses_order_idx"],
] as const;

export async function up(db: MigrationDb): Promise<void> {
  for (const [table, name] of INDEXES) await dropIndex(db, table, name);
}

export async function down(db: MigrationDb): Promise<void> {
  for (const [table, name] of INDEXES) await createIndex(db, table, name, ["identity_id", "created_at", "id"]);
}
