/**
 * The end of a recovery: the recovered identity gets a privileged session and a settings flow to change its
 * credentials in. Until `flow/settings/` exports `createSettingsFlow(req, reply, {identity, session, type})`, the
 * settings flow row is written here with the flow repo (kind "settings", state "show_form", bound to the identity and
 * the new session, carrying 1060001 with the privileged window); the settings handler renders its nodes on fetch.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Identity } from "../../identity/identity.ts";
import { csrfNode } from "../../ui/node.ts";
import { recoverySuccessful } from "../../ui/messages.ts";
import type { FlowDeps } from "../deps.ts";
import { withParam } from "../engine.ts";
import { newFlow, type Flow, type FlowType } from "../flow.ts";

export interface SettingsHandoff {
  flow: Flow;
  /** `selfservice.flows.settings.ui_url?flow=<id>`. */
  url: string;
}

export async function createSettingsFlowForRecovery(
  deps: Pick<FlowDeps, "config" | "clock" | "flows" | "csrf" | "publicBaseUrl">,
  req: FastifyRequest,
  reply: FastifyReply,
  o: { identity: Identity; sessionId: string; type: FlowType; returnTo?: string },
): Promise<SettingsHandoff> {
  const { config, clock, flows, csrf, publicBaseUrl } = deps;
  const now = clock.now();
  const cfg = config.selfservice.flows.settings;
  const base = publicBaseUrl.endsWith("/") ? publicBaseUrl : `${publicBaseUrl}/`;
  const token = o.type === "browser" ? csrf.issue(req, reply) : "";
  const flow = newFlow({
    kind: "settings",
    type: o.type,
    now,
    lifespan: cfg.lifespan,
    requestUrl: `${base}self-service/settings/${o.type}`,
    publicBaseUrl,
    returnTo: o.returnTo,
    csrfToken: token,
  });
  flow.state = "show_form";
  flow.identity_id = o.identity.id;
  flow.session_id = o.sessionId;
  flow.ui.nodes.push(csrfNode(token));
  flow.ui.messages = [recoverySuccessful(new Date(now.getTime() + cfg.privileged_session_max_age), now)];
  await flows.create(flow);
  return { flow, url: withParam(cfg.ui_url, "flow", flow.id) };
}
