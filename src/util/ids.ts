import { randomFillSync } from "node:crypto";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A new id: a UUID version 7 (RFC 9562), generated in the app (never by the database: MySQL has no RETURNING).
 * The first 48 bits are the Unix time in milliseconds, then the version, 12 random bits, the variant and 62 random
 * bits from the CSPRNG: 74 random bits, so ids stay unguessable, and ids made later sort later.
 *
 * Why not version 4 (Kratos's choice; any UUID is wire-compatible): every table is keyed by its id and most carry an
 * `identity_id` index, and a random key lands on a random B-tree page, so each insert dirtied one more page per such
 * index (SQLite writes each to the WAL at commit, InnoDB clusters rows by primary key). Time-ordered ids append to
 * the last page. The time they carry is no secret: every object that exposes its id also shows its `created_at`
 * or `issued_at`.
 */
export function newId(): string {
  const t = Date.now().toString(16).padStart(12, "0");
  const a = randomByte() & 0x0f;
  const b = randomByte();
  const c = (randomByte() & 0x3f) | 0x80;
  return (
    `${t.slice(0, 8)}-${t.slice(8, 12)}-7${HEX[a][1]}${HEX[b]}-${HEX[c]}${HEX[randomByte()]}-` +
    `${HEX[randomByte()]}${HEX[randomByte()]}${HEX[randomByte()]}${HEX[randomByte()]}${HEX[randomByte()]}${HEX[randomByte()]}`
  );
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === "string" && UUID_RE.test(s);

/** The 62 characters of tokens: [A-Z], [a-z], [0-9]. */
export const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * CSPRNG bytes drawn in blocks (one `randomFillSync` serves about a hundred tokens or four hundred ids).
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
