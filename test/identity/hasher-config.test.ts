import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { loadConfig } from "../../src/config/load.ts";
import { baseTestConfig, createTestApp, deepMerge } from "../helpers/create-test-app.ts";

/**
 * The hasher's concurrency bounds come from the config: `hashers.argon2.max_concurrency` and `hashers.max_queue_wait`
 * (Tessera extensions, docs/hashing.md), besides Kratos's `hashers.argon2.dedicated_memory`.
 */
describe("hasher bounds from the config", () => {
  test("defaults: min(floor(dedicated_memory / memory), CPUs) hashes at once, 2 s queue wait", async () => {
    const t = await createTestApp({ config: { hashers: { argon2: { memory: "4MB", dedicated_memory: "1GB" } } } });
    try {
      assert.equal(t.app.deps.hasher.stats().limit, Math.min(256, Math.max(1, availableParallelism())));
      assert.equal(t.app.deps.config.hashers.argon2.dedicated_memory, 1024 ** 3);
      assert.equal((t.app.deps.config.hashers as { max_queue_wait?: number }).max_queue_wait, 2000);
    } finally {
      await t.close();
    }
    const small = await createTestApp({ config: { hashers: { argon2: { memory: "4MB", dedicated_memory: "8MB", max_concurrency: 64 } } } });
    try {
      assert.equal(small.app.deps.hasher.stats().limit, 2, "the memory budget still bounds it");
    } finally {
      await small.close();
    }
  });

  test("max_concurrency: 1 with a short max_queue_wait sheds concurrent imports with 503 and Retry-After", async () => {
    const t = await createTestApp({
      config: { hashers: { argon2: { memory: "16MB", iterations: 3, max_concurrency: 1 }, max_queue_wait: "1ms" } },
    });
    try {
      assert.equal(t.app.deps.hasher.stats().limit, 1);
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          t.app.admin.inject({
            method: "POST",
            url: "/admin/identities",
            headers: { "content-type": "application/json" },
            payload: JSON.stringify({ schema_id: "default", traits: { email: `shed-${i}@example.com` }, credentials: { password: { config: { password: `a fine passphrase ${i}` } } } }),
          }),
        ),
      );
      const codes = responses.map((r) => r.statusCode);
      assert.ok(codes.includes(201), `one import gets the slot: ${codes.join(",")}`);
      const shed = responses.filter((r) => r.statusCode === 503);
      assert.ok(shed.length > 0, `the others wait longer than 1 ms and are shed: ${codes.join(",")}`);
      for (const r of shed) {
        assert.equal(r.headers["retry-after"], "1");
        assert.equal(r.json<{ error: { code: number } }>().error.code, 503);
      }
      assert.deepEqual(codes.filter((c) => c !== 201 && c !== 503), []);
    } finally {
      await t.close();
    }
  });

  test("invalid values stop the start with the key path", async () => {
    const load = (hashers: Record<string, unknown>) =>
      loadConfig({ overrides: deepMerge(baseTestConfig("memory"), { hashers }), env: {}, dev: false });
    await assert.rejects(load({ argon2: { max_concurrency: 0 } }), /\/hashers\/argon2\/max_concurrency/);
    await assert.rejects(load({ argon2: { max_concurrency: "many" } }), /\/hashers\/argon2\/max_concurrency/);
    await assert.rejects(load({ max_queue_wait: "soon" }), /\/hashers\/max_queue_wait/);
    const { config } = await load({ max_queue_wait: "250ms", argon2: { max_concurrency: 3 } });
    assert.equal((config.hashers as { max_queue_wait?: number }).max_queue_wait, 250);
    assert.equal((config.hashers.argon2 as { max_concurrency?: number }).max_concurrency, 3);
    // thread_nice: 19 unless configured, 0..19 only.
    const plain = await loadConfig({ overrides: { ...baseTestConfig("memory"), hashers: undefined }, env: {}, dev: false });
    assert.equal(plain.config.hashers.thread_nice, 19);
    await assert.rejects(load({ thread_nice: 20 }), /\/hashers\/thread_nice/);
    await assert.rejects(load({ thread_nice: -1 }), /\/hashers\/thread_nice/);
    assert.equal((await load({ thread_nice: 5 })).config.hashers.thread_nice, 5);
    // thread_policy: idle unless configured, idle or normal only.
    assert.equal(plain.config.hashers.thread_policy, "idle");
    await assert.rejects(load({ thread_policy: "realtime" }), /\/hashers\/thread_policy/);
    assert.equal((await load({ thread_policy: "normal" })).config.hashers.thread_policy, "normal");
  });
});
