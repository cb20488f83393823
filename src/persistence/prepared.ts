import { CompiledQuery } from "kysely";
import type { Compilable, Kysely, QueryResult } from "kysely";
import type SQLite from "better-sqlite3";
import type { DB } from "./schema.ts";

/**
 * Statements built and compiled once, for the hot paths (login, registration, flows, throttles). Building a query with
 * Kysely's builder and compiling it costs far more than running a small indexed statement (tens of microseconds of
 * object cloning and freezing per query); a prepared statement only fills in its parameters.
 *
 *   const byId = prepare(db, (p) => db.selectFrom("selfservice_flows").selectAll().where("id", "=", p("id")));
 *   const row = await byId.first({ id });
 *
 * `p(name)` stands for a value given at execution; the same name may appear more than once. Everything else stays as
 * built (constants become fixed parameters). The statement runs on the Kysely instance it was prepared with, or on the
 * executor passed (a transaction). A value missing at execution is a programming error and throws. On SQLite the
 * driver's statement cache (`withStatementCache`) keeps the better-sqlite3 statement, so nothing is re-prepared.
 *
 * SQLite (`runSqliteDirectly`, set up by `createDatabase`): a statement run on the pool while no transaction is open
 * on the connection runs on it at once, as Kysely's driver would run it (same statement, same result shape), without
 * the driver's connection queue and its promises. That is safe because SQLite has one connection and each statement
 * is atomic and synchronous: nothing else can run on the connection meanwhile. While a transaction is open (between
 * its BEGIN and COMMIT), statements on the pool go through Kysely and wait for it, as before; statements on a
 * transaction always do.
 */
export type Param = (name: string) => never;

export interface Prepared<Row> {
  readonly sql: string;
  execute(values: Record<string, unknown>, executor?: Executor): Promise<QueryResult<Row>>;
  /** The first row, or undefined. */
  first(values: Record<string, unknown>, executor?: Executor): Promise<Row | undefined>;
  /** The parameters in statement order (for callers that run the SQL on another connection). */
  parameters(values: Record<string, unknown>): unknown[];
}

export type Executor = Pick<Kysely<DB>, "executeQuery">;

/** Kysely instances on a SQLite connection (see the header): the connection, once Kysely opened it. */
const directSqlite = new WeakMap<object, () => SQLite.Database | undefined>();

/** Lets prepared statements on `db` run directly on its SQLite connection while no transaction is open on it. */
export function runSqliteDirectly(db: Kysely<DB>, connection: () => SQLite.Database | undefined): void {
  directSqlite.set(db, connection);
}

/** The SQLite connection to run on directly, or undefined: not SQLite, a transaction, not opened yet, closed, or a transaction open on it. */
function directConnection(executor: Executor): SQLite.Database | undefined {
  const conn = directSqlite.get(executor)?.();
  return conn && conn.open && !conn.inTransaction ? conn : undefined;
}

const SENTINEL_PREFIX = "\u0000tessera-param:";
const SENTINEL_SUFFIX = "\u0000";

export function prepare<Row>(db: Executor, build: (p: Param) => Compilable<Row>): Prepared<Row> {
  const names = new Set<string>();
  const p: Param = (name) => {
    names.add(name);
    return `${SENTINEL_PREFIX}${name}${SENTINEL_SUFFIX}` as never;
  };
  const compiled = build(p).compile();
  // Each parameter is either a named slot or a constant of the built query.
  const slots: Array<{ name: string } | { value: unknown }> = compiled.parameters.map((v) =>
    typeof v === "string" && v.startsWith(SENTINEL_PREFIX) && v.endsWith(SENTINEL_SUFFIX)
      ? { name: v.slice(SENTINEL_PREFIX.length, -SENTINEL_SUFFIX.length) }
      : { value: v },
  );
  for (const n of names) {
    if (!slots.some((s) => "name" in s && s.name === n)) throw new Error(`prepare: parameter ${n} did not become a statement parameter`);
  }
  const parameters = (values: Record<string, unknown>): unknown[] =>
    slots.map((s) => {
      if (!("name" in s)) return s.value;
      const v = values[s.name];
      if (v === undefined) throw new Error(`prepared statement: no value for ${s.name}`);
      return v;
    });
  // The statement on the direct SQLite connection (prepared on first use there).
  let direct: { conn: SQLite.Database; stmt: SQLite.Statement } | undefined;
  const runDirectly = (conn: SQLite.Database, params: unknown[]): Promise<QueryResult<Row>> => {
    try {
      if (direct?.conn !== conn) direct = { conn, stmt: conn.prepare(compiled.sql) };
      const { stmt } = direct;
      // Exactly what Kysely's SqliteConnection.executeQuery returns.
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(params) as Row[] });
      const { changes, lastInsertRowid } = stmt.run(params);
      return Promise.resolve({ numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  };
  const execute = (values: Record<string, unknown>, executor: Executor = db): Promise<QueryResult<Row>> => {
    const params = parameters(values);
    const conn = directConnection(executor);
    if (conn) return runDirectly(conn, params);
    return executor.executeQuery<Row>(CompiledQuery.raw(compiled.sql, params) as CompiledQuery<Row>);
  };
  return {
    sql: compiled.sql,
    execute,
    async first(values, executor) {
      return (await execute(values, executor)).rows[0];
    },
    parameters,
  };
}
