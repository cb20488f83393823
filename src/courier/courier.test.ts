import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffMs } from "./courier.ts";

test("backoff doubles per failure, is capped, and jitters within +-20 %", () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4].map((f) => backoffMs(f, 1000, 60_000, mid)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffMs(30, 1000, 60_000, mid), 60_000);
  assert.equal(backoffMs(1, 1000, 60_000, () => 0), 800);
  assert.equal(backoffMs(1, 1000, 60_000, () => 0.999999), 1200);
  for (let i = 0; i < 100; i++) {
    const v = backoffMs(3, 1000, 60_000);
    assert.ok(v >= 3200 && v <= 4800, String(v));
  }
});

test("courier.delivery_strategy: only smtp is accepted; http (email over HTTP, not implemented) stops the start", async () => {
  const { loadConfig } = await import("../config/load.ts");
  const { baseTestConfig, deepMerge } = await import("../../test/helpers/create-test-app.ts");
  const load = (courier: Record<string, unknown>) => loadConfig({ overrides: deepMerge(baseTestConfig("sqlite:///tmp/tessera-unused.db"), { courier }), env: {}, dev: false });
  assert.equal((await load({})).config.courier.delivery_strategy, "smtp");
  assert.equal((await load({ delivery_strategy: "smtp" })).config.courier.delivery_strategy, "smtp");
  await assert.rejects(load({ delivery_strategy: "http" }), (e: Error) => {
    assert.equal(e.message, 'config: /courier/delivery_strategy: must be one of "smtp"');
    return true;
  });
});
