import { test } from "node:test";
import assert from "node:assert/strict";
import { LruCache } from "./lru-cache.ts";

test("evicts the least recently used entry beyond capacity", () => {
  const c = new LruCache<string, number>(2, 1000);
  c.set("a", 1, 0);
  c.set("b", 2, 0);
  assert.equal(c.get("a", 0), 1); // a is now most recent
  c.set("c", 3, 0);
  assert.equal(c.get("b", 0), undefined);
  assert.equal(c.get("a", 0), 1);
  assert.equal(c.get("c", 0), 3);
  assert.equal(c.size, 2);
});

test("entries expire after the TTL", () => {
  const c = new LruCache<string, number>(10, 1000);
  c.set("a", 0, 5000);
  assert.equal(c.get("a", 5999), 0);
  assert.equal(c.get("a", 6000), undefined);
  assert.equal(c.size, 0);
});
