import { isAbsolute, resolve } from "node:path";

/**
 * Parsing of Kratos-style `dsn` values into connection settings.
 *
 * Accepted forms (the same strings a Kratos deployment already uses):
 * - `memory`, `sqlite://:memory:`, `sqlite://file::memory:?...`          -> in-memory SQLite
 * - `sqlite:///abs/path.db`, `sqlite://./rel.db`, `sqlite://rel.db`        -> SQLite file (relative to `cwd`)
 * - `postgres://user:pass@host:5432/db?sslmode=disable`, `postgresql://...`
 * - `mysql://user:pass@host:3306/db` and Go's driver form `mysql://user:pass@tcp(host:3306)/db?parseTime=true`
 *   (also `unix(/path/to.sock)`)
 * Query parameters are kept in `params`; unknown ones (Kratos's `_fk`, `mode=rwc`, `parseTime`, `max_idle_conns`...)
 * are tolerated. User and password are percent-decoded; a raw `@` inside the password is tolerated too.
 *
 * Errors are plain `Error`s whose message never contains the password (DSNs end up in logs).
 */
export type Dialect = "sqlite" | "postgres" | "mysql";

export interface ParsedDsn {
  dialect: Dialect;
  /** SQLite: absolute file path, or ":memory:". */
  filename?: string;
  host?: string;
  port?: number;
  /** MySQL Go form `unix(/path)`: the socket path (then `host`/`port` are unset). */
  socket?: string;
  user?: string;
  password?: string;
  database?: string;
  /** Query parameters, decoded. Last one wins on repeats. */
  params: Record<string, string>;
}

const SUPPORTED = "expected memory, sqlite://PATH, postgres://..., postgresql://... or mysql://...";

export function parseDsn(dsn: string, opts: { cwd?: string } = {}): ParsedDsn {
  const value = dsn.trim();
  if (value === "") throw new Error(`dsn is empty: ${SUPPORTED}`);
  if (value === "memory") return { dialect: "sqlite", filename: ":memory:", params: {} };
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(value);
  if (!m) throw new Error(`dsn has no scheme: ${SUPPORTED}`);
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case "sqlite":
    case "sqlite3":
      return parseSqlite(rest, opts.cwd ?? process.cwd());
    case "postgres":
    case "postgresql":
      return parseNetwork("postgres", rest, 5432);
    case "mysql":
      return parseNetwork("mysql", rest, 3306);
    default:
      throw new Error(`dsn scheme "${scheme}" is not supported: ${SUPPORTED}`);
  }
}

function parseSqlite(rest: string, cwd: string): ParsedDsn {
  const q = rest.indexOf("?");
  const path = q === -1 ? rest : rest.slice(0, q);
  const params = parseQuery(q === -1 ? "" : rest.slice(q + 1));
  if (path === ":memory:" || path === "file::memory:" || params.mode === "memory") {
    return { dialect: "sqlite", filename: ":memory:", params };
  }
  let file = safeDecode(path.startsWith("file:") ? path.slice(5) : path);
  if (file === "") throw new Error("sqlite dsn names no file: use sqlite:///abs/path.db, sqlite://./rel.db or memory");
  if (!isAbsolute(file)) file = resolve(cwd, file);
  return { dialect: "sqlite", filename: file, params };
}

// host, host:port, [v6]:port, tcp(host:port), unix(/sock) followed by '/', '?' or the end.
const HOST_RE = /^(?:tcp\([^()]*\)|unix\([^()]*\)|\[[0-9a-fA-F:.%a-zA-Z]+\](?::\d+)?|[A-Za-z0-9._~%-]*(?::\d+)?)(?=[/?]|$)/;

function parseNetwork(dialect: "postgres" | "mysql", rest: string, defaultPort: number): ParsedDsn {
  // The userinfo ends at the first '@' that is followed by something shaped like a host. Scanning from the left keeps
  // an '@' in the query string out of the userinfo; a raw '@' in the password is skipped because what follows it is
  // not a host followed by '/', '?' or the end.
  let userinfo: string | undefined;
  let after = rest;
  for (let i = rest.indexOf("@"); i !== -1; i = rest.indexOf("@", i + 1)) {
    if (HOST_RE.test(rest.slice(i + 1))) {
      userinfo = rest.slice(0, i);
      after = rest.slice(i + 1);
      break;
    }
  }
  if (userinfo === undefined && rest.includes("@")) {
    throw new Error(`${dialect} dsn has an unparseable host part (percent-encode special characters in the password)`);
  }
  const hostMatch = HOST_RE.exec(after);
  if (!hostMatch) throw new Error(`${dialect} dsn has an invalid host`);
  const hostPart = hostMatch[0];
  let tail = after.slice(hostPart.length);
  const q = tail.indexOf("?");
  const params = parseQuery(q === -1 ? "" : tail.slice(q + 1));
  tail = q === -1 ? tail : tail.slice(0, q);
  const database = tail.startsWith("/") && tail.length > 1 ? safeDecode(tail.slice(1)) : undefined;
  if (database !== undefined && database.includes("/")) throw new Error(`${dialect} dsn database name must not contain '/'`);

  const out: ParsedDsn = { dialect, params };
  if (userinfo !== undefined) {
    const c = userinfo.indexOf(":");
    const user = safeDecode(c === -1 ? userinfo : userinfo.slice(0, c));
    if (user !== "") out.user = user;
    if (c !== -1) out.password = safeDecode(userinfo.slice(c + 1));
  }
  if (database !== undefined) out.database = database;

  let hostport = hostPart;
  const unix = /^unix\(([^()]*)\)$/.exec(hostPart);
  if (unix) {
    if (dialect !== "mysql") throw new Error("unix(...) addresses are only accepted in mysql dsns");
    out.socket = unix[1];
    return out;
  }
  const tcp = /^tcp\(([^()]*)\)$/.exec(hostPart);
  if (tcp) {
    if (dialect !== "mysql") throw new Error("tcp(...) addresses are only accepted in mysql dsns");
    hostport = tcp[1];
  }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostport);
  let host: string;
  let port: string | undefined;
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else {
    const c = hostport.lastIndexOf(":");
    host = c === -1 ? hostport : hostport.slice(0, c);
    port = c === -1 ? undefined : hostport.slice(c + 1);
  }
  host = safeDecode(host);
  out.host = host === "" ? "localhost" : host;
  const n = port === undefined || port === "" ? defaultPort : Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${dialect} dsn has an invalid port`);
  out.port = n;
  return out;
}

function parseQuery(query: string): Record<string, string> {
  const params: Record<string, string> = {};
  if (query === "") return params;
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return params;
}

/** Percent-decodes, but keeps the raw text when it is not valid percent-encoding (a password like `100%sure`). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Builds a URL-form DSN back from its parts (percent-encoding user, password and database). */
export function formatDsn(p: ParsedDsn): string {
  const query = Object.keys(p.params).length ? `?${new URLSearchParams(p.params).toString()}` : "";
  if (p.dialect === "sqlite") {
    return p.filename === ":memory:" ? "memory" : `sqlite://${p.filename ?? ""}${query}`;
  }
  const auth =
    p.user !== undefined
      ? `${encodeURIComponent(p.user)}${p.password !== undefined ? `:${encodeURIComponent(p.password)}` : ""}@`
      : "";
  const host = p.socket !== undefined ? `unix(${p.socket})` : `${p.host?.includes(":") ? `[${p.host}]` : (p.host ?? "localhost")}:${p.port ?? ""}`;
  const db = p.database !== undefined ? `/${encodeURIComponent(p.database)}` : "";
  return `${p.dialect}://${auth}${host}${db}${query}`;
}

/** The DSN with its password replaced by `***`, for logs and error messages. Never throws. */
export function redactDsn(dsn: string): string {
  try {
    const p = parseDsn(dsn, { cwd: "/" });
    if (p.dialect === "sqlite" || p.password === undefined) return dsn.trim();
    return formatDsn({ ...p, password: "***" });
  } catch {
    // Unparseable: hide everything up to the last '@', where a password could be.
    return dsn.replace(/:\/\/.*@/s, "://***@");
  }
}
