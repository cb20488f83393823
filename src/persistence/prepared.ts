import { CompiledQuery } from "kysely";
import type { Compilable, Kysely, QueryResult } from "kysely";
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
  const execute = (values: Record<string, unknown>, executor: Executor = db): Promise<QueryResult<Row>> =>
    executor.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters(values)) as CompiledQuery<Row>);
  return {
    sql: compiled.sql,
    execute,
    async first(values, executor) {
      return (await execute(values, executor)).rows[0];
    },
    parameters,
  };
}
