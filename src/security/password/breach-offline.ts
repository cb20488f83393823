/**
 * Offline breach check against a Pwned Passwords corpus on disk (as written by the official downloader), used instead
 * of the online service when `haveibeenpwned_file` is set. Two layouts:
 *
 * - one file of `FULLHASH:COUNT` lines (uppercase SHA-1 hex, CRLF or LF), sorted by hash (tens of GB);
 * - a directory of per-prefix files named `<5 HEX>.txt` (uppercase), each holding the raw range body `SUFFIX:COUNT`
 *   sorted by suffix.
 *
 * Both are searched by binary search over byte offsets with positioned `FileHandle.read` calls (about log2(size/45)
 * reads of 256 bytes, ~30 for the full corpus), never loading the file. A missing or unreadable file is an error
 * (`ok: false`), not "not breached": an incomplete download must not silently pass every password.
 */
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { BreachResult, BreachSource, PolicyLog } from "./breach-source.ts";

const CHUNK = 256;
const MAX_LINE = 4096;
const NL = 0x0a;

interface Line {
  text: string;
  /** Offset just past the line's newline (or the file size). */
  next: number;
}

async function readAt(fh: FileHandle, pos: number, size: number): Promise<Buffer> {
  const len = Math.min(CHUNK, size - pos);
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** The first complete line starting at an offset >= pos (pos 0 is a line start), or null past the last line. */
async function lineAtOrAfter(fh: FileHandle, pos: number, size: number): Promise<Line | null> {
  let start = pos;
  if (pos > 0) {
    // The line starts at pos when byte pos-1 is a newline; otherwise after the next newline.
    let off = pos - 1;
    for (;;) {
      if (off >= size) return null;
      const buf = await readAt(fh, off, size);
      if (buf.length === 0) return null;
      const i = buf.indexOf(NL);
      if (i >= 0) {
        start = off + i + 1;
        break;
      }
      off += buf.length;
      if (off - pos > MAX_LINE) throw new Error(`corrupt corpus: no line break near offset ${pos}`);
    }
  }
  if (start >= size) return null;
  const parts: Buffer[] = [];
  let off = start;
  for (;;) {
    const buf = await readAt(fh, off, size);
    if (buf.length === 0) break;
    const i = buf.indexOf(NL);
    if (i >= 0) {
      parts.push(buf.subarray(0, i));
      off += i + 1;
      return { text: Buffer.concat(parts).toString("latin1").replace(/\r$/, ""), next: off };
    }
    parts.push(buf);
    off += buf.length;
    if (off - start > MAX_LINE) throw new Error(`corrupt corpus: line at offset ${start} is too long`);
  }
  return { text: Buffer.concat(parts).toString("latin1").replace(/\r$/, ""), next: size };
}

/**
 * Binary search for `key` (uppercase hex) in a file of lines `KEY:COUNT` sorted by key. Returns the count, 1 for a
 * matching line without a count, or 0 when absent. Invariant: a line holding the key, if any, starts in [lo, hi).
 */
export async function searchSortedFile(fh: FileHandle, size: number, key: string): Promise<number> {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const line = await lineAtOrAfter(fh, mid, size);
    if (!line) {
      hi = mid;
      continue;
    }
    const colon = line.text.indexOf(":");
    const lineKey = (colon < 0 ? line.text : line.text.slice(0, colon)).trim().toUpperCase();
    if (lineKey === key) {
      if (colon < 0) return 1;
      const n = Number.parseInt(line.text.slice(colon + 1), 10);
      return Number.isFinite(n) && n >= 0 ? n : 1;
    }
    if (lineKey < key) lo = line.next;
    else hi = mid; // no line starts in [mid, line start), so the key's line starts before mid
  }
  return 0;
}

async function searchPath(path: string, key: string): Promise<number> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    return await searchSortedFile(fh, size, key);
  } finally {
    await fh.close();
  }
}

/** A breach source over a downloaded corpus: `path` is the sorted single file or the per-prefix directory. */
export function createOfflineBreachSource(path: string, log?: PolicyLog): BreachSource {
  return {
    async lookup(sha1Hex: string): Promise<BreachResult> {
      const hash = sha1Hex.toUpperCase();
      try {
        const st = await stat(path);
        const count = st.isDirectory()
          ? await searchPath(join(path, `${hash.slice(0, 5)}.txt`), hash.slice(5))
          : await searchPath(path, hash);
        return { ok: true, count };
      } catch (err) {
        const error = `offline breach corpus unreadable: ${(err as Error).message}`;
        log?.("password_policy.breach_check_failed", { file: path, error });
        return { ok: false, error };
      }
    },
  };
}
