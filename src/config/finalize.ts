/**
 * The steps after validation: unit conversion driven by the schema's custom formats, the fallbacks Kratos computes in
 * code rather than in its schema, file URL resolution, the secrets rule, and the deep freeze.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseByteSize, parseDuration } from "./config.ts";
import { isObject } from "./env.ts";
import type { JsonObject } from "./env.ts";

/** Replaces, in place, every value whose schema format is `go-duration` (-> ms) or `byte-size` (-> bytes). */
export function convertUnits(data: unknown, node: JsonObject): unknown {
  if (typeof data === "string" && node.format === "go-duration") return parseDuration(data);
  if ((typeof data === "string" || typeof data === "number") && node.format === "byte-size") return parseByteSize(data);
  if (Array.isArray(data) && isObject(node.items)) {
    for (let i = 0; i < data.length; i++) data[i] = convertUnits(data[i], node.items);
  } else if (isObject(data) && isObject(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) {
      if (Object.hasOwn(data, key) && isObject(child)) data[key] = convertUnits(data[key], child);
    }
  }
  return data;
}

/** `http://<host>:<port>/`, with wildcard or empty hosts replaced by 127.0.0.1 (a URL must name a reachable host). */
export function deriveBaseUrl(host: string, port: number): string {
  const h = host === "" || host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  const literal = h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
  return `http://${literal}:${port}/`;
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * Resolves a schema URL the way Kratos loads it: `file://` followed by a path; a relative path (`file://./x.json`,
 * `file://x.json`) is relative to the working directory. Returns an absolute `file:///` URL; other schemes unchanged.
 */
export function resolveFileUrl(url: string, cwd: string): string {
  if (!url.startsWith("file://")) return url;
  const rest = url.slice("file://".length);
  if (rest.startsWith("/")) return url;
  const [path, query = ""] = rest.split(/(?=[?#])/, 2);
  return pathToFileURL(resolve(cwd, decodeURIComponent(path))).href + query;
}

/** Fills fallbacks Kratos computes in code, in place. Requires defaults and unit conversion to have run. */
export function applyComputedDefaults(c: JsonObject, cwd: string): void {
  const serve = c.serve as Record<"public" | "admin", JsonObject>;
  for (const side of ["public", "admin"] as const) {
    const s = serve[side];
    s.base_url = typeof s.base_url === "string" ? withTrailingSlash(s.base_url) : deriveBaseUrl(String(s.host), Number(s.port));
  }
  const cookies = c.cookies as JsonObject;
  const session = c.session as JsonObject & { cookie: JsonObject };
  session.cookie.same_site ??= cookies.same_site;
  session.cookie.path ??= cookies.path;
  if (session.cookie.domain === undefined && cookies.domain !== undefined) session.cookie.domain = cookies.domain;
  session.earliest_possible_extend ??= session.lifespan;
  const identity = c.identity as { schemas: { url: string }[] };
  for (const s of identity.schemas) s.url = resolveFileUrl(s.url, cwd);
}

/**
 * The data directory: the directory of a SQLite database file named by the DSN, else `./data`, against `cwd`.
 * `sqlite://./data/tessera.db` -> `./data`; `memory`, `sqlite://:memory:`, postgres and mysql DSNs -> `./data`.
 */
export function dataDirFromDsn(dsn: string, cwd: string): string {
  const m = /^sqlite3?:\/\/(.*)$/.exec(dsn);
  if (m) {
    let path = m[1].split("?")[0];
    if (path.startsWith("file:")) path = path.slice("file:".length);
    if (path !== "" && !path.includes(":memory:") && path !== "memory") {
      return dirname(isAbsolute(path) ? path : resolve(cwd, path));
    }
  }
  return resolve(cwd, "data");
}

/**
 * In dev mode, reads `<dataDir>/secret` or creates it (32 random bytes, hex, mode 0600) so sessions survive restarts;
 * returns the secret. Kratos instead draws a new random secret per process.
 */
export async function devSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, "secret");
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 16) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = randomBytes(32).toString("hex");
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Freezes an object graph (plain objects and arrays) and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
