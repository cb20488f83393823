/**
 * `GET /self-service/errors?id=` serves a stored self-service error (Kratos `flowError`: id, error, created_at,
 * updated_at), what the error UI shows after a browser was sent to `selfservice.flows.error.ui_url?id=`.
 * `GET /.well-known/ory/webauthn.js` answers a valid no-op script until WebAuthn exists: Kratos's reference UI loads
 * it on every page and fails on anything but a 2xx.
 */
import type { FastifyInstance } from "fastify";
import { errors } from "../util/app-error.ts";
import { sendError } from "../http/error-handler.ts";
import { queryParam } from "./engine.ts";
import type { FlowRepo } from "./flow-repo.ts";

/** Defines the globals Kratos's script defines, as no-ops, so `onclick="window.__oryWebAuthnLogin()"` never throws. */
export const WEBAUTHN_NOOP_JS = `(function () {
  "use strict";
  // Tessera: WebAuthn is not enabled on this server; these are no-ops so pages that load this script keep working.
  var noop = function () {};
  window.__oryWebAuthnLogin = noop;
  window.__oryWebAuthnRegistration = noop;
  window.__oryPasskeyLogin = noop;
  window.__oryPasskeyLoginAutocompleteInit = noop;
  window.__oryPasskeyRegistration = noop;
  window.__oryPasskeySettingsRegistration = noop;
  window.__oryWebAuthnInitialized = true;
})();
`;

export function registerErrorRoutes(app: FastifyInstance, deps: { flows: FlowRepo }): void {
  app.get("/self-service/errors", async (req, reply) => {
    const id = queryParam(req, "id");
    if (!id) return sendError(req, reply, errors.badRequest("The id query parameter is missing."));
    const stored = await deps.flows.getError(id);
    if (!stored) return sendError(req, reply, errors.notFound("Unable to locate the resource"));
    return reply.code(200).send(stored);
  });

  app.get("/.well-known/ory/webauthn.js", async (_req, reply) => {
    return reply.code(200).type("text/javascript; charset=utf-8").header("cache-control", "public, max-age=300").send(WEBAUTHN_NOOP_JS);
  });
}
