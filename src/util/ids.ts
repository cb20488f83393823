import { randomFillSync, randomUUID } from "node:crypto";

/** A random UUID v4, generated in the app (never by the database: MySQL has no RETURNING). */
export const newId = (): string => randomUUID();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === "string" && UUID_RE.test(s);

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * CSPRNG bytes drawn in blocks (one `randomFillSync` serves about a hundred tokens, as `randomUUID` does for UUIDs).
 * Every byte is handed out once and zeroed when taken, so no two tokens share entropy and the block never holds bytes
 * that already went into a token. Each thread (worker) has its own block.
 */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let poolPos = POOL_SIZE;

function randomByte(): number {
  if (poolPos === POOL_SIZE) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const b = pool[poolPos];
  pool[poolPos++] = 0;
  return b;
}

/**
 * `length` characters from [A-Za-z0-9] chosen by a CSPRNG without modulo bias (rejection sampling: bytes 248..255
 * are discarded, so each of the 62 characters is equally likely). 32 characters carry about 190 bits.
 */
export function randomAlphanumeric(length: number): string {
  let out = "";
  while (out.length < length) {
    const b = randomByte();
    if (b < 248) out += ALNUM[b % 62];
  }
  return out;
}
