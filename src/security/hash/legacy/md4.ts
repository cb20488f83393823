/**
 * MD4 (RFC 1320) in plain TypeScript: OpenSSL 3 moved MD4 to its legacy provider, which Node 20 does not load, but
 * Kratos accepts `$hmac-md4$` hashes. Only used for that import format; never for anything new.
 */
function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

export function md4(data: Buffer): Buffer {
  const bitLen = data.length * 8;
  const padLen = ((data.length + 8) >> 6) * 64 + 64;
  const msg = Buffer.alloc(padLen);
  data.copy(msg);
  msg[data.length] = 0x80;
  msg.writeUInt32LE(bitLen >>> 0, padLen - 8);
  msg.writeUInt32LE(Math.floor(bitLen / 2 ** 32), padLen - 4);
  let [a, b, c, d] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  const f = (p: number, q: number, r: number) => (p & q) | (~p & r);
  const g = (p: number, q: number, r: number) => (p & q) | (p & r) | (q & r);
  const h = (p: number, q: number, r: number) => p ^ q ^ r;
  for (let off = 0; off < padLen; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = msg.readUInt32LE(off + i * 4);
    const [aa, bb, cc, dd] = [a, b, c, d];
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + f(b, c, d) + x[i]) | 0, 3);
      d = rotl((d + f(a, b, c) + x[i + 1]) | 0, 7);
      c = rotl((c + f(d, a, b) + x[i + 2]) | 0, 11);
      b = rotl((b + f(c, d, a) + x[i + 3]) | 0, 19);
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + g(b, c, d) + x[i] + 0x5a827999) | 0, 3);
      d = rotl((d + g(a, b, c) + x[i + 4] + 0x5a827999) | 0, 5);
      c = rotl((c + g(d, a, b) + x[i + 8] + 0x5a827999) | 0, 9);
      b = rotl((b + g(c, d, a) + x[i + 12] + 0x5a827999) | 0, 13);
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + h(b, c, d) + x[i] + 0x6ed9eba1) | 0, 3);
      d = rotl((d + h(a, b, c) + x[i + 8] + 0x6ed9eba1) | 0, 9);
      c = rotl((c + h(d, a, b) + x[i + 4] + 0x6ed9eba1) | 0, 11);
      b = rotl((b + h(c, d, a) + x[i + 12] + 0x6ed9eba1) | 0, 15);
    }
    [a, b, c, d] = [(a + aa) | 0, (b + bb) | 0, (c + cc) | 0, (d + dd) | 0];
  }
  const out = Buffer.alloc(16);
  [a, b, c, d].forEach((v, i) => out.writeInt32LE(v, i * 4));
  return out;
}

/** HMAC-MD4 (RFC 2104, 64-byte block). */
export function hmacMd4(key: Buffer, data: Buffer): Buffer {
  let k = key.length > 64 ? md4(key) : key;
  k = Buffer.concat([k, Buffer.alloc(64 - k.length)]);
  const ipad = Buffer.from(k.map((v) => v ^ 0x36));
  const opad = Buffer.from(k.map((v) => v ^ 0x5c));
  return md4(Buffer.concat([opad, md4(Buffer.concat([ipad, data]))]));
}
