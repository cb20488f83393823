/**
 * Reads an identity schema document from its configured URL: `file://` (absolute `file:///x`, or relative
 * `file://./x` / `file://x` against the config's directory), `base64://<standard or url-safe base64>`, `http(s)://`.
 * Throws a plain Error with a short reason; the registry wraps it with the schema id.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";

/** Refuse documents larger than this: an identity schema is a few KiB. */
export const MAX_SCHEMA_BYTES = 1024 * 1024;
const HTTP_TIMEOUT_MS = 10_000;

export function resolveFilePath(url: string, baseDir: string): string {
  const rest = url.startsWith("file://") ? url.slice("file://".length) : url;
  const path = decodeURIComponent(rest);
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

async function readLocal(path: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_SCHEMA_BYTES) throw new Error(`${path} is larger than ${MAX_SCHEMA_BYTES} bytes`);
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function readHttp(url: string, fetchImpl: typeof fetch): Promise<string> {
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), redirect: "follow" });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new Error(`cannot fetch ${url}: ${cause ?? (e as Error).message}`);
  }
  if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status}`);
  const body = await res.text();
  if (body.length > MAX_SCHEMA_BYTES) throw new Error(`${url} is larger than ${MAX_SCHEMA_BYTES} bytes`);
  return body;
}

/** The raw text of the document at `url`. */
export async function readSchemaSource(url: string, baseDir: string, fetchImpl: typeof fetch = fetch): Promise<string> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "file":
      return readLocal(resolveFilePath(url, baseDir));
    case "base64": {
      const data = url.slice("base64://".length).trim();
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) throw new Error("base64:// URL holds characters outside base64");
      return Buffer.from(data, "base64").toString("utf8");
    }
    case "http":
    case "https":
      return readHttp(url, fetchImpl);
    case undefined:
      // A bare path: Kratos wants URLs, but a path is unambiguous enough to accept.
      return readLocal(resolveFilePath(url, baseDir));
    default:
      throw new Error(`unsupported URL scheme "${scheme}://" (use file://, base64:// or http(s)://)`);
  }
}
