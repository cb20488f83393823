import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Database } from "../persistence/db.ts";
import { AppError } from "../util/app-error.ts";
import { VERSION } from "../version.ts";

/** `/health/alive` (the process answers), `/health/ready` (the database answers), `/version`. Same on both listeners. */
export function registerHealthRoutes(app: FastifyInstance, deps: { database: Database }): void {
  app.get("/health/alive", async () => ({ status: "ok" }));
  app.get("/health/ready", async () => {
    try {
      await sql`select 1`.execute(deps.database.db);
    } catch {
      throw new AppError({ id: "service_unavailable", code: 503, message: "The service is not ready", reason: "The database is not reachable." });
    }
    return { status: "ok" };
  });
  app.get("/version", async () => ({ version: VERSION }));
}
