/**
 * The flow engine shared by every self-service flow: creation (with CSRF for browsers), fetching, loading for a
 * submit, and the submit outcomes of NOTES.md:
 * - validation error: the flow with messages, 400 JSON or 303 back to `ui_url?flow=` for forms;
 * - expired: a replacement flow carrying the "expired" message, 410 with `use_flow_id` (JSON) or 303 to it (forms);
 * - fatal error: Kratos's error JSON, or for forms a 303 to `selfservice.flows.error.ui_url?id=` (stored error);
 * - success is the caller's (login/registration handlers).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { toAppError } from "../http/error-handler.ts";
import { csrfNode } from "../ui/node.ts";
import type { UiNode, UiNodeInputAttributes } from "../ui/node.ts";
import { flowExpired } from "../ui/messages.ts";
import type { FlowDeps } from "./deps.ts";
import { isJsonBody } from "./body.ts";
import type { FlowValidationError } from "./errors.ts";
import { flowExpiredError, flowGone, flowIdMissing, flowNotFound, apiFlowFromBrowser, csrfViolation } from "./errors.ts";
import { flowJsonText, flowToJson, isExpired, newFlow, type Flow, type FlowInternal, type FlowKind, type FlowType } from "./flow.ts";

const LIFESPAN_DEFAULT_MS = 3_600_000;

export interface CreateFlowOptions {
  returnTo?: string;
  internal?: FlowInternal;
  /** Adds the strategies' nodes (the CSRF node is already first). */
  populate(flow: Flow): void;
  /** false: build the flow without storing it; the caller stores it (`flows.create(flow, trx)`) in its transaction. */
  store?: boolean;
}

/** True when the client wants JSON: `Accept: application/json` or a JSON body. */
export function wantsJson(req: FastifyRequest): boolean {
  return /application\/json/i.test(req.headers.accept ?? "") || isJsonBody(req);
}

/** Appends a query parameter to a URL that may already carry a query. */
export function withParam(url: string, key: string, value: string): string {
  try {
    const u = new URL(url);
    u.searchParams.set(key, value);
    return u.toString();
  } catch {
    return `${url}${url.includes("?") ? "&" : "?"}${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  }
}

/** A single query parameter; "" and arrays count as absent / first value (Kratos's UI sends `?aal=&refresh=`). */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  const q = req.query as Record<string, unknown> | undefined;
  const v = q?.[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" && s !== "" ? s : undefined;
}

export function createFlowEngine(deps: FlowDeps) {
  const { config, clock, flows, csrf, publicBaseUrl } = deps;
  const flowsCfg = config.selfservice.flows;

  const uiUrl = (kind: FlowKind): string => {
    const cfg = flowsCfg[kind] as { ui_url?: string };
    return cfg.ui_url ?? publicBaseUrl;
  };
  const lifespan = (kind: FlowKind): number => {
    const cfg = flowsCfg[kind] as { lifespan?: number };
    return typeof cfg.lifespan === "number" && cfg.lifespan > 0 ? cfg.lifespan : LIFESPAN_DEFAULT_MS;
  };

  function requestUrl(req: FastifyRequest): string {
    const base = publicBaseUrl.endsWith("/") ? publicBaseUrl.slice(0, -1) : publicBaseUrl;
    return `${base}${req.url}`;
  }

  /** Sets the CSRF node value of a flow (browser: a fresh mask of the flow's token; API: ""). */
  function setCsrfNode(flow: Flow): void {
    const value = flow.type === "browser" ? csrf.remask(flow.csrf_token) : "";
    const node = flow.ui.nodes.find((n) => n.attributes.node_type === "input" && n.attributes.name === "csrf_token");
    if (node) (node.attributes as UiNodeInputAttributes).value = value;
    else flow.ui.nodes.unshift(csrfNode(value));
  }

  /**
   * Creates a flow of `kind`. Without a `reply` a browser flow is out of band (a message's flow): bound to no
   * browser and no cookie set, completable only through its link (see `csrf.detached`).
   */
  async function create(kind: FlowKind, type: FlowType, req: FastifyRequest, reply: FastifyReply | undefined, o: CreateFlowOptions): Promise<Flow> {
    const token = type !== "browser" ? "" : reply ? csrf.issue(req, reply) : csrf.detached();
    const flow = newFlow({
      kind,
      type,
      now: clock.now(),
      lifespan: lifespan(kind),
      requestUrl: requestUrl(req),
      publicBaseUrl,
      returnTo: o.returnTo,
      csrfToken: token,
      internal: o.internal,
    });
    flow.ui.nodes.push(csrfNode(token));
    o.populate(flow);
    if (o.store !== false) await flows.create(flow);
    return flow;
  }

  /** Loads a flow of `kind` by the `flow` (submit) or `id` (fetch) query parameter. 400 missing, 404 unknown. */
  async function load(kind: FlowKind, req: FastifyRequest, param: "flow" | "id"): Promise<Flow> {
    const id = queryParam(req, param);
    if (!id) throw flowIdMissing();
    const flow = await flows.get(id);
    if (!flow || flow.kind !== kind) throw flowNotFound();
    return flow;
  }

  /** Stores a fatal error and sends the browser to the error UI; JSON clients get the error itself. */
  async function sendFatal(req: FastifyRequest, reply: FastifyReply, err: unknown, json = wantsJson(req)): Promise<FastifyReply> {
    const appErr = toAppError(err);
    // Overload answers (503 from the hashing queue) are expected under a flood: one warning line, no stack.
    if (appErr.code === 503) req.log.warn({ error_id: appErr.id }, "self-service flow refused: overloaded");
    else if (appErr.code >= 500) req.log.error({ err }, "self-service flow failed");
    if (json) {
      if (appErr.headers) reply.headers(appErr.headers);
      return reply.code(appErr.code).type("application/json; charset=utf-8").send(appErr.toBody());
    }
    const id = await flows.createError(appErr.toBody().error as unknown as Record<string, unknown>, clock.now());
    return reply.redirect(withParam(flowsCfg.error.ui_url, "id", id), 303);
  }

  /** Sends a flow: JSON with `status`, or (browser forms) a 303 to the UI that renders it. */
  function sendFlow(req: FastifyRequest, reply: FastifyReply, flow: Flow, status: number, json = wantsJson(req)): FastifyReply {
    if (flow.type === "browser") csrf.refresh(req, reply);
    // The UI text just written (create, sendValidation) is spliced in as it is: no second serialization of it.
    if (json || flow.type === "api") return reply.code(status).type("application/json; charset=utf-8").send(flowJsonText(flow, flows.uiText(flow)));
    return reply.redirect(withParam(uiUrl(flow.kind), "flow", flow.id), 303);
  }

  /** Applies a validation error to the flow (messages, echoed values), stores it and sends it back (400 / 303). */
  async function sendValidation(req: FastifyRequest, reply: FastifyReply, flow: Flow, err: FlowValidationError, values: Record<string, unknown>): Promise<FastifyReply> {
    const form = [...err.form];
    const byName = new Map<string, UiNode>();
    for (const n of flow.ui.nodes) {
      n.messages = [];
      if (n.attributes.node_type === "input") byName.set(n.attributes.name, n);
    }
    for (const [name, msgs] of Object.entries(err.nodes)) {
      const node = byName.get(name);
      if (node) node.messages.push(...msgs);
      else form.push(...msgs);
    }
    for (const n of byName.values()) {
      const a = n.attributes as UiNodeInputAttributes;
      if (a.type === "password") delete a.value;
      else if (a.name in values && a.type !== "submit" && a.type !== "hidden") {
        const v = values[a.name];
        if (v === undefined || v === null || typeof v === "object") delete a.value;
        else a.value = v;
      }
    }
    if (form.length) flow.ui.messages = form;
    else delete flow.ui.messages;
    setCsrfNode(flow);
    flow.updated_at = clock.now().toISOString();
    await flows.update(flow);
    reply.headers(err.headers);
    return sendFlow(req, reply, flow, err.status);
  }

  /** Answers the submit of an expired flow with a replacement flow of the same kind, type and return_to. */
  async function sendExpired(req: FastifyRequest, reply: FastifyReply, flow: Flow, populate: (f: Flow) => void): Promise<FastifyReply> {
    const now = clock.now();
    const expiredAt = new Date(flow.expires_at);
    const fresh = await create(flow.kind, flow.type, req, reply, {
      returnTo: flow.return_to,
      internal: { ...flow.internal },
      populate(f) {
        populate(f);
        f.ui.messages = [flowExpired(flow.kind, expiredAt, now)];
      },
    });
    if (!wantsJson(req) && flow.type === "browser") return reply.redirect(withParam(uiUrl(flow.kind), "flow", fresh.id), 303);
    return sendFatal(req, reply, flowExpiredError(fresh.id, expiredAt, now), true);
  }

  /** GET `/self-service/<kind>/flows?id=`: browser flows only for the browser that owns them; 410 when expired. */
  async function fetch(kind: FlowKind, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const flow = await load(kind, req, "id");
      if (flow.type === "browser" && !csrf.ownsFlow(req, flow.csrf_token)) {
        throw csrfViolation("The anti-CSRF cookie of the browser that started this flow was not sent with the request.");
      }
      if (isExpired(flow, clock.now())) {
        const base = publicBaseUrl.endsWith("/") ? publicBaseUrl : `${publicBaseUrl}/`;
        throw flow.type === "browser"
          ? flowGone(kind, { redirect_to: withParam(`${base}self-service/${kind}/browser`, "return_to", flow.return_to ?? ""), return_to: flow.return_to ?? "" })
          : flowGone(kind, { api: `${base}self-service/${kind}/api` });
      }
      setCsrfNode(flow);
      return reply.code(200).type("application/json; charset=utf-8").send(flowToJson(flow));
    } catch (e) {
      return sendFatal(req, reply, e, true);
    }
  }

  /**
   * The checks every submit starts with, in Kratos's order: API flows refuse browser requests (Cookie or Origin
   * header); browser flows need a CSRF token matching the cookie. Nothing is written before these pass.
   */
  function checkRequestBinding(req: FastifyRequest, flow: Flow, submittedToken: string | undefined): void {
    if (flow.type === "api") {
      if (req.headers.origin) throw apiFlowFromBrowser("Origin");
      if (req.headers.cookie && req.headers.cookie.trim() !== "") throw apiFlowFromBrowser("Cookie");
      return;
    }
    const hint = csrf.verify(req, submittedToken, flow.csrf_token);
    if (hint) throw csrfViolation(hint);
  }

  return { uiUrl, create, load, fetch, sendFatal, sendFlow, sendValidation, sendExpired, checkRequestBinding, setCsrfNode, wantsJson };
}

export type FlowEngine = ReturnType<typeof createFlowEngine>;

