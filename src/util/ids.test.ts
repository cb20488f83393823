import { test } from "node:test";
import assert from "node:assert/strict";
import { randomAlphanumeric } from "./ids.ts";

test("randomAlphanumeric: the requested length, only [A-Za-z0-9], no repeats", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const t = randomAlphanumeric(32);
    assert.match(t, /^[A-Za-z0-9]{32}$/);
    assert.ok(!seen.has(t));
    seen.add(t);
  }
  assert.equal(randomAlphanumeric(0), "");
  assert.equal(randomAlphanumeric(5000).length, 5000);
});

test("randomAlphanumeric: every character about equally likely (no modulo bias), across pool refills", () => {
  const counts = new Map<string, number>();
  const n = 62 * 4000;
  const s = randomAlphanumeric(n);
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // Expected 4000 each; with bias from `% 62` over all 256 byte values, the first 8 characters would be 1.2 times as likely (about 4840).
  for (const [c, k] of counts) assert.ok(k > 3600 && k < 4400, `${c}: ${k}`);
});
