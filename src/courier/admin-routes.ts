import type { FastifyInstance } from "fastify";
import { decodePageToken, encodePageToken } from "../identity/admin-routes.ts";
import type { Database } from "../persistence/db.ts";
import type { CourierMessageStatus } from "../persistence/schema.ts";
import { errors } from "../util/app-error.ts";
import { isUuid } from "../util/ids.ts";
import { createMessageRepo } from "./message-repo.ts";
import type { DispatchRow, MessageRow } from "./message-repo.ts";

/**
 * Kratos's courier admin API: `GET /courier/messages` (newest first, keyset pagination with `page_size` 1..1000,
 * default 250, and `page_token` from the `Link` header; exact filters `status` and `recipient`) and
 * `GET /courier/messages/:id`. Both answer Kratos's `message` JSON with its `dispatches`. Bad input (page size,
 * token, status, id) is a 400 in Kratos's error shape; an unknown id a 404. Register under `/admin` (and, like the
 * other admin routes, without the prefix).
 */
export interface CourierAdminDeps {
  database: Database;
}

const DEFAULT_PAGE_SIZE = 250;
const MAX_PAGE_SIZE = 1000;
const STATUSES: readonly CourierMessageStatus[] = ["queued", "processing", "sent", "abandoned"];

type Query = Record<string, string | string[] | undefined>;
const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function pageSize(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_PAGE_SIZE;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE_SIZE)) throw errors.badRequest(`page_size must be an integer between 1 and ${MAX_PAGE_SIZE}.`);
  return n;
}

/** Kratos's `message` object. `channel` is present for non-email messages only (Kratos omits it when empty). */
export function messageToJson(m: MessageRow, dispatches: DispatchRow[]): Record<string, unknown> {
  return {
    id: m.id,
    status: m.status,
    type: m.type,
    recipient: m.recipient,
    body: m.body,
    subject: m.subject,
    ...(m.channel !== "email" ? { channel: m.channel } : {}),
    template_type: m.template_type,
    send_count: m.send_count,
    created_at: m.created_at.toISOString(),
    updated_at: m.updated_at.toISOString(),
    dispatches: dispatches.map((d) => ({
      id: d.id,
      message_id: d.message_id,
      status: d.status,
      ...(d.error !== null && d.error !== undefined ? { error: d.error } : {}),
      created_at: d.created_at.toISOString(),
      updated_at: d.updated_at.toISOString(),
    })),
  };
}

export function registerCourierAdminRoutes(admin: FastifyInstance, deps: CourierAdminDeps): void {
  const repo = createMessageRepo(deps.database);

  admin.get("/courier/messages", async (request, reply) => {
    const q = request.query as Query;
    const size = pageSize(first(q.page_size));
    const tokenRaw = first(q.page_token);
    const after = tokenRaw ? decodePageToken(tokenRaw) : undefined;
    const statusRaw = first(q.status);
    if (statusRaw !== undefined && statusRaw !== "" && !STATUSES.includes(statusRaw as CourierMessageStatus)) {
      throw errors.badRequest(`status must be one of ${STATUSES.join(", ")}.`);
    }
    const recipient = first(q.recipient);
    const rows = await repo.list({
      limit: size + 1,
      after,
      status: statusRaw ? (statusRaw as CourierMessageStatus) : undefined,
      recipient: recipient || undefined,
    });
    if (!rows) throw errors.badRequest("The page_token is invalid: use the token from the Link header of the previous page.");
    const page = rows.slice(0, size);
    const basePath = request.url.split("?")[0];
    const link = (token: string | undefined): string => {
      const params = new URLSearchParams();
      if (statusRaw) params.set("status", statusRaw);
      if (recipient) params.set("recipient", recipient);
      params.set("page_size", String(size));
      if (token) params.set("page_token", token);
      return `<${basePath}?${params.toString()}>`;
    };
    const links = [`${link(undefined)}; rel="first"`];
    if (rows.length > size) links.push(`${link(encodePageToken(page[page.length - 1].id))}; rel="next"`);
    reply.header("link", links.join(","));
    const byMessage = new Map<string, DispatchRow[]>();
    for (const d of await repo.dispatches(page.map((m) => m.id))) byMessage.set(d.message_id, [...(byMessage.get(d.message_id) ?? []), d]);
    return page.map((m) => messageToJson(m, byMessage.get(m.id) ?? []));
  });

  admin.get("/courier/messages/:id", async (request) => {
    const id = (request.params as { id?: string }).id;
    if (!isUuid(id)) throw errors.badRequest("The message id must be a UUID.");
    const m = await repo.get(id.toLowerCase());
    if (!m) throw errors.notFound("Unable to locate the resource");
    return messageToJson(m, await repo.dispatches([m.id]));
  });
}
