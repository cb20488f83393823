/**
 * Recognizes every hash format Kratos's comparator accepts (hash/hash_comparator.go), in Kratos's order and with its
 * prefixes, and hands the string to that format's parser. Parsers validate the encoding and the cost bounds and throw
 * AppError 400 (`bad_request`) with a reason saying what is wrong.
 */
import { errors } from "../../util/app-error.ts";
import { parseArgon2 } from "./argon2.ts";
import { parseBcrypt } from "./bcrypt.ts";
import { parseMd5Crypt, parseShaCrypt } from "./legacy/crypt-format.ts";
import { parseHmac } from "./legacy/hmac.ts";
import { parsePbkdf2 } from "./legacy/pbkdf2.ts";
import { parseFirebaseScrypt, parseScrypt } from "./legacy/scrypt.ts";
import { parseMd5, parseSaltedSha, parseSsha } from "./legacy/sha.ts";
import type { ParsedHash } from "./parsed-hash.ts";

const DETECTORS: ReadonlyArray<[RegExp, (encoded: string) => ParsedHash]> = [
  [/^\$md5-crypt\$/, parseMd5Crypt],
  [/^\$2[abzy]?\$/, parseBcrypt],
  [/^\$sha256-crypt\$/, parseShaCrypt],
  [/^\$sha512-crypt\$/, parseShaCrypt],
  [/^\$argon2id\$/, parseArgon2],
  [/^\$argon2i\$/, parseArgon2],
  [/^\$pbkdf2-sha[0-9]{1,3}\$/, parsePbkdf2],
  [/^\$scrypt\$/, parseScrypt],
  [/^\{SSHA(256|512)?\}/, parseSsha],
  [/^\$sha(1|256|512)\$/, parseSaltedSha],
  [/^\$firescrypt\$/, parseFirebaseScrypt],
  [/^\$md5\$/, parseMd5],
  [/^\$hmac-(md4|md5|sha1|sha224|sha256|sha384|sha512)\$/, parseHmac],
];

/** Parses any supported hash; throws AppError 400 for an unknown format, a malformed value or a cost out of bounds. */
export function parseHash(encoded: string): ParsedHash {
  for (const [re, parse] of DETECTORS) if (re.test(encoded)) return parse(encoded);
  throw errors.badRequest("The hashed password uses an unknown or unsupported hash format");
}
