import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errors } from "../util/app-error.ts";
import type { SessionService, RequestSession, WhoamiAnswer } from "./session-service.ts";
import { pageOut, parsePage, pathId, type Query } from "./paging.ts";
import { sessionInactive } from "./session.ts";

/**
 * Public session endpoints of Kratos:
 * - `/sessions/whoami` (GET, POST, PUT, PATCH, DELETE; not OPTIONS, which belongs to CORS preflight): 200 with the
 *   session and header `X-Kratos-Authenticated-Identity-Id`, or the one `session_inactive` 401. One database read.
 * - `GET /sessions`: the caller's OTHER usable sessions (keyset pages, at most 1000 per page).
 * - `DELETE /sessions`: revokes the caller's other sessions, `{"count": n}`.
 * - `DELETE /sessions/{id}`: revokes one of the caller's other sessions (204); the current one: 400; another
 *   identity's or unknown: 404.
 */
export interface SessionRoutesDeps {
  sessions: SessionService;
}

function answerWhoami(reply: FastifyReply, found: WhoamiAnswer | undefined): void {
  if (!found) throw sessionInactive();
  reply.header("x-kratos-authenticated-identity-id", found.identity_id).header("content-type", "application/json; charset=utf-8").send(found.body);
}

export function registerSessionRoutes(app: FastifyInstance, deps: SessionRoutesDeps): void {
  const { sessions } = deps;

  async function requireSession(request: FastifyRequest): Promise<RequestSession> {
    const found = await sessions.fromRequest(request);
    if (!found) throw sessionInactive();
    return found;
  }

  app.route({
    method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    url: "/sessions/whoami",
    // Not async: on SQLite the answer is ready synchronously and is sent without a promise (the hot path).
    handler: (request, reply) => {
      const found = sessions.whoami(request);
      if (found instanceof Promise) return found.then((f) => void answerWhoami(reply, f));
      answerWhoami(reply, found);
    },
  });

  app.get("/sessions", async (request, reply) => {
    const { session, identity } = await requireSession(request);
    const page = parsePage(request.query as Query, 1000);
    const rows = await sessions.sessions.list({
      identityId: session.identity_id,
      active: true,
      now: sessions.now(),
      exceptId: session.id,
      after: page.after,
      limit: page.size + 1,
    });
    return pageOut(request, reply, rows, page.size).map((s) => sessions.toJson(s, identity));
  });

  app.delete("/sessions", async (request) => {
    const { session } = await requireSession(request);
    return { count: await sessions.revokeAllForIdentity(session.identity_id, session.id) };
  });

  app.delete("/sessions/:id", async (request, reply) => {
    const { session } = await requireSession(request);
    const id = pathId(request);
    if (id === session.id) {
      throw errors.badRequest("You cannot revoke the session you are using; use the logout flow instead.");
    }
    const target = await sessions.sessions.get(id);
    if (!target || target.identity_id !== session.identity_id || !(await sessions.revoke(id))) {
      throw errors.notFound("Unable to locate the resource");
    }
    return reply.code(204).send();
  });
}
