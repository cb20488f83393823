import type { FastifyInstance } from "fastify";
import { errors } from "../util/app-error.ts";
import type { IdentitySchemaRegistry } from "./schema/registry.ts";

/**
 * `GET /schemas` and `GET /schemas/{id}` (public and admin). Kratos addresses a schema by its id or by the base64url
 * encoding of its id (that is what `schema_url` points at); both work here.
 */
export function registerSchemaRoutes(app: FastifyInstance, deps: { schemas: IdentitySchemaRegistry }): void {
  const { schemas } = deps;
  app.get("/schemas", async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const ids = schemas.ids();
    const size = q.page_size ? Number(q.page_size) : q.per_page ? Number(q.per_page) : 250;
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw errors.badRequest("page_size must be an integer between 1 and 1000.");
    return ids.slice(0, size).map((id) => ({ id, schema: schemas.get(id)?.schema }));
  });
  app.get("/schemas/:id", async (request) => {
    const raw = (request.params as { id: string }).id;
    let schema = schemas.get(raw);
    if (!schema) {
      const decoded = Buffer.from(raw, "base64url").toString("utf8");
      schema = schemas.get(decoded);
    }
    if (!schema) throw errors.notFound("The requested identity schema does not exist.");
    return schema.schema;
  });
}
