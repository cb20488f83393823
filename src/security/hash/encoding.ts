/**
 * Small shared helpers for hash formats: strict base64 decoding (as Kratos's Go decoders do), constant-time
 * comparison, and the password candidates a comparison tries (raw text and its NFKC form).
 */
import { timingSafeEqual } from "node:crypto";

const STD = /^[A-Za-z0-9+/]*={0,2}$/;
const RAW = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes padded standard base64 strictly (Go's `base64.StdEncoding.Strict()`): wrong alphabet, missing padding or
 * non-zero trailing bits return undefined instead of a silently different byte string.
 */
export function decodeStdB64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !STD.test(s)) return undefined;
  const buf = Buffer.from(s, "base64");
  return buf.toString("base64") === s ? buf : undefined;
}

/** Decodes unpadded standard base64 strictly (Go's `base64.RawStdEncoding.Strict()`, used by PHC strings). */
export function decodeRawB64(s: string): Buffer | undefined {
  if (s.length % 4 === 1 || !RAW.test(s)) return undefined;
  const buf = Buffer.from(s, "base64");
  return buf.toString("base64").replace(/=+$/, "") === s ? buf : undefined;
}

export function encodeRawB64(b: Uint8Array): string {
  return Buffer.from(b).toString("base64").replace(/=+$/, "");
}

/**
 * Constant-time equality of two secrets. `timingSafeEqual` throws on different lengths, so a length mismatch still
 * runs one comparison (against itself) before answering false: the time depends only on the expected length.
 */
export function secretEquals(expected: Uint8Array, actual: Uint8Array): boolean {
  if (expected.length !== actual.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, actual);
}

/**
 * The password forms a comparison tries, in order, without duplicates. Our own hashes (argon2, bcrypt) are made
 * over NFKC, so they try NFKC first; imported legacy hashes were made by other systems over the raw text, so they
 * try it first and NFKC second. Case is never folded.
 */
export function passwordCandidates(password: string, nfkcFirst: boolean): string[] {
  const nfkc = password.normalize("NFKC");
  if (nfkc === password) return [password];
  return nfkcFirst ? [nfkc, password] : [password, nfkc];
}

/**
 * Replaces `{SALT}` and `{PASSWORD}` in a salting pattern in one pass (like Go's strings.Replacer, so text that a
 * replacement inserts is never replaced again), byte for byte: latin1 strings carry arbitrary bytes unchanged.
 */
export function applyPattern(pattern: Buffer, salt: Buffer, password: Buffer): Buffer {
  const s = salt.toString("latin1");
  const p = password.toString("latin1");
  const out = pattern.toString("latin1").replace(/\{SALT\}|\{PASSWORD\}/g, (m) => (m === "{SALT}" ? s : p));
  return Buffer.from(out, "latin1");
}
