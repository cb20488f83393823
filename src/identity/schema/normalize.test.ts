import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeIdentifier, normalizeTraitValue, toE164 } from "./normalize.ts";

test("email: trim, NFKC, lower-case", () => {
  assert.equal(normalizeIdentifier("  Foo.Bar@Example.COM\t", "email"), "foo.bar@example.com");
  // fullwidth letters and an ideographic space (U+3000) fold under NFKC, then trim removes the space
  assert.equal(normalizeIdentifier("\u3000ｆｏｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email"), "foo@example.com");
  // the ligature "ﬁ" (U+FB01) becomes "fi"
  assert.equal(normalizeIdentifier("ﬁnn@example.com", "email"), "finn@example.com");
  // NFC and NFD spellings of é are the same identifier
  assert.equal(normalizeIdentifier("Ren\u00e9@example.com", "email"), normalizeIdentifier("Rene\u0301@example.com", "email"));
});

test("phone: E.164", () => {
  assert.equal(normalizeIdentifier("+1 (415) 555-2671", "phone"), "+14155552671");
  assert.equal(normalizeIdentifier(" +44 7911 123456 ", "phone"), "+447911123456");
  assert.equal(normalizeIdentifier("+49 30 901820", "phone"), "+4930901820");
  // fullwidth digits fold under NFKC first
  assert.equal(normalizeIdentifier("＋１ ４１５ ５５５ ２６７１", "phone"), "+14155552671");
  assert.equal(toE164("4155552671"), undefined, "no country code");
  assert.equal(toE164("+1 555"), undefined, "too short");
  assert.equal(toE164("call me"), undefined);
  // unparsable input never throws: it falls back to the cleaned text
  assert.equal(normalizeIdentifier("  call me ", "phone"), "call me");
});

test("username: identifier is trimmed, NFKC and lower-cased; the stored trait keeps its case", () => {
  assert.equal(normalizeIdentifier("  Ａlice ", "username"), "alice");
  assert.equal(normalizeTraitValue("  Ａlice ", "username"), "Alice");
  assert.equal(normalizeTraitValue(" Foo@Example.COM ", "email"), "foo@example.com");
  assert.equal(normalizeTraitValue("+1 (415) 555-2671", "phone"), "+14155552671");
});
