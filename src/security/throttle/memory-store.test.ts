import { test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import type { Config } from "../../config/config.ts";
import { createManualClock } from "../../util/clock.ts";
import { createMemoryThrottleStore } from "./memory-store.ts";
import { registerIpRateLimit } from "./routes.ts";

/**
 * The memory store forgets expired entries by itself (amortized on writes, with the callers' clock), so the volumetric
 * per-IP limit's Map does not grow with every distinct client IP ever seen.
 */
const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const MIN = 60_000;

test("memory store: expired entries are swept on a later write; the map shrinks, live entries stay", async () => {
  const store = createMemoryThrottleStore({ pruneEveryMs: MIN });
  for (let i = 0; i < 1000; i++) await store.hit(`ipr:${i}`, T0, MIN);
  await store.fail("id:kept", T0, 10 * MIN);
  assert.equal(store.size(), 1001);
  // Within the sweep interval nothing is swept, even though reads of expired keys would already miss.
  await store.hit("ipr:late", T0 + 30_000, MIN);
  assert.equal(store.size(), 1002);
  // One window later the next write sweeps every expired window; the live ones keep their counts.
  assert.equal(await store.hit("ipr:new", T0 + MIN + 1, MIN), 1);
  assert.equal(store.size(), 3, "the 1000 expired windows are gone");
  assert.equal((await store.get("id:kept", T0 + MIN + 1))?.count, 1);
  assert.equal(await store.hit("ipr:late", T0 + MIN + 2, MIN), 2, "a live window keeps counting");
  // Locks hold their entry until they end.
  await store.lock("id:kept", T0 + 20 * MIN);
  await store.hit("ipr:x", T0 + 15 * MIN, MIN);
  assert.equal((await store.get("id:kept", T0 + 15 * MIN))?.count, 1);
  await store.hit("ipr:y", T0 + 21 * MIN, MIN);
  assert.equal(store.size(), 1, "only the newest window is left");
});

test("memory store: prune() removes expired entries and reports how many", async () => {
  const store = createMemoryThrottleStore();
  await store.hit("a", T0, MIN);
  await store.hit("b", T0, 5 * MIN);
  assert.equal(await store.prune(T0 + 2 * MIN), 1);
  assert.equal(store.size(), 1);
});

test("volumetric limit on the memory store: one entry per client IP, forgotten after its window", async () => {
  const clock = createManualClock(new Date(T0));
  const store = createMemoryThrottleStore();
  const app = Fastify();
  const config = {
    security: { brute_force: { enabled: true, ip: { max_requests: 2, max_failures: 100, window: MIN } } },
    serve: { public: { trusted_proxies: ["127.0.0.1"] } },
  } as unknown as Pick<Config, "security" | "serve">;
  registerIpRateLimit(app, { store, config, clock, secret: "unit-secret" });
  app.get("/x", async () => "ok");
  const from = (ip: string) => app.inject({ method: "GET", url: "/x", headers: { "x-forwarded-for": ip } });
  for (let i = 0; i < 200; i++) assert.equal((await from(`198.51.100.${i}`)).statusCode, 200);
  assert.equal(store.size(), 200);
  for (let i = 0; i < 2; i++) await from("203.0.113.9");
  assert.equal((await from("203.0.113.9")).statusCode, 429);
  clock.advance(MIN + 1);
  assert.equal((await from("192.0.2.1")).statusCode, 200);
  assert.equal(store.size(), 1, "the 201 expired windows were swept");
  assert.equal((await from("203.0.113.9")).statusCode, 200, "the refused client's window ended too");
  await app.close();
});
