import { createIndex, createTable, dropTable, t } from "./helpers.ts";
import type { MigrationDb } from "./helpers.ts";

/**
 * One-time codes and link tokens of the self-service flows (recovery, verification, code login and registration):
 * `strategies/code/code-store.ts`. Secrets are never stored: `secret_hash` is an HMAC-SHA256 (hex) keyed with
 * `secrets.default`; a code's HMAC covers its flow id, so a code is only ever valid on the flow it was sent for.
 * `identity_id` is null for the rows written on the unknown-address branch (same database work, never redeemable).
 * `used_at` is set once, by a conditional update, so a code can be spent at most once even under concurrency.
 */
export async function up(db: MigrationDb): Promise<void> {
  await createTable(db, "selfservice_codes")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("flow_id", t.id, (c) => c.notNull())
    .addColumn("kind", t.short(16), (c) => c.notNull())
    .addColumn("method", t.short(8), (c) => c.notNull())
    .addColumn("secret_hash", t.hash, (c) => c.notNull())
    .addColumn("identity_id", t.id)
    .addColumn("address", t.ident)
    .addColumn("address_id", t.id)
    .addColumn("expires_at", t.ts, (c) => c.notNull())
    .addColumn("used_at", t.ts)
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .execute();
  await createIndex(db, "selfservice_codes", "selfservice_codes_flow_idx", ["flow_id", "kind"]);
  await createIndex(db, "selfservice_codes", "selfservice_codes_secret_idx", ["secret_hash"]);
  await createIndex(db, "selfservice_codes", "selfservice_codes_expires_idx", ["expires_at"]);
}

export async function down(db: MigrationDb): Promise<void> {
  await dropTable(db, "selfservice_codes");
}
