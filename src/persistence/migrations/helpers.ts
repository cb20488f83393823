import { MysqlIntrospector, PostgresIntrospector, SqliteIntrospector, sql } from "kysely";
import type { CreateTableBuilder, Kysely, RawBuilder } from "kysely";
import type { Dialect } from "../dsn.ts";

/**
 * Column types and DDL helpers shared by every migration, so one migration file serves SQLite, PostgreSQL and
 * MySQL/MariaDB. Migrations are frozen in time: they take `Kysely<unknown>` (never the app's `DB` types, which move
 * on) and only use the schema builder and `sql`.
 *
 * Helpers are idempotent (`if not exists` / `if exists`, or an information_schema check on MySQL, which has neither
 * transactional DDL nor `CREATE INDEX IF NOT EXISTS`): a migration that died half-way on MySQL can simply be re-run.
 */
export type MigrationDb = Kysely<unknown>;

/** The dialect behind a Kysely instance, read from its (public) introspector class. */
export function dialectOf(db: MigrationDb): Dialect {
  const i = db.introspection;
  if (i instanceof MysqlIntrospector) return "mysql";
  if (i instanceof PostgresIntrospector) return "postgres";
  if (i instanceof SqliteIntrospector) return "sqlite";
  throw new Error("unsupported database dialect");
}

/** Canonical column types (see `codec.ts`). */
export const t = {
  /** App-generated UUID. */
  id: "varchar(36)",
  /** ISO-8601 UTC timestamp with milliseconds: "2026-12-03T19:16:44.123Z" (24 chars; 32 leaves room). */
  ts: "varchar(32)",
  /** Boolean as 0/1. */
  bool: "smallint",
  /** An indexed identifier-like string (MySQL cannot index TEXT). */
  ident: "varchar(255)",
  /** An indexed hex hash (SHA-256 = 64 hex chars). */
  hash: "varchar(64)",
  short: (n: 8 | 16 | 32 | 64) => `varchar(${n})` as const,
  /** Unbounded text (URLs...). */
  text: "text",
  /** JSON stored as text; MySQL's TEXT stops at 64 KiB, so LONGTEXT there. */
  json: (db: MigrationDb): "text" | RawBuilder<unknown> => (dialectOf(db) === "mysql" ? sql`longtext` : "text"),
} as const;

/**
 * `CREATE TABLE IF NOT EXISTS`, with InnoDB, utf8mb4 and binary collation on MySQL: identifiers then compare exactly
 * (case- and accent-sensitive) as they do on PostgreSQL and SQLite, so the unique (type, identifier) index means the
 * same thing on every dialect.
 */
export function createTable(db: MigrationDb, name: string): CreateTableBuilder<string, never> {
  const b = db.schema.createTable(name).ifNotExists();
  return dialectOf(db) === "mysql" ? b.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`) : b;
}

/** Creates an index unless it exists. Index names are global per schema on PostgreSQL: prefix them with the table. */
export async function createIndex(
  db: MigrationDb,
  table: string,
  name: string,
  columns: string[],
  opts: { unique?: boolean } = {},
): Promise<void> {
  const dialect = dialectOf(db);
  if (dialect === "mysql") {
    const found = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
    if (Number(found.rows[0]?.n ?? 0) > 0) return;
  }
  let b = db.schema.createIndex(name).on(table).columns(columns);
  if (opts.unique) b = b.unique();
  if (dialect !== "mysql") b = b.ifNotExists();
  await b.execute();
}

/** Drops an index if it exists (MySQL: checked in information_schema, which has no `DROP INDEX IF EXISTS`). */
export async function dropIndex(db: MigrationDb, table: string, name: string): Promise<void> {
  if (dialectOf(db) === "mysql") {
    const found = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
    if (Number(found.rows[0]?.n ?? 0) > 0) await sql`drop index ${sql.id(name)} on ${sql.table(table)}`.execute(db);
  } else {
    await db.schema.dropIndex(name).ifExists().execute();
  }
}

/** `DROP TABLE IF EXISTS`. Drop children before parents (foreign keys). */
export async function dropTable(db: MigrationDb, name: string): Promise<void> {
  await db.schema.dropTable(name).ifExists().execute();
}
