/**
 * Kratos's crypt(3) encodings: `$md5-crypt$<salt>$<hash>` (crypt's `$1$`), `$sha256-crypt$[rounds=N$]<salt>$<hash>`
 * (`$5$`) and `$sha512-crypt$[rounds=N$]<salt>$<hash>` (`$6$`). Computed on the hashing threads (hash-pool.ts).
 */
import { errors } from "../../../util/app-error.ts";
import { secretEquals } from "../encoding.ts";
import type { ParsedHash } from "../parsed-hash.ts";
import { hashPool } from "../hash-pool.ts";

/** Import bound on SHA-crypt rounds (the specification allows 1000..999 999 999; 1 000 000 takes about 2 s here). */
export const SHACRYPT_MAX_ROUNDS = 1_000_000;
const SHACRYPT_DEFAULT_ROUNDS = 5000;

const MD5_CRYPT_RE = /^\$md5-crypt\$([^$]{0,8})\$([./0-9A-Za-z]{22})$/;
const SHA_CRYPT_RE = /^\$(sha256|sha512)-crypt\$(?:rounds=(\d+)\$)?([^$]{0,16})\$([./0-9A-Za-z]+)$/;

function cryptHash(kind: string, expected: string, run: (password: Buffer) => Promise<string>): ParsedHash {
  const exp = Buffer.from(expected, "ascii");
  return {
    kind,
    own: false,
    memory: 0,
    compare: async (password) => secretEquals(exp, Buffer.from(await run(password), "ascii")),
  };
}

export function parseMd5Crypt(encoded: string): ParsedHash {
  const m = MD5_CRYPT_RE.exec(encoded);
  if (!m) throw errors.badRequest("The md5-crypt hash is malformed: expected $md5-crypt$<salt of at most 8>$<22 characters>");
  const salt = m[1];
  return cryptHash("md5-crypt", m[2], (pw) => hashPool.crypt("md5", pw, salt, 1000));
}

export function parseShaCrypt(encoded: string): ParsedHash {
  const m = SHA_CRYPT_RE.exec(encoded);
  if (!m) throw errors.badRequest("The sha-crypt hash is malformed: expected $sha256-crypt$[rounds=N$]<salt>$<hash>");
  const alg = m[1] as "sha256" | "sha512";
  const rounds = m[2] === undefined ? SHACRYPT_DEFAULT_ROUNDS : Number(m[2]);
  if (rounds < 1000 || rounds > SHACRYPT_MAX_ROUNDS) {
    throw errors.badRequest(`The ${alg}-crypt rounds must be within 1000..${SHACRYPT_MAX_ROUNDS}`);
  }
  if (m[4].length !== (alg === "sha256" ? 43 : 86)) throw errors.badRequest(`The ${alg}-crypt hash has the wrong length`);
  const salt = m[3];
  return cryptHash(`${alg}-crypt`, m[4], (pw) => hashPool.crypt(alg, pw, salt, rounds));
}
