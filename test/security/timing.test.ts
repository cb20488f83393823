import { test } from "node:test";
import assert from "node:assert/strict";
import { ksStatistic, quantile, seededRandom } from "./timing.ts";

test("KS statistic: identical samples 0, disjoint samples 1, known small case", () => {
  assert.equal(ksStatistic([1, 2, 3], [1, 2, 3]), 0);
  assert.equal(ksStatistic([1, 2, 3], [10, 11, 12]), 1);
  // CDFs of [1,2,3,4] and [3,4,5,6]: the largest gap is at 2 (0.5 vs 0).
  assert.equal(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6]), 0.5);
});

test("quantiles interpolate; the PRNG is reproducible", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([5], 0.25), 5);
  const a = seededRandom(7);
  const b = seededRandom(7);
  for (let i = 0; i < 5; i++) assert.equal(a(), b());
});
