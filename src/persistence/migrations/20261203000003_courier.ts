import { sql } from "kysely";
import { createIndex, createTable, dropTable, t } from "./helpers.ts";
import type { MigrationDb } from "./helpers.ts";

/**
 * The courier outbox. `courier_messages` holds one row per message, rendered at enqueue time (subject, plaintext
 * `body`, `html_body`) inside the transaction of the change that caused it; the worker claims due rows by setting
 * `status = processing`, a lease (`claimed_until`) and a `claim_token`, sends outside any transaction, then marks the
 * row `sent`, `queued` again (with `next_attempt_at` pushed back) or `abandoned`. `courier_message_dispatches` holds one
 * row per delivery attempt with its error (Kratos's `messageDispatch`).
 */
export async function up(db: MigrationDb): Promise<void> {
  await createTable(db, "courier_messages")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("type", t.short(16), (c) => c.notNull())
    .addColumn("channel", t.short(32), (c) => c.notNull())
    .addColumn("status", t.short(16), (c) => c.notNull())
    .addColumn("template_type", t.short(64), (c) => c.notNull())
    .addColumn("recipient", t.ident, (c) => c.notNull())
    .addColumn("subject", t.text, (c) => c.notNull())
    .addColumn("body", t.json(db), (c) => c.notNull())
    .addColumn("html_body", t.json(db))
    .addColumn("template_data", t.json(db), (c) => c.notNull())
    .addColumn("send_count", "integer", (c) => c.notNull().defaultTo(sql`0`))
    .addColumn("next_attempt_at", t.ts, (c) => c.notNull())
    .addColumn("claimed_until", t.ts)
    .addColumn("claim_token", t.id)
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .execute();
  await createIndex(db, "courier_messages", "courier_messages_due_idx", ["status", "next_attempt_at"]);
  await createIndex(db, "courier_messages", "courier_messages_claim_idx", ["claim_token"]);
  await createIndex(db, "courier_messages", "courier_messages_recipient_idx", ["recipient"]);
  await createIndex(db, "courier_messages", "courier_messages_created_idx", ["created_at", "id"]);

  await createTable(db, "courier_message_dispatches")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("message_id", t.id, (c) => c.notNull())
    .addColumn("status", t.short(16), (c) => c.notNull())
    .addColumn("error", t.json(db))
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addForeignKeyConstraint("courier_message_dispatches_message_fk", ["message_id"], "courier_messages", ["id"], (fk) =>
      fk.onDelete("cascade"))
    .execute();
  await createIndex(db, "courier_message_dispatches", "courier_message_dispatches_message_idx", ["message_id", "created_at"]);
}

export async function down(db: MigrationDb): Promise<void> {
  await dropTable(db, "courier_message_dispatches");
  await dropTable(db, "courier_messages");
}
