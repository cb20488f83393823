/**
 * How a settings flow goes on the wire. Kratos's `settingsFlow` is the shared flow JSON plus the `identity` (as the
 * self-service APIs show it: no credentials, no admin metadata) and `continue_with`; the engine's senders do not know
 * about these, so the settings handler answers through the functions here. Validation errors are applied exactly as
 * the engine does for login and registration (messages on nodes by name, the rest on the form, values echoed except
 * passwords, a fresh CSRF mask).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { identityToJson, type Identity } from "../../identity/identity.ts";
import type { UiNode, UiNodeInputAttributes } from "../../ui/node.ts";
import type { FlowEngine } from "../engine.ts";
import type { FlowValidationError } from "../errors.ts";
import { flowToJson, type Flow } from "../flow.ts";
import type { Csrf } from "../csrf.ts";

/** `flow.internal` key holding the `continue_with` of the last successful submit. */
export const CONTINUE_WITH = "continue_with";

export function settingsFlowToJson(flow: Flow, identity: Identity, publicBaseUrl: string): Record<string, unknown> {
  const out = flowToJson(flow);
  out.identity = identityToJson(identity, { publicBaseUrl, admin: false });
  const cw = flow.internal[CONTINUE_WITH];
  if (Array.isArray(cw) && cw.length) out.continue_with = cw;
  return out;
}

export interface SettingsResponder {
  /** JSON with `status`, or for browser forms a 303 to the settings UI (`ui_url?flow=`). */
  send(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, status: number, json: boolean): FastifyReply;
  /** Puts the error's messages and the submitted values on the flow, stores it and answers 400 (or 303 for forms). */
  sendValidation(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, err: FlowValidationError, values: Record<string, unknown>, json: boolean): Promise<FastifyReply>;
}

export function createSettingsResponder(deps: {
  engine: FlowEngine;
  csrf: Csrf;
  publicBaseUrl: string;
  now: () => Date;
  update: (flow: Flow) => Promise<void>;
}): SettingsResponder {
  const { engine, csrf, publicBaseUrl } = deps;

  function send(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, status: number, json: boolean): FastifyReply {
    if (flow.type === "browser") csrf.refresh(req, reply);
    if (json || flow.type === "api") return reply.code(status).type("application/json; charset=utf-8").send(settingsFlowToJson(flow, identity, publicBaseUrl));
    const u = new URL(engine.uiUrl("settings"));
    u.searchParams.set("flow", flow.id);
    return reply.redirect(u.toString(), 303);
  }

  async function sendValidation(
    req: FastifyRequest,
    reply: FastifyReply,
    flow: Flow,
    identity: Identity,
    err: FlowValidationError,
    values: Record<string, unknown>,
    json: boolean,
  ): Promise<FastifyReply> {
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
    flow.state = "show_form";
    delete flow.internal[CONTINUE_WITH];
    engine.setCsrfNode(flow);
    flow.updated_at = deps.now().toISOString();
    await deps.update(flow);
    return send(req, reply, flow, identity, 400, json);
  }

  return { send, sendValidation };
}
