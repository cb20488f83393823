/**
 * The self-service flow every kind shares (Kratos `login.Flow`, `registration.Flow` ...): stored in
 * `selfservice_flows`, sent as exactly Kratos's JSON (`loginFlow`, `registrationFlow` in api.json).
 */
import type { UiContainer } from "../ui/node.ts";
import { newId } from "../util/ids.ts";

export type FlowKind = "login" | "registration" | "settings" | "recovery" | "verification";
export type FlowType = "api" | "browser";
/** Kratos's experimental `state`: login/registration use "choose_method" | "sent_email" | "passed_challenge". */
export type FlowState = string;

/** Strategy-private and kind-specific state kept in the `internal` JSON column. Never sent as is. */
export interface FlowInternal {
  /** login: `refresh=true` re-authentication. */
  refresh?: boolean;
  /** login: "aal1" (the only level the password strategy solves). */
  requested_aal?: string;
  /** Free room for strategies (codes, challenges...), keyed by strategy id. */
  [key: string]: unknown;
}

export interface Flow {
  id: string;
  kind: FlowKind;
  type: FlowType;
  state: FlowState;
  identity_id: string | null;
  session_id: string | null;
  /** The masked CSRF token the flow was issued with (browser flows); "" for API flows. */
  csrf_token: string;
  request_url: string;
  return_to?: string;
  issued_at: string;
  expires_at: string;
  /** The method that completed (or is completing) the flow, e.g. "password". */
  active?: string;
  ui: UiContainer;
  internal: FlowInternal;
  submit_count: number;
  created_at: string;
  updated_at: string;
}

export interface NewFlowOptions {
  kind: FlowKind;
  type: FlowType;
  now: Date;
  /** Milliseconds (`selfservice.flows.<kind>.lifespan`). */
  lifespan: number;
  requestUrl: string;
  /** Public base URL ending with "/"; the form posts to `<base>self-service/<kind>?flow=<id>`. */
  publicBaseUrl: string;
  returnTo?: string;
  csrfToken: string;
  internal?: FlowInternal;
}

export function flowAction(publicBaseUrl: string, kind: FlowKind, id: string): string {
  const base = publicBaseUrl.endsWith("/") ? publicBaseUrl : `${publicBaseUrl}/`;
  return `${base}self-service/${kind}?flow=${id}`;
}

export function newFlow(o: NewFlowOptions): Flow {
  const id = newId();
  const issued = o.now.toISOString();
  const flow: Flow = {
    id,
    kind: o.kind,
    type: o.type,
    state: "choose_method",
    identity_id: null,
    session_id: null,
    csrf_token: o.csrfToken,
    request_url: o.requestUrl,
    issued_at: issued,
    expires_at: new Date(o.now.getTime() + o.lifespan).toISOString(),
    ui: { action: flowAction(o.publicBaseUrl, o.kind, id), method: "POST", nodes: [] },
    internal: o.internal ?? {},
    submit_count: 0,
    created_at: issued,
    updated_at: issued,
  };
  if (o.returnTo !== undefined) flow.return_to = o.returnTo;
  return flow;
}

export function isExpired(flow: Flow, now: Date): boolean {
  return new Date(flow.expires_at).getTime() <= now.getTime();
}

/** The wire fields of a flow before `ui`. */
function jsonHead(flow: Flow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: flow.id,
    organization_id: null,
    type: flow.type,
    expires_at: flow.expires_at,
    issued_at: flow.issued_at,
    request_url: flow.request_url,
  };
  if (flow.return_to !== undefined) out.return_to = flow.return_to;
  if (flow.active !== undefined) out.active = flow.active;
  return out;
}

/** Adds the wire fields of a flow after `ui` to `out`. */
function jsonTail(flow: Flow, out: Record<string, unknown>): Record<string, unknown> {
  if (flow.kind === "login") {
    out.created_at = flow.created_at;
    out.updated_at = flow.updated_at;
    out.refresh = flow.internal.refresh === true;
    out.requested_aal = flow.internal.requested_aal ?? "aal1";
  }
  out.state = flow.state;
  return out;
}

/** The wire JSON of a flow, per kind, in Kratos's field set (`organization_id` is always null here). */
export function flowToJson(flow: Flow): Record<string, unknown> {
  const out = jsonHead(flow);
  const ui: Record<string, unknown> = { action: flow.ui.action, method: flow.ui.method, nodes: flow.ui.nodes };
  if (flow.ui.messages && flow.ui.messages.length > 0) ui.messages = flow.ui.messages;
  out.ui = ui;
  return jsonTail(flow, out);
}

const WIRE_UI_KEYS = ["action", "method", "nodes", "messages"];

/**
 * True when `JSON.stringify(ui)` is the UI's wire JSON in `flowToJson`: its keys are `action`, `method`, `nodes` and
 * optionally a non-empty `messages`, in that order.
 */
export function isWireUi(ui: UiContainer): boolean {
  const keys = Object.keys(ui);
  if (keys.length < 3 || keys.length > 4 || keys.some((k, i) => k !== WIRE_UI_KEYS[i])) return false;
  return keys.length === 3 || ui.messages === undefined || (Array.isArray(ui.messages) && ui.messages.length > 0);
}

/**
 * `JSON.stringify(flowToJson(flow))`. With `uiText`, the JSON text of the flow's UI in wire form (`isWireUi`; the
 * repository keeps the text it wrote, see `FlowRepo.uiText`), the UI is spliced in as it is: neither read nor
 * serialized again.
 */
export function flowJsonText(flow: Flow, uiText?: string): string {
  if (uiText === undefined) return JSON.stringify(flowToJson(flow));
  const head = JSON.stringify(jsonHead(flow));
  const tail = JSON.stringify(jsonTail(flow, {}));
  return `${head.slice(0, -1)},"ui":${uiText}${tail === "{}" ? "}" : `,${tail.slice(1)}`}`;
}
