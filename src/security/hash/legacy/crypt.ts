/**
 * The crypt(3) algorithms Kratos imports, in plain TypeScript over node:crypto digests:
 * MD5-crypt (`$1$`, Poul-Henning Kamp) and SHA-crypt (`$5$` / `$6$`, Ulrich Drepper's specification).
 * These are CPU loops of thousands of digests, so they run on the hashing threads (hash-pool.ts), never on the event
 * loop. Each function returns the hash part of the crypt string (the characters after the last `$`).
 */
import { createHash } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function to64(v: number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

function b24(b2: number, b1: number, b0: number, n: number): string {
  return to64((b2 << 16) | (b1 << 8) | b0, n);
}

/** MD5-crypt: salt at most 8 bytes (longer salts are cut, as crypt(3) does). */
export function md5Crypt(password: Buffer, saltStr: string): string {
  const salt = Buffer.from(saltStr.slice(0, 8), "latin1");
  const magic = Buffer.from("$1$");
  const alt = createHash("md5").update(password).update(salt).update(password).digest();
  const ctx = createHash("md5").update(password).update(magic).update(salt);
  for (let pl = password.length; pl > 0; pl -= 16) ctx.update(alt.subarray(0, Math.min(pl, 16)));
  for (let i = password.length; i; i >>= 1) ctx.update(i & 1 ? Buffer.alloc(1) : password.subarray(0, 1));
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash("md5");
    c.update(i & 1 ? password : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(password);
    c.update(i & 1 ? fin : password);
    fin = c.digest();
  }
  const f = fin;
  return (
    b24(f[0], f[6], f[12], 4) + b24(f[1], f[7], f[13], 4) + b24(f[2], f[8], f[14], 4) +
    b24(f[3], f[9], f[15], 4) + b24(f[4], f[10], f[5], 4) + b24(0, 0, f[11], 2)
  );
}

function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

const SHA256_ORDER = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const SHA512_ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

/** SHA-crypt (`$5$` with sha256, `$6$` with sha512): salt at most 16 bytes, rounds as given (caller bounds them). */
export function shaCrypt(alg: "sha256" | "sha512", password: Buffer, saltStr: string, rounds: number): string {
  const salt = Buffer.from(saltStr.slice(0, 16), "latin1");
  const size = alg === "sha256" ? 32 : 64;
  const h = () => createHash(alg);
  const b = h().update(password).update(salt).update(password).digest();
  const a = h().update(password).update(salt);
  let pl = password.length;
  for (; pl > size; pl -= size) a.update(b);
  a.update(b.subarray(0, pl));
  for (let i = password.length; i > 0; i >>= 1) a.update(i & 1 ? b : password);
  let c = a.digest();
  const dp = h();
  for (let i = 0; i < password.length; i++) dp.update(password);
  const p = repeatTo(dp.digest(), password.length);
  const ds = h();
  for (let i = 0; i < 16 + c[0]; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);
  for (let i = 0; i < rounds; i++) {
    const r = h();
    r.update(i & 1 ? p : c);
    if (i % 3) r.update(s);
    if (i % 7) r.update(p);
    r.update(i & 1 ? c : p);
    c = r.digest();
  }
  let out = "";
  for (const [x, y, z] of alg === "sha256" ? SHA256_ORDER : SHA512_ORDER) out += b24(c[x], c[y], c[z], 4);
  return alg === "sha256" ? out + b24(0, c[31], c[30], 3) : out + b24(0, 0, c[63], 2);
}
