import type { FastifyInstance } from "fastify";
import type { IdentityRepo } from "../identity/identity-repo.ts";
import type { Identity } from "../identity/identity.ts";
import { errors } from "../util/app-error.ts";
import type { SessionService } from "./session-service.ts";
import type { SessionRecord } from "./session.ts";
import { pageOut, parseActive, parseExpand, parsePage, pathId, type Query } from "./paging.ts";

/**
 * Admin session endpoints of Kratos (registered by the composition root under `/admin` and without the prefix):
 * - `GET /sessions` (`page_size` <= 1000, `page_token`, `active`, `expand=identity|devices`)
 * - `GET /sessions/{id}` (`expand`), `DELETE /sessions/{id}` (revokes: 204; unknown: 404)
 * - `PATCH /sessions/{id}/extend`: 200 with the session (Kratos's default while `feature_flags.faster_session_extend`
 *   is off); unchanged when more than `session.earliest_possible_extend` remains; unknown: 404
 * - `GET /identities/{id}/sessions` (`active`, pages <= 500; identity and devices included), `DELETE
 *   /identities/{id}/sessions` (deletes them all: 204); unknown identity: 404.
 */
export interface SessionAdminDeps {
  sessions: SessionService;
  repo: IdentityRepo;
}

export function registerSessionAdminRoutes(app: FastifyInstance, deps: SessionAdminDeps): void {
  const { sessions, repo } = deps;

  /** Renders sessions, loading their identities in one query when asked to. */
  async function render(rows: SessionRecord[], expand: { identity: boolean; devices: boolean }) {
    const byId = new Map<string, Identity>();
    if (expand.identity && rows.length) {
      const ids = [...new Set(rows.map((r) => r.identity_id))];
      for (const i of await repo.list({ pageSize: ids.length, ids })) byId.set(i.id, i);
    }
    return rows.map((s) => sessions.toJson(s, byId.get(s.identity_id), { devices: expand.devices }));
  }

  async function identityOr404(id: string): Promise<void> {
    if (!(await repo.get(id))) throw errors.notFound("Unable to locate the resource");
  }

  app.get("/sessions", async (request, reply) => {
    const q = request.query as Query;
    const page = parsePage(q, 1000);
    const rows = await sessions.sessions.list({ active: parseActive(q), now: sessions.now(), after: page.after, limit: page.size + 1 });
    return render(pageOut(request, reply, rows, page.size), parseExpand(q));
  });

  app.get("/sessions/:id", async (request) => {
    const session = await sessions.sessions.get(pathId(request));
    if (!session) throw errors.notFound("Unable to locate the resource");
    return (await render([session], parseExpand(request.query as Query)))[0];
  });

  app.delete("/sessions/:id", async (request, reply) => {
    if (!(await sessions.revoke(pathId(request)))) throw errors.notFound("Unable to locate the resource");
    return reply.code(204).send();
  });

  app.patch("/sessions/:id/extend", async (request) => {
    const session = await sessions.extend(pathId(request));
    if (!session) throw errors.notFound("Unable to locate the resource");
    return (await render([session], { identity: true, devices: true }))[0];
  });

  app.get("/identities/:id/sessions", async (request, reply) => {
    const identityId = pathId(request);
    await identityOr404(identityId);
    const q = request.query as Query;
    const page = parsePage(q, 500);
    const rows = await sessions.sessions.list({ identityId, active: parseActive(q), now: sessions.now(), after: page.after, limit: page.size + 1 });
    return render(pageOut(request, reply, rows, page.size), { identity: true, devices: true });
  });

  app.delete("/identities/:id/sessions", async (request, reply) => {
    const identityId = pathId(request);
    await identityOr404(identityId);
    await sessions.sessions.deleteAllForIdentity(identityId);
    return reply.code(204).send();
  });
}
