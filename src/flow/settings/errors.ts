/**
 * The settings flow's own errors, with Kratos's ids, codes and top-level `redirect_browser_to` field.
 */
import { msg, type UiText } from "../../ui/text.ts";
import { AppError } from "../../util/app-error.ts";

/** 403 `session_refresh_required`: the session is older than `privileged_session_max_age` (Kratos FlowNeedsReAuth). */
export const sessionRefreshRequired = (redirectTo: string): AppError =>
  new AppError({
    id: "session_refresh_required",
    code: 403,
    message: "The requested action was forbidden",
    reason: "The login session is too old and thus not allowed to update these fields. Please re-authenticate.",
    extra: { redirect_browser_to: redirectTo },
  });

/** 403 `session_aal2_required`: `required_aal: highest_available` and the identity has a second factor not used. */
export const sessionAal2Required = (redirectTo: string): AppError =>
  new AppError({
    id: "session_aal2_required",
    code: 403,
    message: "Session does not fulfill the requested Authenticator Assurance Level",
    reason:
      "An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.",
    details: { redirect_browser_to: redirectTo },
    extra: { redirect_browser_to: redirectTo },
  });

/** 403 `security_identity_mismatch`: the flow belongs to another identity than the request's session. */
export const identityMismatch = (): AppError =>
  new AppError({
    id: "security_identity_mismatch",
    code: 403,
    message: "The requested action was forbidden",
    reason: "The request was initiated by someone else and has been blocked for security reasons. Please go back and try again.",
  });

/** The URL a browser is sent to, from an error that carries one. */
export function redirectOf(e: unknown): string | undefined {
  if (!(e instanceof AppError)) return undefined;
  const to = e.extra?.redirect_browser_to;
  return typeof to === "string" ? to : undefined;
}

/**
 * 4991001 (ours; Kratos has no such message, and 499xxxx is a range Kratos does not use): the change is stored but a
 * message it causes (`password_changed`, a notice, a changed address's verification) could not be queued. The flow
 * keeps the message and any next submit of it queues it first, so submitting again is the retry.
 */
export const MESSAGES_NOT_QUEUED_ID = 4991001;
export const messagesNotQueued = (): UiText =>
  msg(MESSAGES_NOT_QUEUED_ID, "error", "Your changes were saved, but the email about them could not be sent yet. Please submit the form again to retry.");
