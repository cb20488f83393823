import { sql, type CreateTableBuilder } from "kysely";
import { createIndex, createTable, dialectOf, dropTable, t, type MigrationDb } from "./helpers.ts";

/**
 * Drops `sessions.logout_token_hash` and its unique constraint `sessions_logout_token_hash_uq` (`20261203000002`).
 * Nothing reads the column: logout recomputes the logout token from the session token (`logoutTokenFor`) and compares
 * it in constant time. Its unique index cost one random B-tree page per session insert, and every login a hash.
 *
 * - PostgreSQL, MySQL/MariaDB: `DROP COLUMN`; the unique constraint and its index go with their only column (MySQL and
 *   MariaDB drop an index once all its columns are gone). One statement, skipped when the column is already gone.
 * - SQLite cannot drop a column under a UNIQUE constraint: the table is rebuilt as sqlite.org documents ("Making Other
 *   Kinds Of Table Schema Changes"): `sessions_new` with the same columns and constraints minus this one, the rows
 *   copied, `sessions` dropped, `sessions_new` renamed, `sessions_identity_idx` (and any index or trigger an operator
 *   added on `sessions`) recreated. No table references `sessions` by foreign key, so the drop with `foreign_keys=ON`
 *   deletes nothing elsewhere (that pragma cannot change in a transaction). Kysely's migrator runs SQLite migrations
 *   outside any transaction, so the rebuild takes its own: a failure at any step (e.g. a view over `sessions`, which
 *   the rename re-checks) leaves `sessions` as it was.
 *
 * `down` puts the column back NOT NULL UNIQUE. The tokens are gone, so each row gets `dropped-<id>`: unique, and never
 * equal to a real digest (64 hex characters). The release before this one writes the column but never reads it.
 *
 * Older releases insert the column: stop them before running this migration (docs/databases.md, "Upgrading").
 * Idempotent on every dialect: each step checks the schema first, so a half-applied MySQL run can be re-run.
 */
const COLUMN = "logout_token_hash";
const UNIQUE = "sessions_logout_token_hash_uq";

/** The columns every version of the table has, in table order (`logout_token_hash` came after `token_hash`). */
const BEFORE = ["id", "identity_id", "token_hash"];
const AFTER = ["active", "aal", "authenticated_at", "issued_at", "expires_at", "authentication_methods", "devices", "created_at", "updated_at"];

async function hasColumn(db: MigrationDb): Promise<boolean> {
  const dialect = dialectOf(db);
  const found =
    dialect === "sqlite"
      ? await sql<{ n: number }>`select count(*) as n from pragma_table_info('sessions') where name = ${COLUMN}`.execute(db)
      : await sql<{ n: number }>`select count(*) as n from information_schema.columns
          where table_schema = ${dialect === "mysql" ? sql`database()` : sql`current_schema()`}
            and table_name = 'sessions' and column_name = ${COLUMN}`.execute(db);
  return Number(found.rows[0]?.n ?? 0) > 0;
}

/** PostgreSQL only: whether the unique constraint exists (ADD CONSTRAINT has no IF NOT EXISTS). */
async function hasPgConstraint(db: MigrationDb): Promise<boolean> {
  const found = await sql<{ n: number }>`select count(*) as n from information_schema.table_constraints
    where table_schema = current_schema() and table_name = 'sessions' and constraint_name = ${UNIQUE}`.execute(db);
  return Number(found.rows[0]?.n ?? 0) > 0;
}

/** SQLite: `sessions` exactly as `20261203000002` created it, under `name`, with or without the column. */
async function createSessionsTable(db: MigrationDb, name: string, withColumn: boolean): Promise<void> {
  let b: CreateTableBuilder<string, string> = createTable(db, name)
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("token_hash", t.hash, (c) => c.notNull());
  if (withColumn) b = b.addColumn(COLUMN, t.hash, (c) => c.notNull());
  b = b
    .addColumn("active", t.bool, (c) => c.notNull())
    .addColumn("aal", t.short(8), (c) => c.notNull())
    .addColumn("authenticated_at", t.ts, (c) => c.notNull())
    .addColumn("issued_at", t.ts, (c) => c.notNull())
    .addColumn("expires_at", t.ts, (c) => c.notNull())
    .addColumn("authentication_methods", t.json(db), (c) => c.notNull())
    .addColumn("devices", t.json(db), (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addUniqueConstraint("sessions_token_hash_uq", ["token_hash"]);
  if (withColumn) b = b.addUniqueConstraint(UNIQUE, [COLUMN]);
  await b
    .addForeignKeyConstraint("sessions_identity_fk", ["identity_id"], "identities", ["id"], (fk) => fk.onDelete("cascade"))
    .execute();
}

/** SQLite: rebuilds `sessions` with or without the column, in one transaction (`dropped-<id>` fills it back in). */
async function rebuildSqlite(db: MigrationDb, withColumn: boolean): Promise<void> {
  const run = async (trx: MigrationDb): Promise<void> => {
    // Indexes and triggers on `sessions` go with the drop: remember them (ours is `sessions_identity_idx`; an
    // operator may have added others) and recreate them on the new table. One that uses the column fails the rebuild.
    const extras = (await sql<{ sql: string }>`select sql from sqlite_master
      where tbl_name = 'sessions' and type in ('index', 'trigger') and sql is not null order by type, name`.execute(trx)).rows;
    await dropTable(trx, "sessions_new");
    await createSessionsTable(trx, "sessions_new", withColumn);
    const kept = [...BEFORE, ...AFTER];
    const into = withColumn ? [...BEFORE, COLUMN, ...AFTER] : kept;
    const from = withColumn ? [...BEFORE.map((c) => sql.ref(c)), sql`'dropped-' || id`, ...AFTER.map((c) => sql.ref(c))] : kept.map((c) => sql.ref(c));
    await sql`insert into sessions_new (${sql.join(into.map((c) => sql.ref(c)))}) select ${sql.join(from)} from sessions`.execute(trx);
    await sql`drop table sessions`.execute(trx);
    await sql`alter table sessions_new rename to sessions`.execute(trx);
    for (const e of extras) await sql.raw(e.sql).execute(trx);
    await createIndex(trx, "sessions", "sessions_identity_idx", ["identity_id"]);
  };
  if (db.isTransaction) await run(db);
  else await db.transaction().execute(run);
}

export async function up(db: MigrationDb): Promise<void> {
  if (!(await hasColumn(db))) return;
  if (dialectOf(db) === "sqlite") return rebuildSqlite(db, false);
  await sql`alter table sessions drop column ${sql.ref(COLUMN)}`.execute(db);
}

export async function down(db: MigrationDb): Promise<void> {
  const dialect = dialectOf(db);
  if (dialect === "sqlite") {
    if (!(await hasColumn(db))) await rebuildSqlite(db, true);
    return;
  }
  // One statement per step, each skipped or harmless when already done (MySQL commits every DDL statement).
  if (!(await hasColumn(db))) {
    await sql`alter table sessions add column ${sql.ref(COLUMN)} ${sql.raw(t.hash)} null${dialect === "mysql" ? sql` after token_hash` : sql``}`.execute(db);
  }
  const filler = dialect === "mysql" ? sql`concat('dropped-', id)` : sql`'dropped-' || id`;
  await sql`update sessions set ${sql.ref(COLUMN)} = ${filler} where ${sql.ref(COLUMN)} is null`.execute(db);
  if (dialect === "mysql") {
    await sql`alter table sessions modify ${sql.ref(COLUMN)} ${sql.raw(t.hash)} not null`.execute(db);
    await createIndex(db, "sessions", UNIQUE, [COLUMN], { unique: true });
  } else {
    await sql`alter table sessions alter column ${sql.ref(COLUMN)} set not null`.execute(db);
    if (!(await hasPgConstraint(db))) await sql`alter table sessions add constraint ${sql.id(UNIQUE)} unique (${sql.ref(COLUMN)})`.execute(db);
  }
}
