import { sql, type RawBuilder } from "kysely";
import { jsonArrayFrom as pgJsonArrayFrom } from "kysely/helpers/postgres";
import { jsonArrayFrom as sqliteJsonArrayFrom } from "kysely/helpers/sqlite";
import type { Database } from "./db.ts";

/**
 * A correlated sub-select that returns the rows of a child table as one JSON array, so a parent and its children load
 * in a single statement (the hot paths, login and whoami, are one indexed read).
 *
 * PostgreSQL and SQLite use Kysely's helpers. Kysely's MySQL helper casts `AS json` and wraps the subquery in a derived
 * table; MariaDB rejects both (a derived table cannot see the outer row), so MySQL and MariaDB get a plain correlated
 * `json_arrayagg(json_object(...))`. Element order is unspecified on every dialect: sort after parsing. The value comes
 * back as text or as parsed JSON depending on the driver: read it with `codec.parseJson`.
 *
 * `table`, `columns` and `outer` are code constants, never user input.
 */
export interface ChildArray {
  table: string;
  columns: readonly string[];
  /** The child's foreign key column. */
  fk: string;
  /** The parent column it refers to, e.g. `identities.id`. */
  outer: string;
}

export function childJsonArray(database: Pick<Database, "db" | "dialect">, child: ChildArray): RawBuilder<unknown> {
  if (database.dialect === "mysql") {
    const pairs = sql.join(child.columns.map((c) => sql`${sql.lit(c)}, ${sql.ref(`ch.${c}`)}`));
    return sql`(select coalesce(json_arrayagg(json_object(${pairs})), '[]') from ${sql.table(child.table)} as ch where ${sql.ref(`ch.${child.fk}`)} = ${sql.ref(child.outer)})`;
  }
  const sub = database.db
    .selectFrom(`${child.table} as ch` as "identities as ch")
    .select(child.columns.map((c) => sql.ref(`ch.${c}`).as(c)))
    .where(sql.ref(`ch.${child.fk}`), "=", sql.ref(child.outer));
  return (database.dialect === "postgres" ? pgJsonArrayFrom(sub) : sqliteJsonArrayFrom(sub)) as RawBuilder<unknown>;
}

/** Sorts parsed child rows by creation time, then id: the order Kratos lists addresses in. */
export const byCreatedThenId = (a: { created_at: string; id: string }, b: { created_at: string; id: string }): number =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
