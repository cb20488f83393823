import { test } from "node:test";
import assert from "node:assert/strict";
import { codePointLength, measurePassword, normalizePassword, passwordLength } from "./normalize.ts";

test("length counts code points, not UTF-16 units", () => {
  assert.equal("😀😀😀😀".length, 8);
  assert.equal(passwordLength("😀😀😀😀"), 4);
  // A family emoji is several code points joined by ZWJ: each counts.
  assert.equal(passwordLength("👩‍👩‍👧"), 5);
  assert.equal(codePointLength("a\u{1F600}b"), 3);
});

test("é typed precomposed or as e + combining accent has the same form and length", () => {
  const precomposed = "caf\u00e9caf\u00e9";
  const combining = "cafe\u0301cafe\u0301";
  assert.notEqual(precomposed, combining);
  assert.equal(normalizePassword(precomposed), normalizePassword(combining));
  assert.equal(passwordLength(precomposed), 8);
  assert.equal(passwordLength(combining), 8);
});

test("combining marks without a precomposed form stay separate code points", () => {
  // q + combining dot below has no precomposed character: 2 code points.
  assert.equal(passwordLength("q\u0323"), 2);
  // NFKC folds compatibility characters: the "ﬁ" ligature becomes "fi", full-width A becomes A.
  assert.equal(normalizePassword("\ufb01\uff21"), "fiA");
});

test("a 1,000,000-character input is measured without normalizing it, quickly", () => {
  const huge = "a".repeat(1_000_000);
  const t0 = performance.now();
  const m = measurePassword(huge, 1024);
  const ms = performance.now() - t0;
  assert.equal(m.ok, false);
  assert.equal(m.length, 1_000_000);
  assert.ok(ms < 100, `took ${ms} ms`);
  // Just above the bound (16 x max UTF-16 units) is rejected the same way; just below is measured exactly.
  assert.equal(measurePassword("b".repeat(16 * 64 + 1), 64).ok, false);
  const below = measurePassword("e\u0301".repeat(8 * 64), 64);
  assert.ok(below.ok === true && below.length === 512);
});

test("inputs near the bound are normalized and measured exactly", () => {
  const m = measurePassword("e\u0301".repeat(1024), 1024);
  assert.ok(m.ok);
  assert.equal(m.length, 1024);
});
