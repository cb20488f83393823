/**
 * Password normalization and length, per NIST SP 800-63B 5.1.1.2: Unicode passwords are normalized with NFKC before
 * they are measured, checked against lists and hashed, so "é" typed as one code point (U+00E9) or as "e" + U+0301
 * gives the same password. Length is counted in code points, not UTF-16 units or bytes (an emoji is one character).
 */

/** The form a password is measured, checked and hashed in. Login must hash the same form (see docs/password-policy.md). */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/** Number of Unicode code points of an already normalized string. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low surrogate is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Length in Unicode code points after NFKC normalization. */
export function passwordLength(password: string): number {
  return codePointLength(normalizePassword(password));
}

/**
 * Canonical composition merges at most a handful of code points into one (4 for the longest canonical decompositions,
 * 3 for Hangul), and a code point is at most 2 UTF-16 units. So a string longer than 16 x max UTF-16 units cannot be
 * short enough after NFKC, and it is rejected without normalizing megabytes.
 */
const MAX_CONTRACTION_UNITS = 16;

export type MeasuredPassword =
  | { ok: true; normalized: string; length: number }
  | { ok: false; tooLong: true; length: number };

/**
 * Measures a password against an upper bound cheaply: absurdly long inputs are rejected in O(1), never normalized nor
 * scanned; their reported length is the UTF-16 length (exact for ASCII, at most twice the code points otherwise), a
 * close enough figure for the error message of a megabyte-long input.
 */
export function measurePassword(password: string, max: number): MeasuredPassword {
  if (password.length > max * MAX_CONTRACTION_UNITS) {
    return { ok: false, tooLong: true, length: password.length };
  }
  const normalized = normalizePassword(password);
  return { ok: true, normalized, length: codePointLength(normalized) };
}
