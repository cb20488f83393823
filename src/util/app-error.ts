/**
 * The one error class of Tessera. Domain code throws it; only `http/error-handler.ts` turns it into HTTP, in Kratos's
 * shape `{"error":{"id","code","status","reason","message","details"}}`. Build instances through the helpers below so
 * ids, codes and messages stay in one catalog.
 */
export interface AppErrorBody {
  id: string;
  code: number;
  status: string;
  reason?: string;
  message: string;
  details?: Record<string, unknown>;
  request?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  410: "Gone",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? "Error";
}

export class AppError extends Error {
  readonly id: string;
  readonly code: number;
  readonly reason?: string;
  readonly details?: Record<string, unknown>;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers?: Record<string, string>;
  /** Extra top-level JSON fields next to `error` (Kratos puts `use_flow_id`, `redirect_browser_to` there). */
  readonly extra?: Record<string, unknown>;

  constructor(opts: {
    id: string;
    code: number;
    message: string;
    reason?: string;
    details?: Record<string, unknown>;
    headers?: Record<string, string>;
    extra?: Record<string, unknown>;
  }) {
    super(opts.message);
    this.name = "AppError";
    this.id = opts.id;
    this.code = opts.code;
    this.reason = opts.reason;
    this.details = opts.details;
    this.headers = opts.headers;
    this.extra = opts.extra;
  }

  toBody(): { error: AppErrorBody } & Record<string, unknown> {
    const error: AppErrorBody = { id: this.id, code: this.code, status: statusText(this.code), message: this.message };
    if (this.reason !== undefined) error.reason = this.reason;
    if (this.details !== undefined) error.details = this.details;
    return { error, ...(this.extra ?? {}) };
  }
}

type Opts = { reason?: string; details?: Record<string, unknown>; message?: string };

/** The generic errors (herodot's defaults). */
export const errors = {
  badRequest: (reason: string, o: Opts = {}) =>
    new AppError({ id: "bad_request", code: 400, message: o.message ?? "The request was malformed or contained invalid parameters", reason, details: o.details }),
  unauthorized: (reason: string, o: Opts = {}) =>
    new AppError({ id: "unauthorized", code: 401, message: o.message ?? "The request could not be authorized", reason, details: o.details }),
  forbidden: (reason: string, o: Opts = {}) =>
    new AppError({ id: "forbidden", code: 403, message: o.message ?? "The requested action was forbidden", reason, details: o.details }),
  notFound: (reason = "The requested resource could not be found", o: Opts = {}) =>
    new AppError({ id: "not_found", code: 404, message: o.message ?? "The requested resource could not be found", reason, details: o.details }),
  conflict: (reason: string, o: Opts = {}) =>
    new AppError({ id: "conflict", code: 409, message: o.message ?? "The resource could not be created due to a conflict", reason, details: o.details }),
  payloadTooLarge: (reason: string) =>
    new AppError({ id: "payload_too_large", code: 413, message: "The request body is too large", reason }),
  unsupportedMediaType: (reason: string) =>
    new AppError({ id: "unsupported_media_type", code: 415, message: "The request's content type is not supported", reason }),
  internal: (reason = "An internal server error occurred, please contact the system administrator") =>
    new AppError({ id: "internal_server_error", code: 500, message: "An internal server error occurred, please contact the system administrator", reason }),
  unavailable: (reason: string, retryAfterSeconds?: number) =>
    new AppError({
      id: "service_unavailable",
      code: 503,
      message: "The service is temporarily unavailable",
      reason,
      headers: retryAfterSeconds !== undefined ? { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) } : undefined,
    }),
};

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
