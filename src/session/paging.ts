import type { FastifyReply, FastifyRequest } from "fastify";
import { decodePageToken, encodePageToken } from "../identity/admin-routes.ts";
import { errors } from "../util/app-error.ts";
import { isUuid } from "../util/ids.ts";

/**
 * Query parsing shared by the session list endpoints: keyset pagination (`page_size`, `page_token` as for identities,
 * with a `Link` header carrying `rel="first"` and, when more rows exist, `rel="next"`), `active`, `expand`, path ids.
 */
export type Query = Record<string, string | string[] | undefined>;

export const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
export const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export interface Page {
  size: number;
  after?: string;
}

export function parsePage(q: Query, max: number, def = 250): Page {
  const raw = first(q.page_size) ?? first(q.per_page);
  let size = def;
  if (raw !== undefined && raw !== "") {
    if (!/^[0-9]+$/.test(raw)) throw errors.badRequest(`page_size must be an integer between 1 and ${max}.`);
    size = Number(raw);
    if (size < 1 || size > max) throw errors.badRequest(`page_size must be between 1 and ${max}, got ${size}.`);
  }
  const token = first(q.page_token);
  return { size, after: token ? decodePageToken(token) : undefined };
}

/** `active=true|false` (absent: undefined). */
export function parseActive(q: Query): boolean | undefined {
  const v = first(q.active);
  if (v === undefined || v === "") return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw errors.badRequest('active must be "true" or "false".');
}

/** `expand=identity&expand=devices` (either may be absent). */
export function parseExpand(q: Query): { identity: boolean; devices: boolean } {
  const items = all(q.expand).flatMap((s) => s.split(","));
  for (const e of items) if (e !== "identity" && e !== "devices") throw errors.badRequest(`expand must be "identity" or "devices", got "${e}".`);
  return { identity: items.includes("identity"), devices: items.includes("devices") };
}

/** Trims a page fetched with `size + 1` rows to `size` and writes the Link header. */
export function pageOut<T extends { id: string }>(request: FastifyRequest, reply: FastifyReply, rows: T[], size: number): T[] {
  const q = request.query as Query;
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
  return page;
}

export function pathId(request: FastifyRequest, name = "id"): string {
  const id = (request.params as Record<string, string | undefined>)[name];
  if (!isUuid(id)) throw errors.notFound("Unable to locate the resource: the id is not a valid UUID.");
  return id.toLowerCase();
}
