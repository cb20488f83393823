/**
 * The errors of the self-service flows, with Kratos's ids, codes, messages and extra top-level fields. Domain code
 * throws these; `respond.ts` decides between JSON, a 303 back to the UI, or a 303 to the error UI.
 */
import { AppError } from "../util/app-error.ts";
import type { UiText } from "../ui/messages.ts";
import type { FlowKind } from "./flow.ts";

export const csrfViolation = (hint: string): AppError =>
  new AppError({
    id: "security_csrf_violation",
    code: 403,
    message: "the request was rejected to protect you from Cross-Site-Request-Forgery",
    reason:
      "Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.",
    details: { docs: "https://www.ory.sh/kratos/docs/debug/csrf", hint, reject_reason: "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow." },
  });

/** An API flow submitted by something that looks like a browser (Kratos ErrCookieHeaderNeedsBrowserFlow / Origin). */
export const apiFlowFromBrowser = (header: "Cookie" | "Origin"): AppError =>
  new AppError({
    id: "bad_request",
    code: 400,
    message: "The request was malformed or contained invalid parameters",
    reason:
      header === "Cookie"
        ? 'The HTTP Request Header included the "Cookie" key, indicating that this request was made by a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.'
        : 'The HTTP Request Header included the "Origin" key, indicating that this request was made as part of an AJAX request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.',
  });

export const returnToForbidden = (returnTo: string): AppError =>
  new AppError({
    id: "self_service_flow_return_to_forbidden",
    code: 400,
    message: "The request was malformed or contained invalid parameters",
    reason: `Requested return_to URL ${JSON.stringify(returnTo)} is not allowed.`,
  });

export const sessionAlreadyAvailable = (): AppError =>
  new AppError({
    id: "session_already_available",
    code: 400,
    message: "you are already logged in",
    reason: "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?",
  });

export const identityDisabled = (): AppError =>
  new AppError({ id: "identity_disabled", code: 401, message: "identity is disabled", reason: "This account was disabled." });

export const flowNotFound = (): AppError =>
  new AppError({ id: "not_found", code: 404, message: "The requested resource could not be found", reason: "The flow could not be found. It may have been deleted or never existed." });

export const flowIdMissing = (): AppError =>
  new AppError({ id: "bad_request", code: 400, message: "The request was malformed or contained invalid parameters", reason: "The flow query parameter is missing or malformed." });

/** GET of an expired flow (Kratos answers 410 with where to start again). */
export const flowGone = (kind: FlowKind, details: Record<string, unknown>): AppError =>
  new AppError({
    id: "self_service_flow_expired",
    code: 410,
    message: "self-service flow expired",
    reason: `The ${kind} flow has expired. Redirect the user to the ${kind} flow init endpoint to initialize a new ${kind} flow.`,
    details,
  });

/** Submit of an expired flow: 410 with `use_flow_id` (the replacement flow), `expired_at` and `since` (Go ns). */
export const flowExpiredError = (newFlowId: string, expiredAt: Date, now: Date): AppError => {
  const sinceMs = now.getTime() - expiredAt.getTime();
  return new AppError({
    id: "self_service_flow_expired",
    code: 410,
    message: "self-service flow expired",
    reason: `The self-service flow expired ${(sinceMs / 60_000).toFixed(2)} minutes ago, initialize a new one.`,
    extra: { use_flow_id: newFlowId, expired_at: expiredAt.toISOString(), since: sinceMs * 1_000_000 },
  });
};

export const browserLocationChangeRequired = (to: string, reason: string): AppError =>
  new AppError({
    id: "browser_location_change_required",
    code: 422,
    message: "browser location change required",
    reason,
    extra: { redirect_browser_to: to },
  });

/**
 * A recoverable validation failure of a submitted flow: the flow is sent back (400 JSON / 303 to the UI) with these
 * messages on its nodes (`nodes`, by node name) and on the form (`form`). `values` are echoed into the nodes.
 */
export class FlowValidationError extends Error {
  readonly nodes: Record<string, UiText[]>;
  readonly form: UiText[];
  /** HTTP status of the JSON answer: 400, or 429 when brute-force protection refused the attempt unevaluated. */
  readonly status: number;
  /** Extra response headers (Retry-After). */
  readonly headers: Record<string, string>;
  /** Work to do once this answer is sent (never delays it), e.g. an out-of-band message. */
  afterResponse?: () => Promise<void>;

  constructor(o: { nodes?: Record<string, UiText[]>; form?: UiText[]; status?: number; headers?: Record<string, string> }) {
    super("flow validation failed");
    this.name = "FlowValidationError";
    this.nodes = o.nodes ?? {};
    this.form = o.form ?? [];
    this.status = o.status ?? 400;
    this.headers = o.headers ?? {};
  }
}
