import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../util/app-error.ts";
import { createPasswordHasher, defaultHasherConfig, hasherLimit } from "./hasher.ts";
import type { HasherConfig } from "./hasher.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

// Cheap but real argon2id parameters where the parameters themselves are not under test.
function cheap(over: Partial<HasherConfig["argon2"]> = {}, rest: Partial<HasherConfig> = {}): HasherConfig {
  return {
    ...defaultHasherConfig,
    argon2: { ...defaultHasherConfig.argon2, memory: 64 * KiB, iterations: 1, ...over },
    bcrypt: { cost: 4 },
    // The memory budget is what these tests exercise; the CPU bound is tested on its own.
    max_concurrency: 1000,
    ...rest,
  };
}

test("defaults are OWASP's argon2id minimum with a 1 GiB budget", () => {
  assert.equal(defaultHasherConfig.algorithm, "argon2");
  assert.deepEqual(defaultHasherConfig.argon2, {
    memory: 19 * MiB, iterations: 2, parallelism: 1, salt_length: 16, key_length: 32, dedicated_memory: 1024 * MiB,
  });
  assert.equal(defaultHasherConfig.bcrypt.cost, 12);
  assert.equal(hasherLimit({ ...defaultHasherConfig, max_concurrency: 1000 }), 53);
  assert.equal(hasherLimit({ ...defaultHasherConfig, max_concurrency: 3 }), 3, "never more hashes at once than max_concurrency");
  assert.equal(hasherLimit(cheap({ memory: 2 * MiB, dedicated_memory: MiB })), 1);
});

test("argon2id hashes in Kratos's encoding with the configured parameters and verifies", async () => {
  const h = await createPasswordHasher({ ...defaultHasherConfig });
  const encoded = await h.hash("correct horse battery staple");
  assert.match(encoded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(await h.verify("correct horse battery staple", encoded), true);
  assert.equal(await h.verify("correct horse battery stapl", encoded), false);
  assert.notEqual(await h.hash("correct horse battery staple"), encoded, "fresh salt every time");
});

test("passwords: NFKC equivalence, case, 64 characters, spaces, emoji", async () => {
  const h = await createPasswordHasher(cheap());
  const composed = await h.hash("caf\u00e9 au lait");
  assert.equal(await h.verify("cafe\u0301 au lait", composed), true);
  const decomposed = await h.hash("cafe\u0301 au lait");
  assert.equal(await h.verify("caf\u00e9 au lait", decomposed), true);
  assert.equal(await h.verify("CAF\u00c9 au lait", composed), false);
  assert.equal(await h.verify("Caf\u00e9 au lait", composed), false);

  const long = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e1F2";
  assert.equal(long.length, 64);
  const hl = await h.hash(long);
  assert.equal(await h.verify(long, hl), true);
  assert.equal(await h.verify(long.slice(0, 63), hl), false);

  const phrase = "  the quick brown fox  jumps ";
  const hp = await h.hash(phrase);
  assert.equal(await h.verify(phrase, hp), true);
  assert.equal(await h.verify(phrase.trim(), hp), false);
  assert.equal(await h.verify("the quick brown fox jumps", hp), false);

  const emoji = "🦊🔑 🌈👩‍💻";
  const he = await h.hash(emoji);
  assert.equal(await h.verify(emoji, he), true);
  assert.equal(await h.verify("🦊🔑 🌈👩💻", he), false);
});

test("bcrypt: Kratos's $2a$ encoding at the configured cost; over 72 bytes pre-hashed, never truncated", async () => {
  const h = await createPasswordHasher(cheap({}, { algorithm: "bcrypt", bcrypt: { cost: 5 } }));
  const encoded = await h.hash("hunter2 hunter2");
  assert.match(encoded, /^\$2a\$05\$[./A-Za-z0-9]{53}$/);
  assert.equal(await h.verify("hunter2 hunter2", encoded), true);
  assert.equal(await h.verify("hunter2 hunter3", encoded), false);

  const base = "x".repeat(72);
  const long = await h.hash(`${base}-tail-one`);
  assert.equal(await h.verify(`${base}-tail-one`, long), true);
  assert.equal(await h.verify(`${base}-tail-two`, long), false, "bytes after the 72nd count");
  assert.equal(await h.verify(base, long), false);
  // multi-byte: 36 x "é" is 72 bytes (direct), 37 is 74 bytes (pre-hashed)
  const e36 = "\u00e9".repeat(36);
  const e37 = "\u00e9".repeat(37);
  const h37 = await h.hash(e37);
  assert.equal(await h.verify(e37, h37), true);
  assert.equal(await h.verify(e36, h37), false);
  assert.equal(await h.verify("e\u0301".repeat(37), h37), true, "NFKC before measuring and hashing");
});

test("needsRehash: other algorithm or parameters", async () => {
  const cfg = cheap();
  const h = await createPasswordHasher(cfg);
  const current = await h.hash("pw");
  assert.equal(h.needsRehash(current), false);
  const other = await createPasswordHasher(cheap({ iterations: 2 }));
  assert.equal(h.needsRehash(await other.hash("pw")), true);
  const otherMem = await createPasswordHasher(cheap({ memory: 128 * KiB }));
  assert.equal(h.needsRehash(await otherMem.hash("pw")), true);
  const otherKey = await createPasswordHasher(cheap({ key_length: 16 }));
  assert.equal(h.needsRehash(await otherKey.hash("pw")), true);
  assert.equal(h.needsRehash("$argon2i$v=19$m=64,t=1,p=1$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c"), true);
  assert.equal(h.needsRehash("$2a$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), true);
  assert.equal(h.needsRehash("$md5$CY9rzUYh03PK3k6DJie09g=="), true);

  const b = await createPasswordHasher(cheap({}, { algorithm: "bcrypt", bcrypt: { cost: 5 } }));
  assert.equal(b.needsRehash(await b.hash("pw")), false);
  assert.equal(b.needsRehash("$2a$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), true);
  assert.equal(b.needsRehash(current), true);
});

test("verifyDummy is false and costs a real verify with the live parameters", async () => {
  const h = await createPasswordHasher(cheap({ memory: 16 * MiB, iterations: 2 }));
  const encoded = await h.hash("secret");
  assert.equal(await h.verifyDummy("secret"), false);
  assert.equal(await h.verifyDummy(""), false);
  const time = async (fn: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) await fn();
    return Number(process.hrtime.bigint() - t) / 5e6;
  };
  await time(() => h.verify("wrong", encoded)); // warm up
  const real = await time(() => h.verify("wrong", encoded));
  const dummy = await time(() => h.verifyDummy("wrong"));
  assert.ok(dummy > real / 3 && dummy < real * 3, `dummy ${dummy.toFixed(1)} ms vs real ${real.toFixed(1)} ms`);
});

test("concurrent hashes are bounded by dedicated_memory / memory and queue in order", async () => {
  const h = await createPasswordHasher(cheap({ memory: 4 * MiB, dedicated_memory: 8 * MiB }));
  assert.equal(h.stats().limit, 2);
  let maxRunning = 0;
  let maxQueued = 0;
  const sample = () => {
    const s = h.stats();
    maxRunning = Math.max(maxRunning, s.running);
    maxQueued = Math.max(maxQueued, s.queued);
  };
  const timer = setInterval(sample, 0);
  const jobs = Array.from({ length: 8 }, (_, i) => h.hash(`password-${i}`));
  sample();
  const hashes = await Promise.all(jobs);
  clearInterval(timer);
  assert.equal(maxRunning, 2);
  assert.equal(maxQueued, 6);
  assert.deepEqual(h.stats(), { running: 0, queued: 0, limit: 2 });
  for (let i = 0; i < 8; i++) assert.equal(await h.verify(`password-${i}`, hashes[i]), true);
});

test("a queue wait beyond max_queue_wait_ms answers 503 with Retry-After", async () => {
  const h = await createPasswordHasher(cheap({ memory: 32 * MiB, iterations: 3, dedicated_memory: 32 * MiB }, { max_queue_wait_ms: 5 }));
  assert.equal(h.stats().limit, 1);
  const results = await Promise.allSettled([h.hash("a"), h.hash("b"), h.verify("c", "$md5$CY9rzUYh03PK3k6DJie09g==")]);
  assert.equal(results[0].status, "fulfilled");
  for (const r of results.slice(1)) {
    assert.equal(r.status, "rejected");
    const e = (r as PromiseRejectedResult).reason as unknown;
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 503);
    assert.equal(e.headers?.["retry-after"], "1");
    assert.equal(e.toBody().error.status, "Service Unavailable");
  }
  assert.deepEqual(h.stats(), { running: 0, queued: 0, limit: 1 });
});

test("invalid configuration stops the start", async () => {
  await assert.rejects(createPasswordHasher(cheap({ memory: 1024 })), /argon2\.memory/);
  await assert.rejects(createPasswordHasher(cheap({}, { bcrypt: { cost: 20 } })), /bcrypt\.cost/);
});

test("hashing and the expensive legacy formats leave the event loop free", async () => {
  const h = await createPasswordHasher(cheap({ memory: 32 * MiB, iterations: 3 }));
  // Python crypt: sha512-crypt with 150 000 rounds (about 0.3 s of digests, run in the worker thread)
  const shaCrypt = "$sha512-crypt$rounds=150000$LoopSalt$VS/o2rnOEIKykGODbYB3trSymUevQITG.C8YnBO9BT5cVzHXTWb8gKDIuAacmxnsuhCpCv1uY5r8QJs7KdGBY/";
  await h.verify("warm the worker", "$md5-crypt$$whuMjZj.HMFoaTaZRRtkO0");
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 2);
  const started = performance.now();
  const [ok, , pbkdf2] = await Promise.all([
    h.verify("event loop stays free", shaCrypt),
    h.hash("argon2 on the threadpool"),
    h.verify("x", "$pbkdf2-sha512$i=200000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$AftTeRqdHf1QCeX5DmjatHUDsMYKmvEolVKtHHH3IL8"),
  ]);
  const total = performance.now() - started;
  clearInterval(ticker);
  assert.equal(ok, true);
  assert.equal(pbkdf2, false);
  assert.ok(maxGap < Math.max(60, total / 3), `longest event-loop gap ${maxGap.toFixed(1)} ms during ${total.toFixed(0)} ms of hashing`);
});
