/**
 * Fast salted digests that Kratos imports (cheap to compute: they run inline, no threadpool needed):
 * - `{SSHA}` / `{SSHA256}` / `{SSHA512}` + base64(digest(password || salt) || salt)  (LDAP style)
 * - `$sha1|sha256|sha512$pf=<b64 pattern>$<salt b64>$<hash b64>`: digest of the pattern with `{SALT}` and
 *   `{PASSWORD}` replaced, e.g. pattern `{SALT}{PASSWORD}`
 * - `$md5$<hash b64>` (plain) and `$md5$pf=<b64 pattern>$<salt b64>$<hash b64>` (with a pattern)
 */
import { createHash } from "node:crypto";
import { errors } from "../../../util/app-error.ts";
import { applyPattern, decodeStdB64, secretEquals } from "../encoding.ts";
import type { ParsedHash } from "../parsed-hash.ts";

function digest(alg: string, data: Buffer): Buffer {
  return createHash(alg).update(data).digest();
}

function inline(kind: string, compare: (password: Buffer) => boolean): ParsedHash {
  return { kind, own: false, memory: 0, compare: async (password) => compare(password) };
}

const SSHA: Record<string, { alg: string; len: number }> = {
  SSHA: { alg: "sha1", len: 20 },
  SSHA256: { alg: "sha256", len: 32 },
  SSHA512: { alg: "sha512", len: 64 },
};

export function parseSsha(encoded: string): ParsedHash {
  const m = /^\{(SSHA|SSHA256|SSHA512)\}(.*)$/s.exec(encoded);
  if (!m) throw errors.badRequest("The SSHA hash is malformed: expected {SSHA|SSHA256|SSHA512}<base64>");
  const { alg, len } = SSHA[m[1]];
  const decoded = decodeStdB64(m[2]);
  // Kratos requires at least one salt byte after the digest.
  if (!decoded || decoded.length < len + 1) throw errors.badRequest(`The ${m[1]} value is not base64 of a digest followed by a salt`);
  const hash = decoded.subarray(0, len);
  const salt = decoded.subarray(len);
  return inline("ssha", (password) => secretEquals(hash, digest(alg, Buffer.concat([password, salt]))));
}

function decodePattern(field: string): Buffer | undefined {
  if (!field.startsWith("pf=")) return undefined;
  const pf = decodeStdB64(field.slice(3));
  return pf && pf.length > 0 ? pf : undefined;
}

export function parseSaltedSha(encoded: string): ParsedHash {
  const parts = encoded.split("$");
  const alg = /^sha(1|256|512)$/.test(parts[1] ?? "") ? parts[1] : undefined;
  if (parts.length !== 5 || !alg) throw errors.badRequest("The salted sha hash is malformed: expected $sha<n>$pf=<pattern>$<salt>$<hash>");
  const pattern = decodePattern(parts[2]);
  const salt = decodeStdB64(parts[3]);
  const hash = decodeStdB64(parts[4]);
  if (!pattern || !salt || !hash) throw errors.badRequest("The salted sha pattern, salt or hash is not valid base64");
  return inline("sha", (password) => secretEquals(hash, digest(alg, applyPattern(pattern, salt, password))));
}

export function parseMd5(encoded: string): ParsedHash {
  const parts = encoded.split("$");
  if (parts.length === 3) {
    const hash = decodeStdB64(parts[2]);
    if (!hash || hash.length === 0) throw errors.badRequest("The md5 hash is not valid base64");
    return inline("md5", (password) => secretEquals(hash, digest("md5", password)));
  }
  if (parts.length === 5) {
    const pattern = decodePattern(parts[2]);
    const salt = decodeStdB64(parts[3]);
    const hash = decodeStdB64(parts[4]);
    if (!pattern || !salt || !hash) throw errors.badRequest("The md5 pattern, salt or hash is not valid base64");
    return inline("md5", (password) => secretEquals(hash, digest("md5", applyPattern(pattern, salt, password))));
  }
  throw errors.badRequest("The md5 hash is malformed: expected $md5$<hash> or $md5$pf=<pattern>$<salt>$<hash>");
}
