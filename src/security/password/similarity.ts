/**
 * Password-to-identifier similarity, Kratos's rule (selfservice/strategy/password/validator.go, v26.2): both strings are
 * lower-cased, and the password is rejected when the Levenshtein distance is below 5 or when the longest common
 * substring covers more than half of the password. Kratos counts bytes; we count Unicode code points of the NFKC form.
 * Tessera applies the same rule to other context words (trait values, the service name).
 */

export const MIN_DISTANCE = 5;
export const MAX_SUBSTRING_RATIO = 0.5;
/** Context words are truncated to this many code points so one huge trait cannot make the O(n*m) check costly. */
export const MAX_WORD_CODE_POINTS = 4096;

/** Levenshtein distance over code point arrays (two rolling rows). */
export function levenshtein(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let curr = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      curr[j] = Math.min(prev[j] + 1, curr[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length];
}

/** Length of the longest common substring (contiguous) over code point arrays. */
export function longestCommonSubstring(a: readonly string[], b: readonly string[]): number {
  let best = 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  let curr = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      if (a[i - 1] === b[j - 1]) {
        const v = prev[j - 1] + 1;
        curr[j] = v;
        if (v > best) best = v;
      } else {
        curr[j] = 0;
      }
    }
    [prev, curr] = [curr, prev];
  }
  return best;
}

/**
 * True when `password` (already NFKC-normalized) is too similar to `word` under Kratos's rule. Empty words never match.
 */
export function isTooSimilar(password: string, word: string): boolean {
  const p = Array.from(password.toLowerCase());
  const w = Array.from(word.normalize("NFKC").toLowerCase()).slice(0, MAX_WORD_CODE_POINTS);
  if (w.length === 0 || p.length === 0) return false;
  // The distance is at least the length difference, so it can only be < 5 when the lengths are close.
  if (Math.abs(p.length - w.length) < MIN_DISTANCE && levenshtein(p, w) < MIN_DISTANCE) return true;
  return longestCommonSubstring(w, p) / p.length > MAX_SUBSTRING_RATIO;
}
