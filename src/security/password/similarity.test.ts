import { test } from "node:test";
import assert from "node:assert/strict";
import { isTooSimilar, levenshtein, longestCommonSubstring } from "./similarity.ts";

const cp = (s: string) => Array.from(s);

test("levenshtein and longest common substring on known pairs", () => {
  assert.equal(levenshtein(cp("kitten"), cp("sitting")), 3);
  assert.equal(levenshtein(cp(""), cp("abc")), 3);
  assert.equal(levenshtein(cp("flaw"), cp("lawn")), 2);
  assert.equal(longestCommonSubstring(cp("xabcdy"), cp("zabcdw")), 4);
  assert.equal(longestCommonSubstring(cp("abc"), cp("xyz")), 0);
  // Code points, not UTF-16 units: one emoji is one edit.
  assert.equal(levenshtein(cp("ab😀"), cp("ab😁")), 1);
});

test("identifier embedded in the password is too similar (common substring > half the password)", () => {
  assert.equal(isTooSimilar("alice@example.com!", "alice@example.com"), true);
  assert.equal(isTooSimilar("my-alice-smith-pw", "alice-smith"), true);
});

test("close edit distance is too similar, case-insensitively", () => {
  assert.equal(isTooSimilar("Johndoe12", "johndoe"), true); // distance 2
  assert.equal(isTooSimilar("JOHNDOE", "johndoe"), true);
});

test("unrelated password is fine", () => {
  assert.equal(isTooSimilar("correct horse battery staple", "alice@example.com"), false);
  assert.equal(isTooSimilar("Tr0ub4dor&3-extended", "bob"), false);
  assert.equal(isTooSimilar("anything-at-all", ""), false);
});

test("comparison is on the NFKC form of the word too", () => {
  assert.equal(isTooSimilar("jos\u00e9-ramirez", "jose\u0301-ramirez"), true);
});
