import { AppError, isAppError } from "../../util/app-error.ts";
import { msg, timeContext } from "../../ui/text.ts";
import type { UiText } from "../../ui/text.ts";

/**
 * What a throttled client sees. These ids are Tessera's own (Kratos v26.2 has no brute-force protection): error id
 * `self_service_too_many_attempts`, and UI message ids in the 499xxxx range, which Kratos does not use (its error
 * messages are 4000001-4070xxx), so a future Kratos id cannot collide.
 *
 * - 4990001 `ErrorThrottled`: "Too many failed attempts. Please try again in N seconds."
 *   context `{retry_after_seconds, retry_at, retry_at_unix}`
 * - 4990002 `ErrorIdentifierLocked`: "Too many failed attempts. Sign-in is paused until <time>, or recover your account."
 *   same context
 * - 4990003 `ErrorTooManyRequests`: "Too many requests. Please try again in N seconds." (volumetric per-IP limit)
 *
 * The answer never depends on whether the account exists: the throttle never looks accounts up.
 */
export const THROTTLE_ERROR_ID = "self_service_too_many_attempts";
export const TOO_MANY_REQUESTS_ERROR_ID = "too_many_requests";
export const THROTTLE_MESSAGE_IDS = Object.freeze({ throttled: 4990001, locked: 4990002, tooManyRequests: 4990003 });

const seconds = (now: number, until: number): number => Math.max(1, Math.ceil((until - now) / 1000));

const details = (now: number, until: number, locked: boolean) => ({
  retry_after_seconds: seconds(now, until),
  retry_at: new Date(until).toISOString(),
  locked,
});

/** 429 for a refused attempt (identifier delay or lockout, or too many failures from the IP). */
export function tooManyAttempts(now: number, until: number, locked: boolean): AppError {
  return new AppError({
    id: THROTTLE_ERROR_ID,
    code: 429,
    message: "Too many failed attempts",
    reason: `Too many failed attempts. Try again in ${seconds(now, until)} seconds.`,
    details: details(now, until, locked),
    headers: { "retry-after": String(seconds(now, until)) },
  });
}

/** 429 for the volumetric per-IP request limit. */
export function tooManyRequests(now: number, until: number): AppError {
  return new AppError({
    id: TOO_MANY_REQUESTS_ERROR_ID,
    code: 429,
    message: "Too many requests",
    reason: `Too many requests from this client. Try again in ${seconds(now, until)} seconds.`,
    details: { retry_after_seconds: seconds(now, until), retry_at: new Date(until).toISOString() },
    headers: { "retry-after": String(seconds(now, until)) },
  });
}

const ctx = (retryAfter: number, at: Date) => ({ retry_after_seconds: retryAfter, ...timeContext("retry_at", at) });

export const throttledMessage = (retryAfterSeconds: number, retryAt: Date): UiText =>
  msg(4990001, "error", `Too many failed attempts. Please try again in ${retryAfterSeconds} seconds.`, ctx(retryAfterSeconds, retryAt));

export const identifierLockedMessage = (retryAfterSeconds: number, retryAt: Date): UiText =>
  msg(
    4990002,
    "error",
    `Too many failed attempts. Sign-in is paused until ${retryAt.toISOString()}, or recover your account to continue now.`,
    ctx(retryAfterSeconds, retryAt),
  );

export const tooManyRequestsMessage = (retryAfterSeconds: number, retryAt: Date): UiText =>
  msg(4990003, "error", `Too many requests. Please try again in ${retryAfterSeconds} seconds.`, ctx(retryAfterSeconds, retryAt));

/** True for the errors built here (both 429s). */
export function isThrottleError(e: unknown): e is AppError {
  return isAppError(e) && e.code === 429 && (e.id === THROTTLE_ERROR_ID || e.id === TOO_MANY_REQUESTS_ERROR_ID);
}

/** The UI message for a throttle error, for a flow's `ui.messages`; undefined for any other error. */
export function throttleUiMessage(e: unknown): UiText | undefined {
  if (!isThrottleError(e)) return undefined;
  const d = e.details ?? {};
  const after = Number(d.retry_after_seconds);
  const at = new Date(String(d.retry_at));
  if (e.id === TOO_MANY_REQUESTS_ERROR_ID) return tooManyRequestsMessage(after, at);
  return d.locked === true ? identifierLockedMessage(after, at) : throttledMessage(after, at);
}
