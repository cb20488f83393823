import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/config.ts";
import { AppError, errors } from "../../util/app-error.ts";
import type { SessionService } from "../../session/session-service.ts";
import { hashToken, sessionInactive } from "../../session/session.ts";
import { checkReturnTo } from "../return-to.ts";
import { returnToForbidden } from "../errors.ts";

/**
 * Kratos's logout endpoints:
 * - `GET /self-service/logout/browser[?return_to=]`: 200 `{logout_url, logout_token}` for the caller's session
 *   (401 `session_inactive` without one). The logout token is derived from the session token, so repeated calls
 *   return the same URL.
 * - `GET /self-service/logout?token=&return_to=`: the token must match the session of the request's cookie (else 403);
 *   revokes it, clears the cookie, then 303 to `return_to` / `selfservice.flows.logout.after.default_browser_return_url`
 *   / `selfservice.default_browser_return_url`, or 204 when the client accepts JSON. Without a session the logout is
 *   already done: same answer. `return_to` is checked against `selfservice.allowed_return_urls`.
 * - `DELETE /self-service/logout/api` with `{"session_token": "..."}`: revokes it, 204; 400 without a token, 403 for
 *   an unknown one.
 */
export interface LogoutDeps {
  sessions: SessionService;
  config: { selfservice: Pick<Config["selfservice"], "default_browser_return_url" | "allowed_return_urls"> & { flows: { logout: Config["selfservice"]["flows"]["logout"] } } };
  publicBaseUrl: string;
  /**
   * Stores a fatal error for the error UI and returns its URL (`selfservice.flows.error.ui_url?id=`): a browser
   * following a bad logout link is sent there, as by Kratos. Without it, browsers get the JSON error too.
   */
  errorUiUrl?: (err: AppError) => Promise<string>;
}

const acceptsJson = (req: FastifyRequest): boolean => (req.headers.accept ?? "").includes("application/json");

function sameToken(a: string, b: string): boolean {
  // Compare digests so neither content nor length leaks through timing.
  return timingSafeEqual(Buffer.from(hashToken(a), "hex"), Buffer.from(hashToken(b), "hex"));
}

export function registerLogoutRoutes(app: FastifyInstance, deps: LogoutDeps): void {
  const { sessions, config } = deps;
  const ss = config.selfservice;
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  const defaultReturn = ss.flows.logout.after.default_browser_return_url || ss.default_browser_return_url;

  const returnTo = (req: FastifyRequest): string | undefined => {
    const raw = (req.query as Record<string, unknown>).return_to;
    return checkReturnTo(typeof raw === "string" ? raw : undefined, { allowed: ss.allowed_return_urls, defaultReturnUrl: ss.default_browser_return_url }, returnToForbidden);
  };

  const done = (req: FastifyRequest, reply: FastifyReply, to: string | undefined) => {
    sessions.clearCookie(reply);
    if (acceptsJson(req)) return reply.code(204).send();
    return reply.code(303).header("location", to ?? defaultReturn).send();
  };

  app.get("/self-service/logout/browser", async (request) => {
    const found = await sessions.fromRequest(request);
    if (!found) throw sessionInactive();
    const to = returnTo(request);
    const logoutToken = sessions.logoutTokenFor(found.token);
    const params = new URLSearchParams({ token: logoutToken });
    if (to) params.set("return_to", to);
    return { logout_url: `${base}self-service/logout?${params.toString()}`, logout_token: logoutToken };
  });

  app.get("/self-service/logout", async (request, reply) => {
    try {
      return await logout(request, reply);
    } catch (e) {
      if (!(e instanceof AppError) || acceptsJson(request) || !deps.errorUiUrl) throw e;
      return reply.redirect(await deps.errorUiUrl(e), 303);
    }
  });

  async function logout(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const token = (request.query as Record<string, unknown>).token;
    if (typeof token !== "string" || token === "") throw errors.badRequest("Please include a token in the URL query.");
    const to = returnTo(request);
    const found = await sessions.fromRequest(request);
    if (!found) return done(request, reply, to);
    if (!sameToken(sessions.logoutTokenFor(found.token), token)) {
      throw new AppError({
        id: "forbidden",
        code: 403,
        message: "The requested action was forbidden",
        reason: "Unable to log out because the logout token in the URL query does not match the session cookie.",
      });
    }
    await sessions.revoke(found.session.id);
    return done(request, reply, to);
  }

  app.delete("/self-service/logout/api", async (request, reply) => {
    const body = request.body as { session_token?: unknown } | undefined;
    const token = body && typeof body === "object" ? body.session_token : undefined;
    if (typeof token !== "string" || token === "") throw errors.badRequest('The request body must carry "session_token".');
    const session = await sessions.sessions.getByTokenHash(hashToken(token));
    if (!session) {
      throw errors.forbidden("The provided Ory Session Token could not be found, is invalid, or otherwise malformed.");
    }
    await sessions.revoke(session.id);
    return reply.code(204).send();
  });
}
