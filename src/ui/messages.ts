/**
 * Every UI text Tessera shows, with Kratos's numeric ids and `context` objects (Ory Elements renders from id + context
 * and ignores `text`). Tests assert on ids. One builder per message; nothing else in the code base writes UI text.
 */
export type UiTextType = "info" | "error" | "success";

export interface UiText {
  id: number;
  text: string;
  type: UiTextType;
  context?: Record<string, unknown>;
}

const msg = (id: number, type: UiTextType, text: string, context: Record<string, unknown> = {}): UiText => ({
  id,
  text,
  type,
  context,
});

// 4000xxx: validation errors
export const invalidCredentials = () =>
  msg(4000006, "error", "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.");
export const passwordPolicyViolation = (reason: string) =>
  msg(4000005, "error", `The password can not be used because ${reason}.`, { reason });
export const passwordIdentifierTooSimilar = () =>
  msg(4000031, "error", "The password can not be used because it is too similar to the identifier.");
export const passwordTooShort = (min_length: number, actual_length: number) =>
  msg(4000032, "error", `The password must be at least ${min_length} characters long, but got ${actual_length}.`, { actual_length, min_length });
export const passwordTooLong = (max_length: number, actual_length: number) =>
  msg(4000033, "error", `The password must be at most ${max_length} characters long, but got ${actual_length}.`, { actual_length, max_length });
export const passwordBreached = (breaches: number) =>
  msg(4000034, "error", "The password has been found in data breaches and must no longer be used.", { breaches });
export const passwordSameAsOld = () =>
  msg(4000039, "error", "The new password must be different from the old password.");
