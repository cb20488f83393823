import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createPool } from "mysql2/promise";
import pg from "pg";
import { formatDsn, parseDsn } from "../../src/persistence/dsn.ts";

/**
 * The databases a contract or persistence test runs against: SQLite always, PostgreSQL when `TEST_POSTGRES_DSN`
 * is set, MySQL/MariaDB when `TEST_MYSQL_DSN` is set. The env DSNs name a server and an account allowed to create
 * databases (e.g. `postgres://postgres@127.0.0.1:5432/postgres`, `mysql://root@127.0.0.1:3306/test`).
 *
 * Each `dsn()` call gives a brand-new, empty database (a temp SQLite file, or `CREATE DATABASE tessera_t_<random>`),
 * so parallel test files and reruns never see each other's rows; `drop()` removes it (terminating leftover
 * connections first on PostgreSQL). Call `drop()` after destroying your own pool, e.g. in `after()`.
 */
export type TestDatabaseName = "sqlite" | "postgres" | "mysql";

export interface TestDatabase {
  name: TestDatabaseName;
  dsn(): Promise<{ dsn: string; drop(): Promise<void> }>;
}

const ENV: Record<Exclude<TestDatabaseName, "sqlite">, string> = {
  postgres: "TEST_POSTGRES_DSN",
  mysql: "TEST_MYSQL_DSN",
};

export function testDatabases(): TestDatabase[] {
  const out: TestDatabase[] = [{ name: "sqlite", dsn: sqliteDsn }];
  const pgDsn = process.env.TEST_POSTGRES_DSN;
  if (pgDsn) out.push({ name: "postgres", dsn: () => postgresDsn(pgDsn) });
  const myDsn = process.env.TEST_MYSQL_DSN;
  if (myDsn) out.push({ name: "mysql", dsn: () => mysqlDsn(myDsn) });
  return out;
}

/**
 * `describe(`${title} [${name}]`)` once per available database; for a missing one a skipped test whose reason reads
 * `skipped postgres: TEST_POSTGRES_DSN not set`, so a run without the servers says so visibly.
 */
export function describeEachDatabase(title: string, fn: (ctx: TestDatabase) => void): void {
  const available = testDatabases();
  for (const db of available) describe(`${title} [${db.name}]`, () => fn(db));
  for (const name of ["postgres", "mysql"] as const) {
    if (!available.some((d) => d.name === name)) {
      test(`${title} [${name}]`, { skip: `skipped ${name}: ${ENV[name]} not set` }, () => {});
    }
  }
}

const uniqueName = (): string => `tessera_t_${randomBytes(6).toString("hex")}`;

async function sqliteDsn(): Promise<{ dsn: string; drop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-db-"));
  return {
    dsn: `sqlite://${join(dir, "test.db")}?_fk=true`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresDsn(serverDsn: string): Promise<{ dsn: string; drop(): Promise<void> }> {
  const server = parseDsn(serverDsn);
  const name = uniqueName();
  const admin = () =>
    new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: server.database ?? "postgres" });
  const c = admin();
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return {
    dsn: formatDsn({ ...server, database: name, params: { ...server.params, sslmode: server.params.sslmode ?? "disable" } }),
    drop: async () => {
      const d = admin();
      await d.connect();
      try {
        await d.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
        await d.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await d.end();
      }
    },
  };
}

async function mysqlDsn(serverDsn: string): Promise<{ dsn: string; drop(): Promise<void> }> {
  const server = parseDsn(serverDsn);
  const name = uniqueName();
  const admin = async (stmt: string): Promise<void> => {
    const pool = createPool({
      host: server.host,
      port: server.port,
      socketPath: server.socket,
      user: server.user,
      password: server.password,
      connectionLimit: 1,
    });
    try {
      await pool.query(stmt);
    } finally {
      await pool.end();
    }
  };
  await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  return {
    dsn: formatDsn({ ...server, database: name }),
    drop: async () => {
      await admin(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}
