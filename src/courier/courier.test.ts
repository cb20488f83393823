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
