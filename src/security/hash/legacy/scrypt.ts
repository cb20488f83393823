/**
 * scrypt and Firebase's modified scrypt, as Kratos encodes them. Both run through the async `crypto.scrypt`
 * (libuv threadpool).
 *
 * - `$scrypt$ln=<N>,r=<r>,p=<p>$<salt std b64>$<hash std b64>`: despite the name, Kratos reads `ln` as N itself
 *   (it passes it straight to scrypt.Key), e.g. `ln=16384`. Padded base64.
 * - `$firescrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>$<salt separator>$<signer key>` (all padded base64): here `ln`
 *   is the Firebase `mem_cost`, N = 2^ln. key = scrypt(password, salt || separator, N, r, p, 32); the hash is
 *   AES-256-CTR(key, iv = 16 zero bytes) applied to the signer key.
 */
import { createCipheriv, scrypt } from "node:crypto";
import type { ScryptOptions } from "node:crypto";
import { errors } from "../../../util/app-error.ts";
import { decodeStdB64, secretEquals } from "../encoding.ts";
import type { ParsedHash } from "../parsed-hash.ts";

/** Import bounds: N <= 2^20, r <= 32, p <= 16, and the 128*N*r bytes scrypt holds at most 1 GiB. */
export const SCRYPT_MAX_N = 2 ** 20;
export const SCRYPT_MAX_R = 32;
export const SCRYPT_MAX_P = 16;
export const SCRYPT_MAX_MEMORY = 1024 * 1024 * 1024;

function scryptAsync(password: Buffer, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkScryptParams(n: number, r: number, p: number): number {
  if (!Number.isInteger(Math.log2(n)) || n < 2 || n > SCRYPT_MAX_N) {
    throw errors.badRequest(`The scrypt cost N=${n} must be a power of two within 2..${SCRYPT_MAX_N}`);
  }
  if (r < 1 || r > SCRYPT_MAX_R) throw errors.badRequest(`The scrypt block size r must be within 1..${SCRYPT_MAX_R}`);
  if (p < 1 || p > SCRYPT_MAX_P) throw errors.badRequest(`The scrypt parallelization p must be within 1..${SCRYPT_MAX_P}`);
  const memory = 128 * n * r;
  if (memory > SCRYPT_MAX_MEMORY) throw errors.badRequest("The scrypt parameters need more than 1 GiB of memory");
  return memory;
}

const SCRYPT_RE = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]*)\$([^$]*)$/;

export function parseScrypt(encoded: string): ParsedHash {
  const m = SCRYPT_RE.exec(encoded);
  if (!m) throw errors.badRequest("The scrypt hash is malformed: expected $scrypt$ln=<N>,r=..,p=..$<salt>$<hash>");
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const memory = checkScryptParams(n, r, p);
  const salt = decodeStdB64(m[4]);
  const key = decodeStdB64(m[5]);
  if (!salt || !key || key.length === 0 || key.length > 1024) throw errors.badRequest("The scrypt salt or hash is not valid base64");
  return {
    kind: "scrypt",
    own: false,
    memory,
    async compare(password: Buffer): Promise<boolean> {
      const actual = await scryptAsync(password, salt, key.length, { N: n, r, p, maxmem: memory + 1024 * 1024 });
      return secretEquals(key, actual);
    },
  };
}

const FIRESCRYPT_RE = /^\$firescrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]*)\$([^$]*)\$([^$]*)\$([^$]*)$/;

export function parseFirebaseScrypt(encoded: string): ParsedHash {
  const m = FIRESCRYPT_RE.exec(encoded);
  if (!m) {
    throw errors.badRequest(
      "The firebase scrypt hash is malformed: expected $firescrypt$ln=..,r=..,p=..$<salt>$<hash>$<salt separator>$<signer key>",
    );
  }
  const ln = Number(m[1]);
  if (ln < 1 || ln > 20) throw errors.badRequest("The firebase scrypt mem_cost (ln) must be within 1..20");
  const [n, r, p] = [2 ** ln, Number(m[2]), Number(m[3])];
  const memory = checkScryptParams(n, r, p);
  const [salt, hash, separator, signerKey] = [m[4], m[5], m[6], m[7]].map(decodeStdB64);
  if (!salt || !hash || !separator || !signerKey || hash.length === 0) {
    throw errors.badRequest("The firebase scrypt fields must be valid base64");
  }
  return {
    kind: "firescrypt",
    own: false,
    memory,
    async compare(password: Buffer): Promise<boolean> {
      const key = await scryptAsync(password, Buffer.concat([salt, separator]), 32, { N: n, r, p, maxmem: memory + 1024 * 1024 });
      const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
      const actual = Buffer.concat([cipher.update(signerKey), cipher.final()]);
      return secretEquals(hash, actual);
    },
  };
}
