import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/**
 * Admin import of `credentials.password.config.hashed_password`: a hash whose memory cost exceeds
 * `hashers.argon2.dedicated_memory`, or an argon2 hash whose memory x iterations exceeds the work bound, is refused
 * with 400 before anything is stored (docs/hashing.md).
 */
const SALT = "c29tZXNhbHRzb21lc2FsdA"; // 16 bytes, unpadded base64
const KEY = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"; // 32 bytes
const argon2 = (m: number, t: number) => `$argon2id$v=19$m=${m},t=${t},p=1$${SALT}$${KEY}`;

describe("import bounds follow hashers.argon2.dedicated_memory", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ config: { hashers: { argon2: { dedicated_memory: "64MB" } } } });
  });
  after(async () => t.close());

  let n = 0;
  const importHash = (hashed_password: string) =>
    t.app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ schema_id: "default", traits: { email: `import-${++n}@example.com` }, credentials: { password: { config: { hashed_password } } } }),
    });
  const reason = (res: { json<T>(): T }) => res.json<{ error: { reason: string } }>().error.reason;

  test("argon2 memory above dedicated_memory is a 400 naming the budget; within it is accepted", async () => {
    const over = await importHash(argon2(65537, 1));
    assert.equal(over.statusCode, 400);
    assert.match(reason(over), /dedicated_memory \(64 MiB\)/);
    assert.match(reason(over), /argon2id/);
    const exact = await importHash(argon2(65536, 1));
    assert.equal(exact.statusCode, 201, exact.body);
    const small = await importHash(argon2(19456, 2));
    assert.equal(small.statusCode, 201, small.body);
  });

  test("scrypt memory (128 N r) above dedicated_memory is a 400 too", async () => {
    // N = 131072, r = 8: 128 MiB, within scrypt's own 1 GiB bound but above this budget.
    const res = await importHash(`$scrypt$ln=131072,r=8,p=1$c2NyeXB0c2FsdHZhbHVlIQ==$EaPaU6OZR572J25SNFWQwoQKPsmygpDwL9sAah/tj4E=`);
    assert.equal(res.statusCode, 400);
    assert.match(reason(res), /128 MiB.*dedicated_memory/);
    const ok = await importHash(`$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=`);
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test("argon2 memory x iterations above 4 GiB is a 400; iterations stay within 1..100", async () => {
    const heavy = await importHash(argon2(65536, 65)); // 64 MiB x 65 passes
    assert.equal(heavy.statusCode, 400);
    assert.match(reason(heavy), /memory x iterations/);
    const atBound = await importHash(argon2(65536, 64)); // exactly 4 GiB of passes
    assert.equal(atBound.statusCode, 201, atBound.body);
    const manyPasses = await importHash(argon2(1024, 101));
    assert.equal(manyPasses.statusCode, 400);
    assert.match(reason(manyPasses), /iterations must be within 1\.\.100/);
  });

  test("a refused import stores nothing", async () => {
    const before = (await t.app.admin.inject({ url: "/admin/identities?page_size=500" })).json<unknown[]>().length;
    assert.equal((await importHash(argon2(1 << 20, 1))).statusCode, 400);
    const after = (await t.app.admin.inject({ url: "/admin/identities?page_size=500" })).json<unknown[]>().length;
    assert.equal(after, before);
  });
});
