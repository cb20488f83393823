import { sql } from "kysely";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../persistence/db.ts";
import { codec } from "../persistence/codec.ts";
import { retryOnLockError } from "../persistence/retry.ts";
import type { CourierMessageStatus, DB } from "../persistence/schema.ts";
import { newId } from "../util/ids.ts";

/**
 * Storage of the courier outbox. Every state change is a single statement or a short transaction; nothing here talks
 * to the network. Claiming is the only concurrency-sensitive part:
 * - PostgreSQL, MySQL 8, MariaDB >= 10.6: `SELECT id ... FOR UPDATE SKIP LOCKED LIMIT n` then `UPDATE ... SET
 *   status = 'processing', claimed_until, claim_token` in one transaction, so concurrent workers take disjoint rows
 *   without waiting on each other. Older MariaDB/MySQL: the same without SKIP LOCKED (workers queue on the row locks;
 *   still never the same row twice).
 * - SQLite: one `UPDATE ... WHERE id IN (SELECT ... LIMIT n)`: SQLite has a single writer, the statement is atomic.
 * A row is due when `queued` with `next_attempt_at <= now`, or `processing` with an expired lease (its worker died).
 */
export interface MessageRow {
  id: string;
  type: "email" | "phone";
  channel: string;
  status: CourierMessageStatus;
  template_type: string;
  recipient: string;
  subject: string;
  body: string;
  html_body: string | null;
  template_data: Record<string, unknown>;
  send_count: number;
  next_attempt_at: Date;
  created_at: Date;
  updated_at: Date;
}

export interface DispatchRow {
  id: string;
  message_id: string;
  status: "failed" | "success";
  error: unknown;
  created_at: Date;
  updated_at: Date;
}

export type NewMessage = Pick<MessageRow, "type" | "channel" | "template_type" | "recipient" | "subject" | "body" | "html_body" | "template_data">;

type Row = DB["courier_messages"] extends infer T ? { [K in keyof T]: unknown } : never;

function toMessage(r: Row): MessageRow {
  return {
    id: String(r.id),
    type: r.type === "phone" ? "phone" : "email",
    channel: String(r.channel),
    status: String(r.status) as CourierMessageStatus,
    template_type: String(r.template_type),
    recipient: String(r.recipient),
    subject: String(r.subject),
    body: Buffer.isBuffer(r.body) ? r.body.toString("utf8") : String(r.body),
    html_body: r.html_body === null || r.html_body === undefined ? null : Buffer.isBuffer(r.html_body) ? r.html_body.toString("utf8") : String(r.html_body),
    template_data: codec.parseJson<Record<string, unknown>>(r.template_data) ?? {},
    send_count: codec.toNumber(r.send_count),
    next_attempt_at: codec.toDate(r.next_attempt_at),
    created_at: codec.toDate(r.created_at),
    updated_at: codec.toDate(r.updated_at),
  };
}

export function createMessageRepo(database: Database) {
  const { db, dialect } = database;
  let skipLocked: Promise<boolean> | undefined;
  // MariaDB gained SKIP LOCKED in 10.6; MySQL 8.0 has it. Asked once per process.
  const canSkipLocked = (): Promise<boolean> =>
    (skipLocked ??= (async () => {
      if (dialect === "postgres") return true;
      const r = await sql<{ v: string }>`select version() as v`.execute(db);
      const v = String(r.rows[0]?.v ?? "");
      const m = /^(\d+)\.(\d+)/.exec(v);
      if (!m) return false;
      const [major, minor] = [Number(m[1]), Number(m[2])];
      return /mariadb/i.test(v) ? major > 10 || (major === 10 && minor >= 6) : major >= 8;
    })());

  const due = (nowTs: string) =>
    db.selectFrom("courier_messages").select("id").where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "queued"), eb("next_attempt_at", "<=", nowTs)]),
        eb.and([eb("status", "=", "processing"), eb("claimed_until", "<=", nowTs)]),
      ]));

  return {
    /** Inserts a queued message with `q` (the caller's transaction or the db); returns its id. */
    async insert(q: Kysely<DB> | Transaction<DB>, m: NewMessage, now: Date): Promise<string> {
      const id = newId();
      const ts = codec.ts(now);
      await q.insertInto("courier_messages").values({
        id,
        type: m.type,
        channel: m.channel,
        status: "queued",
        template_type: m.template_type,
        recipient: m.recipient,
        subject: m.subject,
        body: m.body,
        html_body: m.html_body,
        template_data: codec.json(m.template_data),
        send_count: 0,
        next_attempt_at: ts,
        claimed_until: null,
        claim_token: null,
        created_at: ts,
        updated_at: ts,
      }).execute();
      return id;
    },

    /** Claims up to `limit` due messages for `leaseMs`; returns them with the claim token that fences later updates. */
    async claim(now: Date, limit: number, leaseMs: number): Promise<{ token: string; rows: MessageRow[] }> {
      const token = newId();
      const nowTs = codec.ts(now);
      const set = { status: "processing" as const, claimed_until: codec.ts(new Date(now.getTime() + leaseMs)), claim_token: token, updated_at: nowTs };
      if (dialect === "sqlite") {
        await db.updateTable("courier_messages").set(set)
          .where("id", "in", due(nowTs).orderBy("next_attempt_at").limit(limit))
          .execute();
      } else {
        const skip = await canSkipLocked();
        // InnoDB can still pick this transaction as a deadlock victim (its secondary-index locks against another
        // worker's status update); the transaction changed nothing then, so it is run again.
        await retryOnLockError(() => db.transaction().execute(async (trx) => {
          let q = trx.selectFrom("courier_messages").select("id").where((eb) =>
            eb.or([
              eb.and([eb("status", "=", "queued"), eb("next_attempt_at", "<=", nowTs)]),
              eb.and([eb("status", "=", "processing"), eb("claimed_until", "<=", nowTs)]),
            ])).orderBy("next_attempt_at").limit(limit).forUpdate();
          if (skip) q = q.skipLocked();
          const ids = (await q.execute()).map((r) => r.id);
          if (ids.length) await trx.updateTable("courier_messages").set(set).where("id", "in", ids).execute();
        }));
      }
      const rows = await db.selectFrom("courier_messages").selectAll().where("claim_token", "=", token).execute();
      return { token, rows: rows.map((r) => toMessage(r as Row)) };
    },

    /**
     * Records a successful send. Success wins even if the lease was lost meanwhile (the message did go out), so the
     * status update is not fenced by the token; the dispatch row is written in the same transaction.
     */
    async markSent(id: string, now: Date): Promise<void> {
      const ts = codec.ts(now);
      await retryOnLockError(() => db.transaction().execute(async (trx) => {
        await trx.updateTable("courier_messages")
          .set((eb) => ({ status: "sent", send_count: eb("send_count", "+", 1), claimed_until: null, claim_token: null, updated_at: ts }))
          .where("id", "=", id).execute();
        await trx.insertInto("courier_message_dispatches")
          .values({ id: newId(), message_id: id, status: "success", error: null, created_at: ts, updated_at: ts }).execute();
      }));
    },

    /**
     * Records a failed attempt: back to `queued` at `retryAt`, or `abandoned` when `retryAt` is null. The status
     * change only applies while this worker still holds the claim (`token`); the dispatch row is always written.
     */
    async markFailed(id: string, token: string, now: Date, error: Record<string, unknown>, retryAt: Date | null): Promise<void> {
      const ts = codec.ts(now);
      await retryOnLockError(() => db.transaction().execute(async (trx) => {
        await trx.updateTable("courier_messages")
          .set((eb) => ({
            status: retryAt ? "queued" : "abandoned",
            send_count: eb("send_count", "+", 1),
            next_attempt_at: retryAt ? codec.ts(retryAt) : ts,
            claimed_until: null,
            claim_token: null,
            updated_at: ts,
          }))
          .where("id", "=", id).where("claim_token", "=", token).execute();
        await trx.insertInto("courier_message_dispatches")
          .values({ id: newId(), message_id: id, status: "failed", error: codec.json(error), created_at: ts, updated_at: ts }).execute();
      }));
    },

    async get(id: string): Promise<MessageRow | undefined> {
      const r = await db.selectFrom("courier_messages").selectAll().where("id", "=", id).executeTakeFirst();
      return r ? toMessage(r as Row) : undefined;
    },

    /** Newest first, keyset on (created_at, id) after the message `after` (undefined when that id does not exist). */
    async list(opts: { limit: number; after?: string; status?: CourierMessageStatus; recipient?: string }): Promise<MessageRow[] | undefined> {
      let q = db.selectFrom("courier_messages").selectAll();
      if (opts.after) {
        const anchor = await db.selectFrom("courier_messages").select(["id", "created_at"]).where("id", "=", opts.after).executeTakeFirst();
        if (!anchor) return undefined;
        const c = anchor.created_at;
        q = q.where((eb) => eb.or([eb("created_at", "<", c), eb.and([eb("created_at", "=", c), eb("id", "<", anchor.id)])]));
      }
      if (opts.status) q = q.where("status", "=", opts.status);
      if (opts.recipient) q = q.where("recipient", "=", opts.recipient);
      const rows = await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(opts.limit).execute();
      return rows.map((r) => toMessage(r as Row));
    },

    async dispatches(messageIds: string[]): Promise<DispatchRow[]> {
      if (messageIds.length === 0) return [];
      const rows = await db.selectFrom("courier_message_dispatches").selectAll().where("message_id", "in", messageIds)
        .orderBy("created_at").orderBy("id").execute();
      return rows.map((r) => ({
        id: r.id,
        message_id: r.message_id,
        status: r.status,
        error: codec.parseJson<unknown>(r.error),
        created_at: codec.toDate(r.created_at),
        updated_at: codec.toDate(r.updated_at),
      }));
    },
  };
}

export type MessageRepo = ReturnType<typeof createMessageRepo>;
