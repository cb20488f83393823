/**
 * PBKDF2 as Kratos encodes it: `$pbkdf2-<digest>$i=<iterations>,l=<key length>$<salt raw b64>$<hash raw b64>`.
 * Kratos maps `sha224` and `sha384` to SHA3-224 and SHA3-384 (its getPseudorandomFunctionForPbkdf2), so we do too.
 * Runs through the async `crypto.pbkdf2` (libuv threadpool), never on the event loop.
 */
import { pbkdf2 } from "node:crypto";
import { promisify } from "node:util";
import { errors } from "../../../util/app-error.ts";
import { decodeRawB64, secretEquals } from "../encoding.ts";
import type { ParsedHash } from "../parsed-hash.ts";

const pbkdf2Async = promisify(pbkdf2);

export const PBKDF2_MAX_ITERATIONS = 10_000_000;

const DIGESTS: Record<string, string> = {
  sha1: "sha1",
  sha224: "sha3-224",
  sha256: "sha256",
  sha384: "sha3-384",
  sha512: "sha512",
};

const PBKDF2_RE = /^\$pbkdf2-(sha[0-9]{1,3})\$i=(\d+),l=(\d+)\$([^$]*)\$([^$]*)$/;

export function parsePbkdf2(encoded: string): ParsedHash {
  const m = PBKDF2_RE.exec(encoded);
  if (!m) throw errors.badRequest("The pbkdf2 hash is malformed: expected $pbkdf2-<digest>$i=..,l=..$<salt>$<hash>");
  const digest = DIGESTS[m[1]];
  if (!digest) throw errors.badRequest(`The pbkdf2 digest ${m[1]} is not supported (sha1, sha224, sha256, sha384, sha512)`);
  const iterations = Number(m[2]);
  if (iterations < 1 || iterations > PBKDF2_MAX_ITERATIONS) {
    throw errors.badRequest(`The pbkdf2 iterations must be within 1..${PBKDF2_MAX_ITERATIONS}`);
  }
  const salt = decodeRawB64(m[4]);
  const key = decodeRawB64(m[5]);
  if (!salt || !key || key.length === 0) throw errors.badRequest("The pbkdf2 salt or hash is not valid unpadded base64");
  // Kratos ignores `l=` and uses the decoded hash length; a hash longer than any digest block list is refused.
  if (key.length > 1024) throw errors.badRequest("The pbkdf2 hash is too long");
  return {
    kind: "pbkdf2",
    own: false,
    memory: 0,
    async compare(password: Buffer): Promise<boolean> {
      return secretEquals(key, await pbkdf2Async(password, salt, iterations, key.length, digest));
    },
  };
}
