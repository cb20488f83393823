/**
 * bcrypt through @node-rs/bcrypt (computed on the hashing threads of hash-pool.ts), in Kratos's encoding `$2a$<cost>$<22 salt><31 hash>`.
 *
 * Long passwords: bcrypt only reads the first 72 bytes of its input. Kratos refuses longer passwords; silently
 * truncating would let every password sharing the first 72 bytes match. Our rule (docs/hashing.md):
 *   - the password's UTF-8 bytes (after NFKC for our own hashes) go to bcrypt unchanged when there are at most 72;
 *   - when there are more than 72, bcrypt receives base64(SHA-256(password bytes)) instead: 44 ASCII bytes, no NUL,
 *     every byte of the password counts.
 * The same rule applies when verifying any bcrypt hash. Hashes imported from Kratos never cover passwords over 72
 * bytes (Kratos refused them), so the rule changes nothing for them.
 */
import { createHash } from "node:crypto";
import { errors } from "../../util/app-error.ts";
import { secretEquals } from "./encoding.ts";
import { hashPool } from "./hash-pool.ts";
import type { ParsedHash } from "./parsed-hash.ts";

export const BCRYPT_MIN_COST = 4;
export const BCRYPT_MAX_COST = 15;
export const BCRYPT_MAX_INPUT = 72;
/** bcrypt's working state is about 4 KiB; it never takes memory from the argon2 budget beyond one slot. */
const BCRYPT_MEMORY = 4096;

/** The bytes bcrypt receives for a password: see the rule at the top of this file. */
export function bcryptInput(password: Buffer): Buffer {
  if (password.length <= BCRYPT_MAX_INPUT) return password;
  return Buffer.from(createHash("sha256").update(password).digest("base64"), "ascii");
}

/** Hashes with a fresh salt; Kratos writes `$2a$`, identical to `$2b$` for inputs of at most 72 bytes. */
export async function bcryptHashPassword(password: Buffer, cost: number): Promise<string> {
  const out = await hashPool.bcrypt(bcryptInput(password), cost);
  return out.replace(/^\$2[abxy]\$/, "$2a$");
}

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function decodeBcryptSalt(s: string): Buffer {
  let std = "";
  for (const ch of s) std += STD_ALPHABET[BCRYPT_ALPHABET.indexOf(ch)];
  return Buffer.from(std, "base64").subarray(0, 16);
}

// Kratos's detector is `^\$2[abzy]?\$`; the variants only differ for inputs over 255 bytes, which never reach bcrypt here.
const BCRYPT_RE = /^\$2[abzy]?\$(\d{2})\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

export interface ParsedBcrypt extends ParsedHash {
  readonly cost: number;
}

/** Parses and bounds-checks a bcrypt hash; throws AppError 400 when malformed or the cost is outside 4..15. */
export function parseBcrypt(encoded: string): ParsedBcrypt {
  const m = BCRYPT_RE.exec(encoded);
  if (!m) throw errors.badRequest("The bcrypt hash is malformed: expected $2a$<cost>$<53 characters>");
  const cost = Number(m[1]);
  if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
    throw errors.badRequest(`The bcrypt cost ${cost} is outside the accepted range ${BCRYPT_MIN_COST}..${BCRYPT_MAX_COST}`);
  }
  const salt = decodeBcryptSalt(m[2]);
  const expected = Buffer.from(m[3], "ascii");
  return {
    kind: "bcrypt",
    own: true,
    memory: BCRYPT_MEMORY,
    cost,
    async compare(password: Buffer): Promise<boolean> {
      const out = await hashPool.bcrypt(bcryptInput(password), cost, salt);
      return secretEquals(expected, Buffer.from(out.slice(-31), "ascii"));
    },
  };
}
