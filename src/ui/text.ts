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

/** Kratos serializes time.Time as RFC 3339 and adds the Unix seconds next to it (`*_unix`). */
export function timeContext(key: string, at: Date): Record<string, unknown> {
  return { [key]: at.toISOString(), [`${key}_unix`]: Math.floor(at.getTime() / 1000) };
}

/** Go's default time.Time String() in UTC: "2020-01-01 00:59:59 +0000 UTC". */
export function goTimeString(at: Date): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** Go's `%q` for the strings we quote (JSON string syntax is the same for printable text). */
export const goQuote = (s: string): string => JSON.stringify(s);
