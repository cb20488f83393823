import { test } from "node:test";
import assert from "node:assert/strict";
import { isUuid, newId, randomAlphanumeric } from "./ids.ts";

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

test("newId: RFC 9562 version 7 (time first, version 7, variant 10), unique, later ids sort later", async () => {
  const before = Date.now();
  const ids = Array.from({ length: 5000 }, () => newId());
  const after = Date.now();
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(isUuid(id));
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    assert.ok(ms >= before && ms <= after, `timestamp ${ms} outside [${before}, ${after}]`);
  }
  await new Promise((r) => setTimeout(r, 3));
  const later = newId();
  assert.ok(ids.every((id) => id < later), "an id made in a later millisecond sorts after every earlier one");
});

test("newId: the 74 random bits are uniform (each hex digit of the random part about equally likely)", () => {
  const counts = new Map<string, number>();
  const n = 16 * 1000;
  for (let i = 0; i < n / 15; i++) {
    const id = newId();
    // Random hex digits: 3 after the version, 3 after the variant digit, the last 12; the variant digit carries 2 bits.
    for (const c of id.slice(15, 18) + id.slice(20, 23) + id.slice(24)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  assert.equal(counts.size, 16);
  for (const [c, k] of counts) assert.ok(Math.abs(k / total - 1 / 16) < 0.012, `${c}: ${k} of ${total}`);
});
