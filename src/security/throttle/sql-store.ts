import { sql } from "kysely";
import type { Compilable, RawBuilder } from "kysely";
import type { Database } from "../../persistence/db.ts";
import { prepare, type Prepared } from "../../persistence/prepared.ts";
import { codec } from "../../persistence/codec.ts";
import { retryOnLockError } from "../../persistence/retry.ts";
import type { ThrottleState, ThrottleStore } from "./store.ts";

/**
 * `ThrottleStore` on the application database (table `throttles`, migration `20261203000004_throttles`).
 *
 * Atomicity comes from one statement per increment:
 * - SQLite and PostgreSQL: `INSERT .. ON CONFLICT (throttle_key) DO UPDATE .. RETURNING` (SQLite >= 3.35). The SET
 *   expressions all see the row as it was before the statement.
 * - MySQL/MariaDB (no RETURNING): `INSERT .. ON DUPLICATE KEY UPDATE` then `SELECT .. FOR UPDATE` in the same
 *   transaction, so the row read back is ours and no other writer touches it in between. MySQL evaluates the SET
 *   list left to right with later items seeing earlier assignments; the order below relies on that. Concurrent
 *   inserts of a brand-new key can deadlock on InnoDB's duplicate-key locks: such transactions are retried.
 * Expired rows are reset by the next write and ignored by reads; `prune()` deletes them, and the store runs it by
 * itself at most once per `pruneEveryMs` (default 10 minutes) after a write, without waiting for it.
 */
export interface SqlThrottleStoreOptions {
  pruneEveryMs?: number;
  /** Told about background prune failures. */
  onError?: (e: unknown) => void;
}

const MAX_RETRIES = 10;

export function createSqlThrottleStore(database: Database, opts: SqlThrottleStoreOptions = {}): ThrottleStore {
  const db = database.db;
  const mysql = database.dialect === "mysql";
  const pruneEvery = opts.pruneEveryMs ?? 10 * 60_000;
  let lastPrune = 0;

  const toState = (r: { count: unknown; last_at: unknown; expires_at: unknown; locked_until: unknown }): ThrottleState => ({
    count: codec.toNumber(r.count),
    last_at: codec.toNumber(r.last_at),
    expires_at: codec.toNumber(r.expires_at),
    locked_until: r.locked_until === null || r.locked_until === undefined ? null : codec.toNumber(r.locked_until),
  });

  // Every statement is built and compiled once (persistence/prepared.ts); raw SQL is compiled for this dialect.
  const raw = <R>(r: RawBuilder<R>): Compilable<R> => ({ compile: () => r.compile(db) });

  const readForUpdate = prepare(db, (p) =>
    raw(sql<RowShape>`select count, last_at, expires_at, locked_until from throttles where throttle_key = ${p("key")} for update`),
  );

  const failPortable = prepare(db, (p) =>
    raw(sql<RowShape>`insert into throttles (throttle_key, count, last_at, expires_at, locked_until)
        values (${p("key")}, 1, ${p("now")}, ${p("exp")}, null)
        on conflict (throttle_key) do update set
          count = case when throttles.expires_at <= excluded.last_at then 1 else throttles.count + 1 end,
          locked_until = case when throttles.expires_at <= excluded.last_at then null else throttles.locked_until end,
          expires_at = case when throttles.expires_at > excluded.last_at and throttles.locked_until is not null
            and throttles.locked_until > excluded.expires_at then throttles.locked_until else excluded.expires_at end,
          last_at = excluded.last_at
        returning count, last_at, expires_at, locked_until`),
  );
  // Left to right: count and locked_until read the old expires_at; expires_at reads the new locked_until.
  const failMysql = prepare(db, (p) =>
    raw(sql`insert into throttles (throttle_key, count, last_at, expires_at, locked_until)
        values (${p("key")}, 1, ${p("now")}, ${p("exp")}, null)
        on duplicate key update
          count = if(expires_at <= values(last_at), 1, count + 1),
          locked_until = if(expires_at <= values(last_at), null, locked_until),
          expires_at = if(locked_until is not null and locked_until > values(expires_at), locked_until, values(expires_at)),
          last_at = values(last_at)`),
  );

  const hitPortable = prepare(db, (p) =>
    raw(sql<RowShape>`insert into throttles (throttle_key, count, last_at, expires_at, locked_until)
        values (${p("key")}, 1, ${p("now")}, ${p("exp")}, null)
        on conflict (throttle_key) do update set
          count = case when throttles.expires_at <= excluded.last_at then 1 else throttles.count + 1 end,
          expires_at = case when throttles.expires_at <= excluded.last_at then excluded.expires_at else throttles.expires_at end,
          last_at = excluded.last_at
        returning count, last_at, expires_at, locked_until`),
  );
  // Left to right: count and expires_at both read the old expires_at (expires_at is assigned after count).
  const hitMysql = prepare(db, (p) =>
    raw(sql`insert into throttles (throttle_key, count, last_at, expires_at, locked_until)
        values (${p("key")}, 1, ${p("now")}, ${p("exp")}, null)
        on duplicate key update
          count = if(expires_at <= values(last_at), 1, count + 1),
          expires_at = if(expires_at <= values(last_at), values(expires_at), expires_at),
          last_at = values(last_at)`),
  );

  const getLive = prepare(db, (p) =>
    db
      .selectFrom("throttles")
      .select(["count", "last_at", "expires_at", "locked_until"])
      .where("throttle_key", "=", p("key"))
      .where("expires_at", ">", p("now")),
  );
  const getLivePair = prepare(db, (p) =>
    db
      .selectFrom("throttles")
      .select(["throttle_key", "count", "last_at", "expires_at", "locked_until"])
      .where("throttle_key", "in", [p("a"), p("b")])
      .where("expires_at", ">", p("now")),
  );
  const lockExpires = (p: (name: string) => never) => sql<number>`case when expires_at < ${p("until")} then ${p("until")} else expires_at end`;
  const lockFirst = prepare(db, (p) =>
    db.updateTable("throttles").set({ expires_at: lockExpires(p), locked_until: p("until") }).where("throttle_key", "=", p("key")).where("locked_until", "is", null),
  );
  const lockLater = prepare(db, (p) =>
    db.updateTable("throttles").set({ expires_at: lockExpires(p), locked_until: p("until") }).where("throttle_key", "=", p("key")).where("locked_until", "<", p("until")),
  );
  const claimLast = prepare(db, (p) =>
    db.updateTable("throttles").set({ last_at: p("now") }).where("throttle_key", "=", p("key")).where("last_at", "=", p("expected")),
  );
  const deleteKey = prepare(db, (p) => db.deleteFrom("throttles").where("throttle_key", "=", p("key")));
  const deleteExpired = prepare(db, (p) => db.deleteFrom("throttles").where("expires_at", "<=", p("now")));

  /** Runs an upsert atomically and returns the row after it. */
  async function upsert(values: { key: string; now: number; exp: number }, portable: Prepared<RowShape>, mysqlUpsert: Prepared<unknown>): Promise<ThrottleState> {
    maybePrune(values.now);
    if (!mysql) {
      const row = await portable.first(values);
      if (!row) throw new Error("throttle upsert returned no row");
      return toState(row);
    }
    return retryOnLockError(() => db.transaction().execute(async (trx) => {
      await mysqlUpsert.execute(values, trx);
      const row = await readForUpdate.first({ key: values.key }, trx);
      if (!row) throw new Error("throttle upsert lost its row");
      return toState(row);
    }), MAX_RETRIES);
  }

  function maybePrune(now: number): void {
    if (now - lastPrune < pruneEvery) return;
    lastPrune = now;
    prune(now).catch((e: unknown) => opts.onError?.(e));
  }

  async function prune(now: number): Promise<number> {
    const r = await deleteExpired.execute({ now });
    return Number(r.numAffectedRows ?? 0);
  }

  const affected = (r: { numAffectedRows?: bigint }): number => Number(r.numAffectedRows ?? 0);

  return {
    fail(key, now, ttlMs) {
      return upsert({ key, now, exp: now + ttlMs }, failPortable, failMysql);
    },

    async get(key, now) {
      const row = await getLive.first({ key, now });
      return row ? toState(row) : null;
    },

    async getMany(keys, now) {
      const found = new Map<string, ThrottleState>();
      // Two keys per statement (the policy reads an identifier and an IP together).
      for (let i = 0; i < keys.length; i += 2) {
        const a = keys[i];
        const b = i + 1 < keys.length ? keys[i + 1] : a;
        for (const r of (await getLivePair.execute({ a, b, now })).rows) found.set(String(r.throttle_key), toState(r));
      }
      return keys.map((k) => found.get(k) ?? null);
    },

    async lock(key, until) {
      if (affected(await lockFirst.execute({ key, until })) > 0) return true;
      await lockLater.execute({ key, until });
      return false;
    },

    async claim(key, expectedLastAt, now) {
      return affected(await claimLast.execute({ key, expected: expectedLastAt, now })) > 0;
    },

    async reset(key) {
      await deleteKey.execute({ key });
    },

    async hit(key, now, windowMs) {
      return (await upsert({ key, now, exp: now + windowMs }, hitPortable, hitMysql)).count;
    },

    prune,
  };
}

interface RowShape {
  count: unknown;
  last_at: unknown;
  expires_at: unknown;
  locked_until: unknown;
}
