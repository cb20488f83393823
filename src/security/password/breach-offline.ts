/**
 * Offline breach check against a Pwned Passwords corpus on disk (as written by the official downloader), used instead
 * of the online service when `haveibeenpwned_file` is set. Two layouts:
 *
 * - one file of `FULLHASH:COUNT` lines (uppercase SHA-1 hex, CRLF or LF), sorted by hash (tens of GB);
 * - a directory of per-prefix files named `<5 HEX>.txt` (uppercase), each holding the raw range body `SUFFIX:COUNT`
 *   sorted by suffix.
 *
 * Both are searched by binary search over byte offsets with positioned `FileHandle.read` calls (256-byte probes, about
 * log2(size/8 KiB), ~22 for the full corpus, then one 8 KiB read scanned in memory), never loading the file. A missing or unreadable file is an error
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
  // One read usually holds both the end of the line containing pos-1 and the whole next line.
  let off = pos > 0 ? pos - 1 : 0;
  let buf = await readAt(fh, off, size);
  let start = 0; // index in buf where the wanted line starts
  if (pos > 0) {
    for (;;) {
      if (buf.length === 0) return null;
      const i = buf.indexOf(NL);
      if (i >= 0) {
        start = i + 1;
        break;
      }
      off += buf.length;
      if (off - pos > MAX_LINE) throw new Error(`corrupt corpus: no line break near offset ${pos}`);
      buf = await readAt(fh, off, size);
    }
  }
  if (off + start >= size) return null;
  for (;;) {
    const i = buf.indexOf(NL, start);
    if (i >= 0) {
      return { text: buf.subarray(start, i).toString("latin1").replace(/\r$/, ""), next: off + i + 1 };
    }
    if (off + buf.length >= size) {
      return { text: buf.subarray(start).toString("latin1").replace(/\r$/, ""), next: size };
    }
    if (buf.length - start > MAX_LINE) throw new Error(`corrupt corpus: line at offset ${off + start} is too long`);
    // The line continues past this chunk: append the next one.
    buf = Buffer.concat([buf, await readAt(fh, off + buf.length, size)]);
  }
}

/** Below this many bytes the remaining range is read at once and scanned (saves the last ~8 probes). */
const SCAN_WINDOW = 8192;

function parseLine(text: string): { lineKey: string; count: number } {
  const colon = text.indexOf(":");
  const lineKey = (colon < 0 ? text : text.slice(0, colon)).trim().toUpperCase();
  if (colon < 0) return { lineKey, count: 1 };
  const n = Number.parseInt(text.slice(colon + 1), 10);
  return { lineKey, count: Number.isFinite(n) && n >= 0 ? n : 1 };
}

/** Linear scan of the lines starting in [lo, hi); lo is a line start. */
async function scanWindow(fh: FileHandle, lo: number, hi: number, size: number, key: string): Promise<number> {
  const end = Math.min(size, hi + MAX_LINE);
  const buf = Buffer.alloc(end - lo);
  const { bytesRead } = await fh.read(buf, 0, buf.length, lo);
  let start = 0;
  while (start < bytesRead && lo + start < hi) {
    let nl = buf.indexOf(NL, start);
    if (nl < 0 || nl > bytesRead) nl = bytesRead;
    const { lineKey, count } = parseLine(buf.subarray(start, nl).toString("latin1").replace(/\r$/, ""));
    if (lineKey === key) return count;
    if (lineKey > key) return 0;
    start = nl + 1;
  }
  return 0;
}

/**
 * Binary search for `key` (uppercase hex) in a file of lines `KEY:COUNT` sorted by key. Returns the count, 1 for a
 * matching line without a count, or 0 when absent. Invariant: a line holding the key, if any, starts in [lo, hi).
 */
export async function searchSortedFile(fh: FileHandle, size: number, key: string): Promise<number> {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    if (hi - lo <= SCAN_WINDOW) return scanWindow(fh, lo, hi, size, key);
    const mid = lo + Math.floor((hi - lo) / 2);
    const line = await lineAtOrAfter(fh, mid, size);
    if (!line) {
      hi = mid;
      continue;
    }
    const { lineKey, count } = parseLine(line.text);
    if (lineKey === key) return count;
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
