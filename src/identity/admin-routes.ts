import type { FastifyInstance, FastifyRequest } from "fastify";
import { errors, AppError } from "../util/app-error.ts";
import { isUuid } from "../util/ids.ts";
import type { IdentityService } from "./identity-service.ts";
import type { IdentityRepo } from "./identity-repo.ts";
import { identityToJson, type Identity } from "./identity.ts";

/**
 * The admin identity API of Kratos (`/admin/identities...`): create, get, get by external id, list with keyset
 * pagination, PUT, JSON Patch, batch create, delete, delete credentials. Registered twice by the admin listener: under
 * `/admin` and without the prefix.
 */
export interface IdentityAdminDeps {
  identities: IdentityService;
  repo: IdentityRepo;
  publicBaseUrl: string;
  /** The admin listener's base URL, for `Location` headers (Kratos: `serve.admin.base_url`). */
  adminBaseUrl: string;
}

const DEFAULT_PAGE_SIZE = 250;
const MAX_PAGE_SIZE = 500;
const MAX_BATCH = 1000;

type Query = Record<string, string | string[] | undefined>;
const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function pageSize(q: Query): number {
  const raw = first(q.page_size) ?? first(q.per_page);
  if (raw === undefined || raw === "") return DEFAULT_PAGE_SIZE;
  if (!/^[0-9]+$/.test(raw)) throw errors.badRequest("page_size must be an integer between 1 and 500.");
  const n = Number(raw);
  if (n < 1 || n > MAX_PAGE_SIZE) throw errors.badRequest(`page_size must be between 1 and ${MAX_PAGE_SIZE}, got ${n}.`);
  return n;
}

/** Opaque keyset cursor: base64url JSON of the last id seen. */
export const encodePageToken = (lastId: string): string => Buffer.from(JSON.stringify({ k: lastId, v: 1 })).toString("base64url");
export function decodePageToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown };
    if (isUuid(parsed.k)) return parsed.k;
  } catch {
    // fall through
  }
  throw errors.badRequest("The page_token is invalid: use the token from the Link header of the previous page.");
}

function pathId(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id;
  if (!isUuid(id)) throw errors.notFound("Unable to locate the resource: the id is not a valid UUID.");
  return id.toLowerCase();
}

export function registerIdentityAdminRoutes(app: FastifyInstance, deps: IdentityAdminDeps): void {
  const { identities, repo } = deps;
  const view = (identity: Identity, include: string[] = []) =>
    identityToJson(identity, { publicBaseUrl: deps.publicBaseUrl, admin: true, includeCredential: include });

  app.get("/identities", async (request, reply) => {
    const q = request.query as Query;
    const size = pageSize(q);
    const tokenRaw = first(q.page_token);
    const after = tokenRaw ? decodePageToken(tokenRaw) : undefined;
    const ids = all(q.ids);
    if (ids.some((id) => !isUuid(id))) throw errors.badRequest("ids must be UUIDs.");
    if (ids.length > MAX_PAGE_SIZE) throw errors.badRequest(`At most ${MAX_PAGE_SIZE} ids can be requested at once.`);
    const orgRaw = first(q.organization_id);
    if (orgRaw && !isUuid(orgRaw)) throw errors.badRequest("organization_id must be a UUID.");
    const credentialsIdentifier = first(q.credentials_identifier);
    const rows = await repo.list({
      pageSize: size + 1,
      after,
      ids: ids.length ? ids.map((i) => i.toLowerCase()) : undefined,
      credentialsIdentifier: credentialsIdentifier ? credentialsIdentifier.trim().normalize("NFKC").toLowerCase() : undefined,
      organizationId: orgRaw || undefined,
    });
    const page = rows.slice(0, size);
    const basePath = request.url.split("?")[0];
    const link = (token: string | undefined) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) {
        if (k === "page_token" || k === "page" || v === undefined) continue;
        for (const item of all(v)) params.append(k, item);
      }
      params.set("page_size", String(size));
      if (token) params.set("page_token", token);
      return `<${basePath}?${params.toString()}>`;
    };
    const links = [`${link(undefined)}; rel="first"`];
    if (rows.length > size) links.push(`${link(encodePageToken(page[page.length - 1].id))}; rel="next"`);
    reply.header("link", links.join(","));
    const include = all(q.include_credential);
    return page.map((i) => view(i, include));
  });

  app.post("/identities", async (request, reply) => {
    const identity = await identities.create(request.body);
    reply.code(201).header("location", `${deps.adminBaseUrl.replace(/\/$/, "")}/admin/identities/${identity.id}`);
    return view(identity);
  });

  app.patch("/identities", async (request) => {
    const body = request.body as { identities?: unknown } | undefined;
    if (!body || typeof body !== "object" || !Array.isArray(body.identities)) {
      throw errors.badRequest('The request body must be an object with an "identities" array.');
    }
    if (body.identities.length > MAX_BATCH) throw errors.badRequest(`At most ${MAX_BATCH} identities can be patched at once, got ${body.identities.length}.`);
    // patch_id is a UUID in Kratos's body schema: a malformed one makes the request body invalid, as there.
    for (const [i, item] of (body.identities as Array<{ patch_id?: unknown } | null>).entries()) {
      const id = item && typeof item === "object" ? item.patch_id : undefined;
      if (id !== undefined && (typeof id !== "string" || !isUuid(id))) throw errors.badRequest(`identities[${i}].patch_id must be a UUID.`);
    }
    const results = [];
    // Sequential on purpose: hashing imported plain-text passwords is bounded by the hasher, and one failure must not
    // affect the others.
    for (const item of body.identities as Array<{ create?: unknown; patch_id?: unknown }>) {
      const patch_id = typeof item?.patch_id === "string" ? item.patch_id : undefined;
      try {
        if (!item || typeof item !== "object" || item.create === undefined) throw errors.badRequest('Each patch needs a "create" object.');
        const identity = await identities.create(item.create);
        results.push({ action: "create", identity: identity.id, ...(patch_id ? { patch_id } : {}) });
      } catch (e) {
        if (!(e instanceof AppError) || e.code >= 500) throw e;
        results.push({ action: "error", error: e.toBody().error, ...(patch_id ? { patch_id } : {}) });
      }
    }
    return { identities: results };
  });

  app.get("/identities/by/external/:externalID", async (request) => {
    const externalId = (request.params as { externalID: string }).externalID;
    const identity = await repo.getByExternalId(externalId);
    if (!identity) throw errors.notFound("Unable to locate the resource");
    return view(identity, all((request.query as Query).include_credential));
  });

  app.get("/identities/:id", async (request) => {
    const identity = await identities.get(pathId(request));
    return view(identity, all((request.query as Query).include_credential));
  });

  app.put("/identities/:id", async (request) => view(await identities.update(pathId(request), request.body)));

  app.patch("/identities/:id", async (request) => view(await identities.patch(pathId(request), request.body)));

  app.delete("/identities/:id", async (request, reply) => {
    await identities.delete(pathId(request));
    return reply.code(204).send();
  });

  app.delete("/identities/:id/credentials/:type", async (request, reply) => {
    await identities.deleteCredentials(pathId(request), (request.params as { type: string }).type);
    return reply.code(204).send();
  });
}
