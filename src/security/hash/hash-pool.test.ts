import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { hashRawSync } from "@node-rs/argon2";
import { hashSync as bcryptHashSync } from "@node-rs/bcrypt";
import { hashPool } from "./hash-pool.ts";

/** Waits until every thread started so far has reported the priority it applied. */
async function hashPoolReady(): Promise<void> {
  for (let i = 0; i < 200 && hashPool.stats().nice.some((n) => n === undefined); i++) await new Promise((r) => setTimeout(r, 10));
}

/** The nice values of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): number[] {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

const options = (salt: Buffer) => ({ algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1, outputLen: 32, salt }) as const;

test("hashing threads run at the configured nice value; the event loop keeps its own", { skip: process.platform !== "linux" && "Linux only" }, async () => {
  hashPool.ensure(2, 19);
  await hashPool.argon2(Buffer.from("warm up"), options(Buffer.alloc(16, 1)));
  await hashPoolReady();
  const s = hashPool.stats();
  assert.ok(s.threads >= 1);
  assert.ok(s.nice.every((n) => n === 19), `threads report ${JSON.stringify(s.nice)}`);
  const nices = threadNices();
  assert.ok(nices.filter((n) => n === 19).length >= s.threads, `thread nice values ${JSON.stringify(nices)}`);
  const main = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  assert.equal(Number(main.slice(main.lastIndexOf(")") + 2).split(" ")[16]), 0);
});

test("argon2 and bcrypt results equal the library computed directly; many jobs at once all complete", async () => {
  hashPool.ensure(2, 19);
  const jobs = Array.from({ length: 12 }, (_, i) => {
    const salt = Buffer.alloc(16, i);
    const pw = Buffer.from(`password ${i} ✓`);
    return { pw, salt, expected: hashRawSync(pw, options(salt)) };
  });
  const out = await Promise.all(jobs.map((j) => hashPool.argon2(j.pw, options(j.salt))));
  out.forEach((o, i) => assert.ok(o.equals(jobs[i].expected), `job ${i}`));
  const salt = Buffer.alloc(16, 7);
  assert.equal(await hashPool.bcrypt(Buffer.from("pw"), 4, salt), bcryptHashSync(Buffer.from("pw"), 4, salt));
  assert.equal(hashPool.stats().queued, 0);
});

test("a job the library refuses rejects with its message; after close() new threads start", async () => {
  await assert.rejects(hashPool.argon2(Buffer.from("x"), { ...options(Buffer.alloc(16)), memoryCost: 1 }), /memory|cost|small|invalid/i);
  await hashPool.close();
  assert.equal(hashPool.stats().threads, 0);
  const salt = Buffer.alloc(16, 3);
  assert.ok((await hashPool.argon2(Buffer.from("again"), options(salt))).equals(hashRawSync(Buffer.from("again"), options(salt))));
  assert.ok(hashPool.stats().threads >= 1);
});
