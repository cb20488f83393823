/**
 * The UI text shape (Kratos `uiText`) and the one constructor every catalog file uses. Ory Elements renders from
 * `id` + `context` and ignores `text`, so each builder must carry Kratos's exact context keys.
 */
export type UiTextType = "info" | "error" | "success";

export interface UiText {
  id: number;
  text: string;
  type: UiTextType;
  context?: Record<string, unknown>;
}

/** Builds a UiText. `context` defaults to `{}`, as Kratos's `context(nil)` serializes. */
export const msg = (id: number, type: UiTextType, text: string, context: Record<string, unknown> = {}): UiText => ({
  id,
  text,
  type,
  context,
});

/** Go's `%.2f` of the minutes between two instants (Kratos prints "1.00 minutes"). */
export function minutesBetween(from: Date, to: Date): string {
  return ((to.getTime() - from.getTime()) / 60_000).toFixed(2);
}

/** Go's JSON form of a UTC time.Time (RFC 3339, fraction without trailing zeros): "2020-01-01T00:59:59Z". */
export function goTime(at: Date): string {
  return at.toISOString().replace(/\.000Z$/, "Z").replace(/(\.\d*?)0+Z$/, "$1Z");
}

/** Kratos sends a time.Time next to its Unix seconds (`*_unix`). */
export function timeContext(key: string, at: Date): Record<string, unknown> {
  return { [key]: goTime(at), [`${key}_unix`]: Math.floor(at.getTime() / 1000) };
}

/** Go's default time.Time String() in UTC: "2020-01-01 00:59:59 +0000 UTC". */
export function goTimeString(at: Date): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** Go's `%q` for the strings we quote (JSON string syntax is the same for printable text). */
export const goQuote = (s: string): string => JSON.stringify(s);
