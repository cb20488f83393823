import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Database } from "../persistence/db.ts";
import { VERSION } from "../version.ts";

/** How long `/health/ready` waits for the database before it answers "not ready" (a hung pool must not hang probes). */
const READY_TIMEOUT_MS = 5_000;

/**
 * `/health/alive` (the process answers), `/health/ready` (the database answers), `/version`. Same on both listeners.
 * Not ready is Kratos's `healthNotReadyStatus`: 503 with `{"errors": {"<check>": "<reason>"}}`; the reason is generic
 * (a driver error can name hosts and users), the cause goes to the log.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: { database: Database }): void {
  app.get("/health/alive", async () => ({ status: "ok" }));
  app.get("/health/ready", async (request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(deps.database.db),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        }),
      ]);
    } catch (e) {
      request.log.warn({ err: e }, "readiness check failed: the database is not reachable");
      return reply.code(503).send({ errors: { database: "The database is not reachable." } });
    } finally {
      clearTimeout(timer);
    }
    return { status: "ok" };
  });
  app.get("/version", async () => ({ version: VERSION }));
}
