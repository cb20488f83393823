import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { describeEachDatabase } from "../helpers/databases.ts";
import { createDatabase, type Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createSqlThrottleStore } from "../../src/security/throttle/sql-store.ts";
import { createRedisThrottleStore } from "../../src/security/throttle/redis-store.ts";
import { createMemoryThrottleStore } from "../../src/security/throttle/memory-store.ts";
import { createThrottle } from "../../src/security/throttle/throttle.ts";
import type { ThrottleStore } from "../../src/security/throttle/store.ts";
import type { Config } from "../../src/config/config.ts";
import { AppError } from "../../src/util/app-error.ts";
import { createManualClock } from "../../src/util/clock.ts";

/**
 * The ThrottleStore contract, run against every implementation: SQL on SQLite always, PostgreSQL and MariaDB when
 * TEST_POSTGRES_DSN / TEST_MYSQL_DSN are set, Redis when TEST_REDIS_URL is set (each skipped visibly otherwise), and
 * the in-memory store. `open()` gives a new store object on the same backend each call, so "two instances share one
 * count" is tested with two real clients.
 */
interface Backend {
  open(): ThrottleStore;
  /** Whether two `open()`s share state (not for the memory store). */
  shared: boolean;
}

const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const HOUR = 3_600_000;
let seq = 0;
const k = (name: string) => `t${++seq}:${name}`;

function contract(getBackend: () => Backend): void {
  let store: ThrottleStore;
  before(() => {
    store = getBackend().open();
  });

  test("fail counts from 1, get reads it, expiry after ttl starts over", async () => {
    const key = k("fail");
    assert.equal(await store.get(key, T0), null);
    const a = await store.fail(key, T0, HOUR);
    assert.deepEqual(a, { count: 1, last_at: T0, expires_at: T0 + HOUR, locked_until: null });
    const b = await store.fail(key, T0 + 1000, HOUR);
    assert.deepEqual(b, { count: 2, last_at: T0 + 1000, expires_at: T0 + 1000 + HOUR, locked_until: null });
    assert.deepEqual(await store.get(key, T0 + 2000), b);
    assert.equal(await store.get(key, T0 + 1000 + HOUR), null, "expired at expires_at");
    const c = await store.fail(key, T0 + 1000 + HOUR, HOUR);
    assert.equal(c.count, 1, "an expired entry starts over");
  });

  test("getMany (where a store has it) reads live entries in key order, null for missing and expired", async (t) => {
    if (!store.getMany) return t.skip("no getMany");
    const a = k("many-a");
    const b = k("many-b");
    const gone = k("many-gone");
    await store.fail(a, T0, HOUR);
    await store.fail(a, T0 + 1, HOUR);
    await store.fail(gone, T0, 1000);
    assert.deepEqual(await store.getMany([b, a], T0 + 2000), [null, await store.get(a, T0 + 2000)]);
    assert.deepEqual(await store.getMany([a, gone], T0 + 2000), [await store.get(a, T0 + 2000), null], "expired");
    assert.deepEqual(await store.getMany([a, a], T0 + 2000), [await store.get(a, T0 + 2000), await store.get(a, T0 + 2000)], "a key twice");
    assert.deepEqual(await store.getMany([gone, b, a], T0 + 2000), [null, null, await store.get(a, T0 + 2000)], "three keys");
    assert.deepEqual(await store.getMany([], T0), []);
  });

  test("50 parallel fail() calls count exactly 50, each count returned once", async () => {
    const key = k("parallel");
    const states = await Promise.all(Array.from({ length: 50 }, (_, i) => store.fail(key, T0 + i, HOUR)));
    assert.deepEqual(states.map((s) => s.count).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal((await store.get(key, T0 + 100))?.count, 50);
  });

  test("lock: exactly one of 20 concurrent calls starts the episode; the lock outlives the ttl; reset ends it", async () => {
    const key = k("lock");
    assert.equal(await store.lock(key, T0 + HOUR), false, "a missing key is not locked");
    assert.equal(await store.get(key, T0), null);
    await store.fail(key, T0, 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.lock(key, T0 + HOUR)));
    assert.equal(results.filter(Boolean).length, 1);
    const s = await store.get(key, T0 + 120_000);
    assert.equal(s?.locked_until, T0 + HOUR, "still there after the 1-minute ttl: the lock extends expiry");
    assert.ok((s?.expires_at ?? 0) >= T0 + HOUR);
    const after = await store.fail(key, T0 + 130_000, 60_000);
    assert.equal(after.count, 2);
    assert.equal(after.locked_until, T0 + HOUR, "a failure keeps the lock");
    assert.equal(await store.lock(key, T0 + 2 * HOUR), false, "relocking is not a new episode");
    assert.equal((await store.get(key, T0 + 140_000))?.locked_until, T0 + 2 * HOUR);
    await store.lock(key, T0 + HOUR);
    assert.equal((await store.get(key, T0 + 140_000))?.locked_until, T0 + 2 * HOUR, "never shortened");
    await store.reset(key);
    assert.equal(await store.get(key, T0 + 150_000), null);
    await store.fail(key, T0 + 160_000, 60_000);
    assert.equal(await store.lock(key, T0 + 3 * HOUR), true, "after reset a lock starts a new episode");
  });

  test("an entry expired after its lock ended starts over unlocked", async () => {
    const key = k("expired-lock");
    await store.fail(key, T0, 1000);
    await store.lock(key, T0 + 5000);
    const s = await store.fail(key, T0 + 10_000, 1000);
    assert.deepEqual([s.count, s.locked_until], [1, null]);
    assert.equal(await store.lock(key, T0 + 20_000), true);
  });

  test("claim: compare-and-set on last_at, one winner among 20", async () => {
    const key = k("claim");
    assert.equal(await store.claim(key, T0, T0 + 1), false);
    const s = await store.fail(key, T0, HOUR);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claim(key, s.last_at, T0 + 5000)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal((await store.get(key, T0 + 5000))?.last_at, T0 + 5000);
    assert.equal((await store.get(key, T0 + 5000))?.count, 1, "a claim does not count");
  });

  test("hit: fixed window, 50 parallel hits count 50, a new window starts at 1", async () => {
    const key = k("hit");
    const counts = await Promise.all(Array.from({ length: 50 }, () => store.hit(key, T0, 60_000)));
    assert.deepEqual([...counts].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(await store.hit(key, T0 + 59_999, 60_000), 51);
    assert.equal((await store.get(key, T0 + 30_000))?.expires_at, T0 + 60_000, "the window does not slide");
    assert.equal(await store.hit(key, T0 + 60_000, 60_000), 1);
    assert.equal((await store.get(key, T0 + 60_000))?.expires_at, T0 + 120_000);
  });

  test("reset is idempotent and per key", async () => {
    const a = k("a");
    const b = k("b");
    await store.fail(a, T0, HOUR);
    await store.fail(b, T0, HOUR);
    await store.reset(a);
    await store.reset(a);
    assert.equal(await store.get(a, T0), null);
    assert.equal((await store.get(b, T0))?.count, 1);
  });

  test("prune deletes expired entries only", async (t) => {
    if (!store.prune) return t.skip("this store expires entries by itself");
    const old = k("old");
    const live = k("live");
    await store.fail(old, T0 - 10 * HOUR, HOUR);
    await store.fail(live, T0, HOUR);
    assert.ok((await store.prune(T0)) >= 1);
    assert.equal(await store.get(old, T0 - 10 * HOUR), null, "gone even when read at its own time");
    assert.equal((await store.get(live, T0))?.count, 1);
  });

  // The brute-force policy (security/throttle/throttle.ts) over this store: the behaviour users see must not depend
  // on where the counters live.
  const policy = (over: { identifier?: Record<string, number>; ip?: Record<string, number>; messages?: Record<string, number> } = {}) => {
    const bf = {
      ...bruteForce,
      identifier: { ...bruteForce.identifier, ...over.identifier },
      ip: { ...bruteForce.ip, ...over.ip },
      messages: { ...bruteForce.messages, ...over.messages },
    };
    const config = { security: { brute_force: bf } } as unknown as Pick<Config, "security">;
    const clock = createManualClock(new Date(T0));
    const lockouts: string[] = [];
    const throttle = createThrottle({ store, config, clock, secret: "s3cret", onLockout: async (id) => void lockouts.push(id) });
    return { throttle, clock, lockouts };
  };
  const refusedFor = async (p: Promise<unknown>): Promise<number | null> => {
    try {
      await p;
      return null;
    } catch (e) {
      assert.ok(e instanceof AppError && e.code === 429, String(e));
      return Number(e.headers?.["retry-after"]);
    }
  };

  test("policy: 5 free failures, then a wait doubling from 1 s up to max_delay; a success starts over", async () => {
    const { throttle, clock } = policy({ identifier: { max_delay: 4000 } });
    const who = `delay-${seq++}@example.com`;
    for (let i = 0; i < 4; i++) {
      assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), null, `free attempt ${i + 1}`);
      await throttle.failed(who, "192.0.2.1");
    }
    assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), null);
    await throttle.failed(who, "192.0.2.1"); // 5th failure: 1 s wait
    assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), 1);
    for (const wait of [1000, 2000, 4000, 4000]) {
      clock.advance(wait);
      assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), null, `after ${wait} ms`);
      await throttle.failed(who, "192.0.2.1");
    }
    assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), 4, "capped at max_delay");
    clock.advance(4000);
    await throttle.check(who, "192.0.2.1");
    await throttle.succeeded(who);
    assert.equal((await throttle.status(who))?.count ?? 0, 0);
    assert.equal(await refusedFor(throttle.check(who, "192.0.2.1")), null);
  });

  test("policy: max_consecutive_failures locks the identifier for the lockout, onLockout once; then it ends", async () => {
    const { throttle, clock, lockouts } = policy({ identifier: { free_attempts: 3, max_delay: 1000, max_consecutive_failures: 6, lockout: 60_000 } });
    const who = `lock-${seq++}@example.com`;
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      await throttle.check(who, "192.0.2.2");
      await throttle.failed(who, "192.0.2.2");
    }
    const wait = await refusedFor(throttle.check(who, "192.0.2.2"));
    assert.ok(wait !== null && wait > 50 && wait <= 60, `locked for the lockout, Retry-After ${wait}`);
    assert.equal(lockouts.length, 1);
    clock.advance(30_000);
    assert.notEqual(await refusedFor(throttle.check(who, "192.0.2.2")), null, "still locked");
    clock.advance(31_000);
    assert.equal(await refusedFor(throttle.check(who, "192.0.2.2")), null, "the lockout ended");
    assert.equal(lockouts.length, 1, "one notice per lockout, not per attempt");
  });

  test("policy: 50 parallel failures of one identifier count 50", async () => {
    const { throttle } = policy();
    const who = `burst-${seq++}@example.com`;
    await Promise.all(Array.from({ length: 50 }, () => throttle.failed(who, "192.0.2.3")));
    assert.equal((await throttle.status(who))?.count, 50);
  });

  test("policy: ip.max_failures across identifiers refuses that IP only", async () => {
    const { throttle } = policy({ ip: { max_failures: 10 } });
    const ip = `198.51.100.${seq % 250}`;
    for (let i = 0; i < 10; i++) await throttle.failed(`ipcap-${seq++}-${i}@example.com`, ip);
    assert.notEqual(await refusedFor(throttle.check(`fresh-${seq++}@example.com`, ip)), null);
    assert.equal(await refusedFor(throttle.check(`fresh-${seq++}@example.com`, "203.0.113.77")), null);
  });

  test("policy: message caps per address and per IP", async () => {
    const { throttle } = policy({ messages: { per_address: 3 } });
    const address = `inbox-${seq++}@example.com`;
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await throttle.allowMessage(address, "192.0.2.4"));
    assert.deepEqual(sent, [true, true, true, false, false]);
    const ip = `192.0.2.${100 + (seq % 100)}`;
    const perIp = [];
    for (let i = 0; i < 14; i++) perIp.push(await throttle.allowMessage(`spread-${seq++}@example.com`, ip));
    assert.equal(perIp.filter(Boolean).length, 12, "per IP: 4 x per_address");
  });

  test("two instances on one backend enforce one shared count (policy over two store clients)", async (t) => {
    const backend = getBackend();
    if (!backend.shared) return t.skip("per-process store");
    const config = { security: { brute_force: bruteForce } } as unknown as Pick<Config, "security">;
    const clock = createManualClock(new Date(T0));
    const other = backend.open();
    const a = createThrottle({ store, config, clock, secret: "s3cret" });
    const b = createThrottle({ store: other, config, clock, secret: "s3cret" });
    const who = `shared-${seq++}@example.com`;
    const failures = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).failed(who, "192.0.2.1"));
    await Promise.all(failures);
    assert.equal((await a.status(who))?.count, 30);
    assert.equal((await b.status(who))?.count, 30);
    await assert.rejects(b.check(who, "192.0.2.9"), (e: unknown) => e instanceof AppError && e.code === 429);
    await a.clear(who);
    await b.check(who, "192.0.2.9");
    await other.close?.();
  });
}

const bruteForce = {
  enabled: true,
  identifier: { free_attempts: 5, max_delay: 15 * 60_000, max_consecutive_failures: 100, lockout: HOUR },
  ip: { max_failures: 1000, window: 24 * HOUR, max_requests: 600 },
  messages: { per_address: 5, window: HOUR },
  store: "sql",
};

describeEachDatabase("throttle store contract (sql)", (target) => {
  const databases: Database[] = [];
  let dsn = "";
  let drop: () => Promise<void>;
  before(async () => {
    const d = await target.dsn();
    dsn = d.dsn;
    drop = d.drop;
    const first = createDatabase(dsn);
    databases.push(first);
    await migrator(first).up();
  });
  after(async () => {
    for (const d of databases) await d.destroy();
    await drop();
  });
  // The first store uses the migrated handle; every further one opens its own pool (another "instance").
  let opened = 0;
  contract(() => ({
    shared: true,
    open() {
      const database = opened++ === 0 ? databases[0] : createDatabase(dsn);
      if (!databases.includes(database)) databases.push(database);
      return createSqlThrottleStore(database);
    },
  }));
});

const REDIS_URL = process.env.TEST_REDIS_URL;
if (REDIS_URL) {
  describe("throttle store contract [redis]", () => {
    const prefix = `tessera-test:${randomBytes(6).toString("hex")}:`;
    const opened: ThrottleStore[] = [];
    after(async () => {
      for (const s of opened) await s.close?.();
      const raw = new Redis(REDIS_URL);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
          cursor = next;
          if (keys.length) await raw.del(...keys);
        } while (cursor !== "0");
        assert.equal((await raw.keys(`${prefix}*`)).length, 0);
      } finally {
        await raw.quit();
      }
    });
    contract(() => ({
      shared: true,
      open() {
        const s = createRedisThrottleStore(REDIS_URL, { keyPrefix: prefix });
        opened.push(s);
        return s;
      },
    }));
  });
} else {
  test("throttle store contract [redis]", { skip: "skipped redis: TEST_REDIS_URL not set" }, () => {});
}

describe("throttle store contract [memory]", () => {
  contract(() => ({ shared: false, open: () => createMemoryThrottleStore() }));
});
