import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Migrator, sql } from "kysely";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { createSessionRepo } from "../session/session-repo.ts";
import { hashToken, newSessionToken, type SessionRecord } from "../session/session.ts";
import { codec } from "./codec.ts";
import { createDatabase, type Database } from "./db.ts";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrator } from "./migrate.ts";
import type { MigrationDb } from "./migrations/helpers.ts";
import { migrations } from "./migrations/index.ts";
import * as dropLogoutTokenHash from "./migrations/20261213000001_drop_session_logout_token_hash.ts";

/**
 * `20261213000001_drop_session_logout_token_hash` on every database: sessions written by the previous release (with
 * the column) survive `up`, `down` and `up` again with every other column intact and are still found by token hash;
 * `down` restores the table exactly (SQLite: the same `CREATE TABLE` text); every step can be re-run; on SQLite a
 * rebuild that fails half-way leaves the table as it was, and the foreign keys check clean.
 */
const NAME = "20261213000001_drop_session_logout_token_hash";
const KEPT = ["id", "identity_id", "token_hash", "active", "aal", "authenticated_at", "issued_at", "expires_at", "authentication_methods", "devices", "created_at", "updated_at"];

const I1 = "00000000-0000-4000-8000-0000000000a1";
const I2 = "00000000-0000-4000-8000-0000000000a2";

interface OldSession {
  id: string;
  identity_id: string;
  token_hash: string;
  logout_token_hash: string;
  active: number;
  aal: string;
  authenticated_at: string;
  issued_at: string;
  expires_at: string;
  authentication_methods: string;
  devices: string;
  created_at: string;
  updated_at: string;
}

function oldSession(id: string, identity: string, k: number): OldSession {
  const at = (ms: number) => new Date(Date.parse("2026-12-10T08:00:00.000Z") + k * 60_000 + ms).toISOString();
  return {
    id,
    identity_id: identity,
    token_hash: hashToken(newSessionToken()),
    logout_token_hash: hashToken(newSessionToken()),
    active: k % 2 ? 0 : 1,
    aal: k === 2 ? "aal2" : "aal1",
    authenticated_at: at(0),
    issued_at: at(1),
    expires_at: at(86_400_000),
    authentication_methods: codec.json([{ method: "password", aal: "aal1", completed_at: at(0) }]),
    devices: codec.json([{ id: `d-${k}`, ip_address: "2001:db8::1", user_agent: `Mozilla/5.0 "ü" ${k}`, location: "" }]),
    created_at: at(2),
    updated_at: at(3),
  };
}

/** An insert as the previous release made it (with `logout_token_hash`). */
async function insertOld(database: Database, s: OldSession): Promise<void> {
  const cols = Object.keys(s);
  await sql`insert into sessions (${sql.join(cols.map((c) => sql.ref(c)))}) values (${sql.join(Object.values(s))})`.execute(database.db);
}

/** Every column but `logout_token_hash`, ordered by id. */
async function keptRows(database: Database): Promise<Record<string, unknown>[]> {
  return (await sql<Record<string, unknown>>`select ${sql.join(KEPT.map((c) => sql.ref(c)))} from sessions order by id`.execute(database.db)).rows;
}

async function column(database: Database): Promise<Array<{ id: string; v: unknown }>> {
  return (await sql<{ id: string; v: unknown }>`select id, logout_token_hash as v from sessions order by id`.execute(database.db)).rows;
}

/** What the database says `sessions` is: columns, constraints and indexes (SQLite: the schema text itself). */
async function schemaOf(database: Database): Promise<unknown> {
  const { db } = database;
  if (database.dialect === "sqlite") {
    return (await sql`select type, name, sql from sqlite_master where tbl_name = 'sessions' order by name`.execute(db)).rows;
  }
  if (database.dialect === "postgres") {
    return {
      // By name: PostgreSQL appends a column re-added by `down` at the end.
      columns: (await sql`select column_name as name, data_type as type, character_maximum_length as len, is_nullable as nullable, column_default as dflt
        from information_schema.columns where table_schema = current_schema() and table_name = 'sessions' order by column_name`.execute(db)).rows,
      constraints: (await sql`select conname as name, contype as type, pg_get_constraintdef(oid) as def
        from pg_constraint where conrelid = 'sessions'::regclass order by conname`.execute(db)).rows,
      indexes: (await sql`select indexname as name, indexdef as def from pg_indexes
        where schemaname = current_schema() and tablename = 'sessions' order by indexname`.execute(db)).rows,
    };
  }
  return {
    columns: (await sql`select column_name as name, ordinal_position as pos, column_type as type, is_nullable as nullable, collation_name as coll, column_default as dflt
      from information_schema.columns where table_schema = database() and table_name = 'sessions' order by ordinal_position`.execute(db)).rows,
    indexes: (await sql`select index_name as name, non_unique as nu, seq_in_index as seq, column_name as col
      from information_schema.statistics where table_schema = database() and table_name = 'sessions' order by index_name, seq_in_index`.execute(db)).rows,
    foreignKeys: (await sql`select constraint_name as name, referenced_table_name as ref, delete_rule as del
      from information_schema.referential_constraints where constraint_schema = database() and table_name = 'sessions' order by constraint_name`.execute(db)).rows,
  };
}

const asRecord = (s: OldSession): SessionRecord => ({
  id: s.id,
  identity_id: s.identity_id,
  active: s.active === 1,
  aal: s.aal as SessionRecord["aal"],
  authenticated_at: s.authenticated_at,
  issued_at: s.issued_at,
  expires_at: s.expires_at,
  authentication_methods: JSON.parse(s.authentication_methods) as SessionRecord["authentication_methods"],
  devices: JSON.parse(s.devices) as SessionRecord["devices"],
});

describeEachDatabase(`migration ${NAME}`, (ctx) => {
  let database: Database;
  let drop: () => Promise<void>;
  let original: unknown;
  const old = [oldSession("00000000-0000-4000-8000-0000000000b1", I1, 0), oldSession("00000000-0000-4000-8000-0000000000b2", I1, 1), oldSession("00000000-0000-4000-8000-0000000000b3", I2, 2)];
  let before0: Record<string, unknown>[];

  before(async () => {
    const d = await ctx.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn, { poolSize: 2 });
    // The schema of the release before: every migration up to this one, through the same bookkeeping tables.
    const previous = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < NAME));
    const res = await new Migrator({
      db: database.db,
      provider: { getMigrations: async () => previous },
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
      nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    }).migrateToLatest();
    assert.equal(res.error, undefined);
    assert.deepEqual(await migrator(database).pending(), [NAME]);
    const now = codec.ts(new Date());
    for (const id of [I1, I2]) {
      await database.db.insertInto("identities").values({ id, schema_id: "default", state: "active", traits: codec.json({ email: `${id}@x.org` }), created_at: now, updated_at: now }).execute();
    }
    for (const s of old) await insertOld(database, s);
    original = await schemaOf(database);
    before0 = await keptRows(database);
    assert.equal(before0.length, 3);
  });
  after(async () => {
    await database?.destroy();
    await drop?.();
  });

  async function foreignKeysClean(): Promise<void> {
    if (database.dialect !== "sqlite") return;
    assert.deepEqual((await sql`pragma foreign_key_check`.execute(database.db)).rows, [], "foreign_key_check is clean");
    assert.deepEqual((await sql`pragma integrity_check`.execute(database.db)).rows, [{ integrity_check: "ok" }]);
    assert.deepEqual((await sql`pragma foreign_keys`.execute(database.db)).rows, [{ foreign_keys: 1 }], "foreign keys still on");
    const leftover = await sql`select name from sqlite_master where name = 'sessions_new'`.execute(database.db);
    assert.deepEqual(leftover.rows, [], "no sessions_new left behind");
  }

  /** Every session written before the migration is found by its token hash, with every field as written. */
  async function foundByTokenHash(): Promise<void> {
    const repo = createSessionRepo(database);
    for (const s of old) {
      assert.deepEqual(await repo.getByTokenHash(s.token_hash), asRecord(s), `session ${s.id}`);
      const found = await repo.findByTokenHash(s.token_hash);
      assert.equal(found?.session.id, s.id);
      assert.equal(found?.identity.id, s.identity_id);
    }
  }

  test("up drops the column and its unique index; every session stays, found by token hash", async () => {
    assert.deepEqual(await migrator(database).up(), [NAME]);
    assert.deepEqual(await migrator(database).pending(), []);
    assert.deepEqual(await keptRows(database), before0, "every other column intact");
    await foundByTokenHash();
    await foreignKeysClean();

    const after = JSON.stringify(await schemaOf(database));
    assert.ok(!after.includes("logout_token_hash"), `column and index gone: ${after}`);
    assert.ok(after.includes("sessions_token_hash_uq") && after.includes("sessions_identity_idx") && /sessions_identity_fk|foreign key|FOREIGN KEY/.test(after), after);
    if (database.dialect === "sqlite") {
      const text = (await sql<{ sql: string }>`select sql from sqlite_master where name = 'sessions'`.execute(database.db)).rows[0].sql;
      const want = String((original as Array<{ name: string; sql: string }>).find((r) => r.name === "sessions")!.sql)
        .replace(`"logout_token_hash" varchar(64) not null, `, "")
        .replace(`constraint "sessions_logout_token_hash_uq" unique ("logout_token_hash"), `, "");
      assert.equal(text, want, "the table as 20261203000002 made it, minus the column");
    }

    // The new release's insert; the old one's fails (stop older instances before migrating).
    const repo = createSessionRepo(database);
    const fresh = oldSession("00000000-0000-4000-8000-0000000000c1", I1, 3);
    await repo.insert(asRecord(fresh), fresh.token_hash, fresh.created_at);
    assert.deepEqual(await repo.getByTokenHash(fresh.token_hash), asRecord(fresh));
    await assert.rejects(insertOld(database, oldSession("00000000-0000-4000-8000-0000000000c2", I1, 4)));
    // Constraints still hold: unique token hash, foreign key, cascade.
    const dup = await repo.insert(asRecord({ ...fresh, id: "00000000-0000-4000-8000-0000000000c3" }), fresh.token_hash, fresh.created_at).then(() => null, (e: unknown) => e);
    assert.ok(codec.isUniqueViolation(dup), `token hash unique: ${String(dup)}`);
    const orphan = oldSession("00000000-0000-4000-8000-0000000000c4", "no-such-identity", 5);
    const fk = await repo.insert(asRecord(orphan), orphan.token_hash, orphan.created_at).then(() => null, (e: unknown) => e);
    assert.ok(codec.isForeignKeyViolation(fk), `foreign key enforced: ${String(fk)}`);
    await database.db.deleteFrom("sessions").where("id", "=", fresh.id).execute();
    await foreignKeysClean();
  });

  test("down restores the column NOT NULL UNIQUE, filled with dropped-<id>; up again keeps every session", async () => {
    assert.equal(await migrator(database).down(), NAME);
    assert.deepEqual(await schemaOf(database), original, "the table exactly as before");
    assert.deepEqual(await keptRows(database), before0);
    assert.deepEqual(await column(database), old.map((s) => ({ id: s.id, v: `dropped-${s.id}` })));
    await foreignKeysClean();
    // The previous release works again: its insert needs the column and the column is unique.
    const prev = oldSession("00000000-0000-4000-8000-0000000000d1", I2, 6);
    await insertOld(database, prev);
    const dup = await insertOld(database, { ...oldSession("00000000-0000-4000-8000-0000000000d2", I2, 7), logout_token_hash: prev.logout_token_hash }).then(() => null, (e: unknown) => e);
    assert.ok(codec.isUniqueViolation(dup), `logout token hash unique again: ${String(dup)}`);
    const repo = createSessionRepo(database);
    const fresh = oldSession("00000000-0000-4000-8000-0000000000d3", I2, 8);
    await assert.rejects(repo.insert(asRecord(fresh), fresh.token_hash, fresh.created_at), "NOT NULL again");
    await database.db.deleteFrom("sessions").where("id", "=", prev.id).execute();

    assert.deepEqual(await migrator(database).up(), [NAME]);
    assert.deepEqual(await keptRows(database), before0);
    await foundByTokenHash();
    await foreignKeysClean();
  });

  test("every step can be re-run: up twice, down twice, and a down interrupted after its first statement", async () => {
    const db = database.db as unknown as MigrationDb;
    await dropLogoutTokenHash.up(db);
    assert.deepEqual(await keptRows(database), before0);
    if (database.dialect !== "sqlite") {
      // MySQL commits each DDL statement: a down that died after adding the column (nullable, not yet filled).
      await sql`alter table sessions add column logout_token_hash varchar(64) null${database.dialect === "mysql" ? sql` after token_hash` : sql``}`.execute(db);
    }
    await dropLogoutTokenHash.down(db);
    await dropLogoutTokenHash.down(db);
    assert.deepEqual(await schemaOf(database), original);
    assert.deepEqual(await column(database), old.map((s) => ({ id: s.id, v: `dropped-${s.id}` })));
    await dropLogoutTokenHash.up(db);
    await dropLogoutTokenHash.up(db);
    assert.deepEqual(await keptRows(database), before0);
    await foundByTokenHash();
    await foreignKeysClean();
    assert.deepEqual(await migrator(database).pending(), []);
  });

  if (ctx.name !== "sqlite") return;

  test("sqlite: a rebuild that fails half-way leaves sessions as it was", async () => {
    const m = migrator(database);
    assert.equal(await m.down(), NAME);
    // A view over sessions makes the rename fail after `sessions` was dropped inside the rebuild's transaction.
    await sql`create view sessions_logout_v as select id, logout_token_hash from sessions`.execute(database.db);
    await assert.rejects(m.up(), new RegExp(`could not apply migration ${NAME}`));
    await sql`drop view sessions_logout_v`.execute(database.db);
    assert.deepEqual(await schemaOf(database), original, "sessions untouched");
    assert.deepEqual(await keptRows(database), before0);
    assert.deepEqual(await column(database), old.map((s) => ({ id: s.id, v: `dropped-${s.id}` })));
    assert.deepEqual(await m.pending(), [NAME]);
    await foreignKeysClean();
    assert.deepEqual(await m.up(), [NAME]);
    await foundByTokenHash();
    await foreignKeysClean();
  });

  test("sqlite: indexes and triggers an operator added on sessions survive the rebuild both ways", async () => {
    const m = migrator(database);
    const { db } = database;
    await sql`create index sessions_ops_expires_idx on sessions (expires_at)`.execute(db);
    await sql`create table ops_log (session_id varchar(36))`.execute(db);
    await sql`create trigger sessions_ops_trg after delete on sessions begin insert into ops_log values (old.id); end`.execute(db);
    const extras = async () => (await sql`select type, name, sql from sqlite_master where name in ('sessions_ops_expires_idx', 'sessions_ops_trg') order by name`.execute(db)).rows;
    const made = await extras();
    assert.equal(made.length, 2);
    assert.equal(await m.down(), NAME);
    assert.deepEqual(await extras(), made);
    assert.deepEqual(await keptRows(database), before0);
    // One that uses the dropped column cannot be recreated: the rebuild fails and changes nothing.
    await sql`create index sessions_ops_logout_idx on sessions (logout_token_hash)`.execute(db);
    await assert.rejects(m.up(), new RegExp(`could not apply migration ${NAME}`));
    assert.deepEqual(await column(database), old.map((s) => ({ id: s.id, v: `dropped-${s.id}` })));
    await sql`drop index sessions_ops_logout_idx`.execute(db);
    assert.deepEqual(await m.up(), [NAME]);
    assert.deepEqual(await extras(), made);
    assert.deepEqual(await keptRows(database), before0);
    await foreignKeysClean();
    // The trigger fires on the rebuilt table (and did not fire for the rebuild's own drop: deletes by DROP TABLE don't).
    assert.deepEqual((await sql`select session_id from ops_log`.execute(db)).rows, []);
    await database.db.deleteFrom("sessions").where("id", "=", old[0].id).execute();
    assert.deepEqual((await sql`select session_id from ops_log`.execute(db)).rows, [{ session_id: old[0].id }]);
    await sql`drop trigger sessions_ops_trg`.execute(db);
    await sql`drop index sessions_ops_expires_idx`.execute(db);
  });
});
