/**
 * `$hmac-<md4|md5|sha1|sha224|sha256|sha384|sha512>$<base64 of the lowercase hex MAC>$<base64 key>`, as Kratos
 * encodes it (here sha224/sha384 are SHA-2, unlike Kratos's pbkdf2).
 */
import { createHmac } from "node:crypto";
import { errors } from "../../../util/app-error.ts";
import { decodeStdB64, secretEquals } from "../encoding.ts";
import type { ParsedHash } from "../parsed-hash.ts";
import { hmacMd4 } from "./md4.ts";

const HMAC_RE = /^\$hmac-(md4|md5|sha1|sha224|sha256|sha384|sha512)\$([^$]*)\$([^$]*)$/;

export function parseHmac(encoded: string): ParsedHash {
  const m = HMAC_RE.exec(encoded);
  if (!m) throw errors.badRequest("The hmac hash is malformed: expected $hmac-<digest>$<hash>$<key>");
  const alg = m[1];
  const hash = decodeStdB64(m[2]);
  const key = decodeStdB64(m[3]);
  if (!hash || !key || hash.length === 0) throw errors.badRequest("The hmac hash or key is not valid base64");
  const mac = (password: Buffer): Buffer =>
    alg === "md4" ? hmacMd4(key, password) : createHmac(alg, key).update(password).digest();
  return {
    kind: "hmac",
    own: false,
    memory: 0,
    compare: async (password) => secretEquals(hash, Buffer.from(mac(password).toString("hex"), "ascii")),
  };
}
