import { sql } from "kysely";
import { createIndex, createTable, dropTable, t } from "./helpers.ts";
import type { MigrationDb } from "./helpers.ts";

/**
 * Sessions (tokens stored only as SHA-256 hex hashes, unique so a lookup is one index probe), self-service flows of
 * every kind in one table (`kind` discriminates; strategy-private state in `internal`), and self-service errors.
 * `selfservice_flows.identity_id`/`session_id` carry no foreign key on purpose: a flow outlives neither, and
 * registration flows exist before their identity.
 */
export async function up(db: MigrationDb): Promise<void> {
  await createTable(db, "sessions")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("token_hash", t.hash, (c) => c.notNull())
    .addColumn("logout_token_hash", t.hash, (c) => c.notNull())
    .addColumn("active", t.bool, (c) => c.notNull())
    .addColumn("aal", t.short(8), (c) => c.notNull())
    .addColumn("authenticated_at", t.ts, (c) => c.notNull())
    .addColumn("issued_at", t.ts, (c) => c.notNull())
    .addColumn("expires_at", t.ts, (c) => c.notNull())
    .addColumn("authentication_methods", t.json(db), (c) => c.notNull())
    .addColumn("devices", t.json(db), (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addUniqueConstraint("sessions_token_hash_uq", ["token_hash"])
    .addUniqueConstraint("sessions_logout_token_hash_uq", ["logout_token_hash"])
    .addForeignKeyConstraint("sessions_identity_fk", ["identity_id"], "identities", ["id"], (fk) => fk.onDelete("cascade"))
    .execute();
  await createIndex(db, "sessions", "sessions_identity_idx", ["identity_id"]);

  await createTable(db, "selfservice_flows")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("kind", t.short(16), (c) => c.notNull())
    .addColumn("type", t.short(8), (c) => c.notNull())
    .addColumn("state", t.short(32))
    .addColumn("identity_id", t.id)
    .addColumn("session_id", t.id)
    .addColumn("csrf_token", t.hash)
    .addColumn("request_url", t.text, (c) => c.notNull())
    .addColumn("return_to", t.text)
    .addColumn("issued_at", t.ts, (c) => c.notNull())
    .addColumn("expires_at", t.ts, (c) => c.notNull())
    .addColumn("active", t.short(32))
    .addColumn("ui", t.json(db), (c) => c.notNull())
    .addColumn("internal", t.json(db))
    .addColumn("submit_count", "integer", (c) => c.notNull().defaultTo(sql`0`))
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .execute();

  await createTable(db, "selfservice_errors")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("error", t.json(db), (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .execute();
}

export async function down(db: MigrationDb): Promise<void> {
  await dropTable(db, "selfservice_errors");
  await dropTable(db, "selfservice_flows");
  await dropTable(db, "sessions");
}
