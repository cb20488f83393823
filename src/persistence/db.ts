import { mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from "kysely";
import type { Dialect as KyselyDialect } from "kysely";
import { createPool } from "mysql2";
import pg from "pg";
import { startCheckpointer, type Checkpointer } from "./checkpointer.ts";
import { parseDsn } from "./dsn.ts";
import { runSqliteDirectly } from "./prepared.ts";
import type { Dialect, ParsedDsn } from "./dsn.ts";
import type { DB } from "./schema.ts";

/**
 * A connected database. `db` is the Kysely instance every repository uses; `dialect` lets the rare dialect-specific
 * statement (and the migrations) choose; `destroy()` closes the pool or the SQLite file and must be awaited on
 * shutdown. Connections are opened lazily: creating a Database never touches the network.
 */
export interface Database {
  db: Kysely<DB>;
  dialect: Dialect;
  destroy(): Promise<void>;
  /**
   * SQLite files only: a second, read-only connection for hot single-statement reads (whoami). WAL lets it read
   * while the main connection writes, so such a read never queues behind a write transaction, and it only ever
   * sees committed rows. Opened on first use; undefined for in-memory databases (a second connection would open a
   * different database), other dialects, or before the file exists.
   */
  readConnection?(): SQLite.Database | undefined;
}

export interface CreateDatabaseOptions {
  /** Base directory for relative SQLite paths (default: process.cwd()). */
  cwd?: string;
  /** PostgreSQL/MySQL pool size (default 10; the DSN's `max_conns` wins). Ignored by SQLite (one connection). */
  poolSize?: number;
  /** Told about errors of idle pooled connections (PostgreSQL), e.g. to log them. They never crash the process. */
  onIdleError?: (e: Error) => void;
}

/**
 * Opens `dsn` (any form `parseDsn` accepts).
 * - SQLite: better-sqlite3 with journal_mode=WAL (readers do not block the writer), synchronous=NORMAL (durable with
 *   WAL across application crashes), foreign_keys=ON (ON DELETE CASCADE), busy_timeout=5000 (a second process, e.g.
 *   `tessera migrate`, waits instead of failing). The parent directory is created when missing. `?mode=ro` opens it
 *   read-only and `?mode=rw` requires the file to exist (as in Kratos's go-sqlite3 DSNs); `_fk` and others are ignored.
 * - PostgreSQL: a `pg` Pool. Honors `sslmode` (disable/allow/prefer: no TLS; require: TLS without verification;
 *   verify-ca/verify-full: verified, `sslrootcert` read from disk), `connect_timeout` (seconds), `application_name`,
 *   `search_path`, `max_conns`.
 * - MySQL/MariaDB: a `mysql2` pool, utf8mb4 with binary collation (so identifiers compare exactly as on the other
 *   dialects), UTC session time zone, strict SQL mode (an over-long value fails instead of being truncated, as on
 *   PostgreSQL). Honors `max_conns`, `tls` (true/skip-verify), `timeout` (Go duration like `10s`).
 */
export function createDatabase(dsn: string, opts: CreateDatabaseOptions = {}): Database {
  const parsed = parseDsn(dsn, { cwd: opts.cwd });
  const poolSize = poolSizeFor(parsed, opts.poolSize ?? 10);
  const checkpointers: Checkpointer[] = [];
  let sqlite: SQLite.Database | undefined;
  const dialect = kyselyDialect(parsed, poolSize, opts.onIdleError, (c) => checkpointers.push(c), (conn) => (sqlite = conn));
  const db = new Kysely<DB>({ dialect });
  // SQLite: prepared statements on the pool run on the one connection directly while no transaction holds it.
  if (parsed.dialect === "sqlite") runSqliteDirectly(db, () => sqlite);
  let destroyed: Promise<void> | undefined;
  let reader: SQLite.Database | undefined;
  const file = parsed.dialect === "sqlite" && parsed.filename && parsed.filename !== ":memory:" ? parsed.filename : undefined;
  return {
    db,
    dialect: parsed.dialect,
    destroy: () =>
      (destroyed ??= (async () => {
        reader?.close();
        reader = undefined;
        await Promise.all(checkpointers.splice(0).map((c) => c.stop()));
        await db.destroy();
      })()),
    readConnection: file
      ? () => {
          if (destroyed) return undefined;
          if (!reader) {
            try {
              reader = withStatementCache(new SQLite(file, { readonly: true, fileMustExist: true }));
              reader.pragma("busy_timeout = 5000");
            } catch {
              return undefined;
            }
          }
          return reader;
        }
      : undefined,
  };
}

const MYSQL_SQL_MODE = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

function poolSizeFor(p: ParsedDsn, fallback: number): number {
  const n = Number(p.params.max_conns);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

function kyselyDialect(
  p: ParsedDsn,
  poolSize: number,
  onIdleError?: (e: Error) => void,
  onCheckpointer?: (c: Checkpointer) => void,
  onSqlite?: (conn: SQLite.Database) => void,
): KyselyDialect {
  switch (p.dialect) {
    case "sqlite":
      return new SqliteDialect({
        database: async () => {
          const conn = openSqlite(p, onCheckpointer);
          onSqlite?.(conn);
          return conn;
        },
      });
    case "postgres":
    {
      const pool = new pg.Pool(pgConfig(p, poolSize));
      // An idle client losing its connection (server restart, failover, pg_terminate_backend) emits 'error' on the
      // pool; unhandled, that would crash the process. The pool drops the client and the next query reconnects.
      pool.on("error", (e) => onIdleError?.(e));
      return new PostgresDialect({ pool });
    }
    case "mysql":
      return new MysqlDialect({
        pool: createPool({
          host: p.host,
          port: p.port,
          socketPath: p.socket,
          user: p.user,
          password: p.password,
          database: p.database,
          connectionLimit: poolSize,
          charset: "UTF8MB4_BIN",
          timezone: "Z",
          dateStrings: true,
          supportBigNumbers: true,
          connectTimeout: goDurationMs(p.params.timeout) ?? 10_000,
          ssl: mysqlTls(p.params.tls),
        }),
        onCreateConnection: async (conn) => {
          await conn.executeQuery(CompiledQuery.raw(`SET SESSION sql_mode = '${MYSQL_SQL_MODE}'`));
          await conn.executeQuery(CompiledQuery.raw("SET time_zone = '+00:00'"));
        },
      });
  }
}

function openSqlite(p: ParsedDsn, onCheckpointer?: (c: Checkpointer) => void): SQLite.Database {
  const filename = p.filename ?? ":memory:";
  const mode = p.params.mode;
  if (filename !== ":memory:" && mode !== "ro") mkdirSync(dirname(filename), { recursive: true });
  const conn = new SQLite(filename, { readonly: mode === "ro", fileMustExist: mode === "ro" || mode === "rw" });
  if (mode !== "ro") conn.pragma("journal_mode = WAL");
  conn.pragma("synchronous = NORMAL");
  conn.pragma("foreign_keys = ON");
  conn.pragma("busy_timeout = 5000");
  // Files: checkpoints run in a worker thread (checkpointer.ts), never inside a commit on the event loop.
  if (filename !== ":memory:" && mode !== "ro" && onCheckpointer) {
    conn.pragma("wal_autocheckpoint = 0");
    onCheckpointer(
      startCheckpointer(filename, () => {
        if (conn.open) conn.pragma("wal_autocheckpoint = 1000");
      }),
    );
  }
  return withStatementCache(conn);
}

/**
 * Kysely's SQLite driver calls `prepare(sql)` for every query; preparing costs several times more than running a
 * small indexed read. better-sqlite3 statements are reusable and the driver is synchronous, so statements are kept by
 * SQL text (bounded, least recently used first out). Streaming (`iterate`) is not used by Tessera.
 */
const STATEMENT_CACHE_SIZE = 500;
export function withStatementCache(conn: SQLite.Database, size = STATEMENT_CACHE_SIZE): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = conn.prepare.bind(conn);
  conn.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= size) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, stmt);
    return stmt;
  }) as SQLite.Database["prepare"];
  return conn;
}

function pgConfig(p: ParsedDsn, poolSize: number): pg.PoolConfig {
  const cfg: pg.PoolConfig = {
    host: p.host,
    port: p.port,
    user: p.user,
    password: p.password,
    database: p.database,
    max: poolSize,
    connectionTimeoutMillis: p.params.connect_timeout ? Number(p.params.connect_timeout) * 1000 : 10_000,
  };
  if (p.params.application_name) cfg.application_name = p.params.application_name;
  if (p.params.search_path) cfg.options = `-c search_path=${p.params.search_path}`;
  switch (p.params.sslmode) {
    case undefined:
    case "disable":
    case "allow":
    case "prefer":
      break;
    case "require":
      cfg.ssl = { rejectUnauthorized: false };
      break;
    case "verify-ca":
    case "verify-full":
      cfg.ssl = {
        rejectUnauthorized: true,
        ...(p.params.sslrootcert ? { ca: readFileSync(p.params.sslrootcert, "utf8") } : {}),
        ...(p.params.sslmode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
      };
      break;
    default:
      throw new Error(`postgres dsn: unknown sslmode "${p.params.sslmode}"`);
  }
  return cfg;
}

function mysqlTls(tls: string | undefined): { rejectUnauthorized: boolean } | undefined {
  if (tls === undefined || tls === "false") return undefined;
  if (tls === "skip-verify" || tls === "preferred") return { rejectUnauthorized: false };
  return { rejectUnauthorized: true };
}

/** Go durations as used in Kratos DSNs (`10s`, `500ms`, `1m`); undefined when absent or malformed. */
function goDurationMs(v: string | undefined): number | undefined {
  const m = v === undefined ? null : /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}
