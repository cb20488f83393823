import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AppError, errors, isAppError } from "../util/app-error.ts";

/**
 * The one place that writes errors to HTTP. Domain errors (`AppError`) keep their id and code; Fastify's own 4xx
 * errors (bad JSON, body too large, unsupported content type) are translated into Kratos's shape; anything else is a
 * 500 whose body reveals nothing (the log gets the stack).
 */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status === 413 || fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") return errors.payloadTooLarge("The request body exceeds the allowed size.");
  if (status === 415 || fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return errors.unsupportedMediaType("The request's Content-Type is not supported; use application/json or application/x-www-form-urlencoded.");
  if (fe.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return errors.badRequest("The request body must not be empty when Content-Type is application/json.");
  if (fe.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") return errors.badRequest("The Content-Length header does not match the request body.");
  if (fe.validation) return errors.badRequest(`Invalid request: ${fe.message ?? "validation failed"}`);
  if (err instanceof SyntaxError || fe.code === "FST_ERR_CTP_INVALID_JSON_BODY") return errors.badRequest("The request body is not valid JSON.");
  if (status >= 400 && status < 500) {
    return new AppError({ id: status === 404 ? "not_found" : "bad_request", code: status, message: "The request was malformed or contained invalid parameters", reason: fe.message });
  }
  return errors.internal();
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const appErr = toAppError(err);
  if (appErr.code === 503) request.log.warn({ error_id: appErr.id }, "request refused: overloaded");
  else if (appErr.code >= 500) request.log.error({ err }, "request failed");
  else request.log.debug({ error_id: appErr.id, code: appErr.code }, "request rejected");
  if (appErr.headers) reply.headers(appErr.headers);
  return reply.code(appErr.code).type("application/json; charset=utf-8").send(appErr.toBody());
}
