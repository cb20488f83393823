/**
 * argon2id / argon2i through @node-rs/argon2 (computed on the hashing threads of hash-pool.ts), in Kratos's encoding
 * `$argon2id$v=19$m=<KiB>,t=<iterations>,p=<parallelism>$<salt raw b64>$<hash raw b64>`.
 * Verification recomputes the raw hash with the stored salt and compares it with `timingSafeEqual`, rather than
 * trusting the library's own comparison.
 */
import { randomBytes } from "node:crypto";
import type { Algorithm } from "@node-rs/argon2";
import { hashPool, type Argon2RawOptions } from "./hash-pool.ts";
import { errors } from "../../util/app-error.ts";
import { decodeRawB64, encodeRawB64, secretEquals } from "./encoding.ts";
import type { ParsedHash } from "./parsed-hash.ts";

export interface Argon2Params {
  /** bytes (encoded as KiB, like Kratos) */
  memory: number;
  iterations: number;
  parallelism: number;
  salt_length: number;
  key_length: number;
}

/** Import bounds: a hash beyond them is refused with 400 (and never computed). */
export const ARGON2_MAX_MEMORY = 1024 * 1024 * 1024;
export const ARGON2_MAX_ITERATIONS = 100;
export const ARGON2_MAX_PARALLELISM = 255;

// Values of @node-rs/argon2's const enum Algorithm (ambient const enums cannot be read under isolatedModules).
const ARGON2I = 1 as Algorithm;
const ARGON2ID = 2 as Algorithm;

export interface ParsedArgon2 extends ParsedHash {
  readonly variant: "argon2id" | "argon2i";
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
  readonly saltLength: number;
  readonly keyLength: number;
}

function rawOptions(variant: "argon2id" | "argon2i", memoryKiB: number, t: number, p: number, salt: Buffer, len: number): Argon2RawOptions {
  return {
    algorithm: variant === "argon2id" ? ARGON2ID : ARGON2I,
    memoryCost: memoryKiB,
    timeCost: t,
    parallelism: p,
    outputLen: len,
    salt,
  };
}

/** Hashes `password` (already normalized by the caller) with the given parameters, in Kratos's encoding. */
export async function argon2Hash(password: Buffer, params: Argon2Params): Promise<string> {
  const salt = randomBytes(params.salt_length);
  const m = Math.floor(params.memory / 1024);
  const key = await hashPool.argon2(password, rawOptions("argon2id", m, params.iterations, params.parallelism, salt, params.key_length));
  return `$argon2id$v=19$m=${m},t=${params.iterations},p=${params.parallelism}$${encodeRawB64(salt)}$${encodeRawB64(key)}`;
}

const ARGON2_RE = /^\$(argon2id|argon2i)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([^$]*)\$([^$]*)$/;

/** Parses and bounds-checks an argon2id/argon2i hash; throws AppError 400 when malformed or out of bounds. */
export function parseArgon2(encoded: string): ParsedArgon2 {
  const m = ARGON2_RE.exec(encoded);
  if (!m) throw errors.badRequest("The argon2 hash is malformed: expected $argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>");
  const variant = m[1] as "argon2id" | "argon2i";
  if (Number(m[2]) !== 19) throw errors.badRequest("Only argon2 version 19 is supported");
  const memoryKiB = Number(m[3]);
  const iterations = Number(m[4]);
  const parallelism = Number(m[5]);
  const salt = decodeRawB64(m[6]);
  const key = decodeRawB64(m[7]);
  if (!salt || !key) throw errors.badRequest("The argon2 salt or hash is not valid unpadded base64");
  if (memoryKiB * 1024 > ARGON2_MAX_MEMORY) throw errors.badRequest(`The argon2 memory cost ${memoryKiB} KiB exceeds the bound of 1 GiB`);
  if (iterations < 1 || iterations > ARGON2_MAX_ITERATIONS) throw errors.badRequest(`The argon2 iterations must be within 1..${ARGON2_MAX_ITERATIONS}`);
  if (parallelism < 1 || parallelism > ARGON2_MAX_PARALLELISM) throw errors.badRequest("The argon2 parallelism must be within 1..255");
  if (memoryKiB < 8 * parallelism) throw errors.badRequest("The argon2 memory cost must be at least 8 KiB per lane");
  if (salt.length < 8) throw errors.badRequest("The argon2 salt must be at least 8 bytes");
  if (key.length < 4 || key.length > 1024) throw errors.badRequest("The argon2 hash length must be within 4..1024 bytes");
  return {
    kind: variant,
    variant,
    own: true,
    memory: memoryKiB * 1024,
    memoryKiB,
    iterations,
    parallelism,
    saltLength: salt.length,
    keyLength: key.length,
    async compare(password: Buffer): Promise<boolean> {
      const actual = await hashPool.argon2(password, rawOptions(variant, memoryKiB, iterations, parallelism, salt, key.length));
      return secretEquals(key, actual);
    },
  };
}
