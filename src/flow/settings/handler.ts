/**
 * Settings flow routes (Kratos `selfservice/flow/settings/handler.go`):
 * - `GET /self-service/settings/browser` (303 to `ui_url?flow=`, or 200 JSON with `Accept: application/json`) and
 *   `GET /self-service/settings/api` (200 JSON): a session is required (401 `session_inactive` for JSON, else a 303 to
 *   the login UI); `required_aal: highest_available` sends a session without its second factor to `aal=aal2` login;
 * - `GET /self-service/settings/flows?id=`: only for the identity that owns the flow (403 otherwise);
 * - `POST /self-service/settings?flow=` with `method` `profile` or `password`. A change that needs a privileged
 *   session (`authenticated_at` older than `privileged_session_max_age`) answers 403 `session_refresh_required` with
 *   `redirect_browser_to` (JSON) or a 303 to login `refresh=true&return_to=<settings UI>?flow=<id>` (browser forms).
 *   Success: state `success`, message 1050001, the flow (200) or a 303 to `return_to` / the method's
 *   `default_browser_return_url` / back to the settings UI. A change whose messages could not be queued answers 400
 *   with 4991001 and the flow keeps them; the next submit of the flow queues them first (`hooks.ts`). The messages a
 *   submit causes count against the per-IP message cap: the strategies and hooks pass `req.ip` on to the sender.
 *
 * `createSettingsFlow(req, reply, {identity, session, type})` creates and stores a settings flow for an identity the
 * caller already authenticated (the recovery flow uses it after a successful recovery).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Identity } from "../../identity/identity.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Database } from "../../persistence/db.ts";
import { sessionInactive, type SessionRecord } from "../../session/session.ts";
import { isAppError } from "../../util/app-error.ts";
import type { SettingsStrategy } from "../../strategies/strategy.ts";
import { noStrategyFound, settingsSaved, flowExpired } from "../../ui/messages.ts";
import { readBody, str } from "../body.ts";
import { redirectBrowserTo, resolveReturnTo } from "../common.ts";
import type { FlowDeps, SessionsPort } from "../deps.ts";
import { queryParam, wantsJson, withParam, type FlowEngine } from "../engine.ts";
import { FlowValidationError, flowExpiredError, flowGone, csrfViolation } from "../errors.ts";
import { isExpired, type Flow, type FlowType } from "../flow.ts";
import { identityMismatch, redirectOf, sessionAal2Required, sessionRefreshRequired } from "./errors.ts";
import { flushPendingMessages, runSettingsHooks, type AddressVerifier, type CourierPort, type SettingsHookDeps } from "./hooks.ts";
import { CONTINUE_WITH, createSettingsResponder } from "./respond.ts";

/** The session service as the settings flow needs it (`session/session-service.ts` satisfies it). */
export interface SettingsSessionsPort extends SessionsPort {
  fromRequest(req: FastifyRequest): Promise<{ session: SessionRecord; identity: Identity } | undefined>;
  revokeAllForIdentity(identityId: string, exceptSessionId?: string): Promise<number>;
}

/** Whether a `SessionsPort` also offers what settings needs (the real session service does). */
export function isSettingsSessions(s: SessionsPort): s is SettingsSessionsPort {
  return typeof (s as Partial<SettingsSessionsPort>).revokeAllForIdentity === "function";
}

export interface SettingsHandlerDeps extends Omit<FlowDeps, "sessions"> {
  engine: FlowEngine;
  strategies: readonly SettingsStrategy[];
  sessions: SettingsSessionsPort;
  repo: IdentityRepo;
  database: Database;
  /** Optional until the composition root wires the courier; without it messages are logged, not queued. */
  courier?: CourierPort;
  /** The verification flow's entry point for changed addresses; without it a link message is queued instead. */
  verifier?: AddressVerifier;
}

export interface CreateSettingsFlowOptions {
  identity: Identity;
  session: SessionRecord;
  type: FlowType;
  returnTo?: string;
}

export type CreateSettingsFlow = (req: FastifyRequest, reply: FastifyReply, o: CreateSettingsFlowOptions) => Promise<Flow>;

/** Credential types that make a second factor available (Kratos: the identity's highest available AAL is aal2). */
const SECOND_FACTORS = ["totp", "webauthn", "lookup_secret"] as const;

/** Trait values to echo into the nodes after a failed submit, keyed by node name (`traits.name.first`). */
function flatten(v: unknown, prefix: string, out: Record<string, unknown> = {}): Record<string, unknown> {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, `${prefix}.${k}`, out);
  } else out[prefix] = v;
  return out;
}

export function registerSettingsRoutes(app: FastifyInstance, deps: SettingsHandlerDeps): { createSettingsFlow: CreateSettingsFlow } {
  const { config, engine, strategies, sessions, flows, clock, repo, publicBaseUrl, csrf } = deps;
  const cfg = config.selfservice.flows.settings;
  const base = publicBaseUrl.endsWith("/") ? publicBaseUrl : `${publicBaseUrl}/`;
  const responder = createSettingsResponder({ engine, csrf, publicBaseUrl, now: () => clock.now(), update: (f) => flows.update(f) });
  const hookDeps: SettingsHookDeps = {
    config,
    db: deps.database.db,
    publicBaseUrl,
    revokeAllForIdentity: (id, except) => sessions.revokeAllForIdentity(id, except),
    courier: deps.courier,
    verifier: deps.verifier,
  };

  const populate = (identity: Identity) => (flow: Flow) => {
    flow.identity_id = identity.id;
    flow.state = "show_form";
    for (const s of strategies) s.populateSettings(flow, identity);
  };

  const uiUrlOf = (flow: Flow): string => withParam(engine.uiUrl("settings"), "flow", flow.id);
  const loginInit = (params: Record<string, string>): string => {
    const u = new URL(`${base}self-service/login/browser`);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  };

  const createSettingsFlow: CreateSettingsFlow = async (req, reply, o) => {
    const flow = await engine.create("settings", o.type, req, reply, { returnTo: o.returnTo, populate: populate(o.identity) });
    flow.session_id = o.session.id;
    await flows.update(flow);
    return flow;
  };

  /** The request's session and its identity loaded with credentials; throws 401 `session_inactive`. */
  async function signedIn(req: FastifyRequest): Promise<{ session: SessionRecord; identity: Identity }> {
    let found: Awaited<ReturnType<SettingsSessionsPort["fromRequest"]>>;
    try {
      found = await sessions.fromRequest(req);
    } catch {
      found = undefined;
    }
    const identity = found ? await repo.get(found.identity.id) : undefined;
    if (!found || !identity || identity.state !== "active") throw sessionInactive();
    return { session: found.session, identity };
  }

  /** `required_aal: highest_available`: a session without the identity's second factor must step up first. */
  function checkAal(session: SessionRecord, identity: Identity, returnTo: string): void {
    if (cfg.required_aal !== "highest_available" || session.aal === "aal2") return;
    if (SECOND_FACTORS.some((t) => identity.credentials[t] !== undefined)) throw sessionAal2Required(loginInit({ aal: "aal2", return_to: returnTo }));
  }

  async function init(type: FlowType, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = type === "api" || wantsJson(req);
    try {
      const returnTo = resolveReturnTo(config, queryParam(req, "return_to"));
      let who: { session: SessionRecord; identity: Identity };
      try {
        who = await signedIn(req);
      } catch (e) {
        if (!json) return reply.redirect(config.selfservice.flows.login.ui_url, 303);
        throw e;
      }
      checkAal(who.session, who.identity, engine.uiUrl("settings"));
      const flow = await createSettingsFlow(req, reply, { identity: who.identity, session: who.session, type, returnTo });
      return responder.send(req, reply, flow, who.identity, 200, json);
    } catch (e) {
      const to = redirectOf(e);
      if (!json && to) return reply.redirect(to, 303);
      return engine.sendFatal(req, reply, e, json);
    }
  }

  async function fetch(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const flow = await engine.load("settings", req, "id");
      const who = await signedIn(req);
      if (flow.identity_id !== who.identity.id) throw identityMismatch();
      if (flow.type === "browser" && !csrf.ownsFlow(req, flow.csrf_token)) {
        throw csrfViolation("The anti-CSRF cookie of the browser that started this flow was not sent with the request.");
      }
      if (isExpired(flow, clock.now())) {
        throw flow.type === "browser"
          ? flowGone("settings", { redirect_to: withParam(`${base}self-service/settings/browser`, "return_to", flow.return_to ?? ""), return_to: flow.return_to ?? "" })
          : flowGone("settings", { api: `${base}self-service/settings/api` });
      }
      engine.setCsrfNode(flow);
      return responder.send(req, reply, flow, who.identity, 200, true);
    } catch (e) {
      return engine.sendFatal(req, reply, e, true);
    }
  }

  /** A replacement flow for a submit of an expired one: 410 with `use_flow_id`, or a 303 to it for forms. */
  async function sendExpired(req: FastifyRequest, reply: FastifyReply, flow: Flow, who: { session: SessionRecord; identity: Identity }, json: boolean): Promise<FastifyReply> {
    const now = clock.now();
    const expiredAt = new Date(flow.expires_at);
    const fresh = await createSettingsFlow(req, reply, { identity: who.identity, session: who.session, type: flow.type, returnTo: flow.return_to });
    fresh.ui.messages = [flowExpired("settings", expiredAt, now)];
    await flows.update(fresh);
    if (!json && flow.type === "browser") return reply.redirect(uiUrlOf(fresh), 303);
    return engine.sendFatal(req, reply, flowExpiredError(fresh.id, expiredAt, now), true);
  }

  /** Where a browser form goes after success: `return_to`, the method's or flow's default URL, else the settings UI. */
  function successUrl(flow: Flow, method: string): string {
    if (flow.return_to) return flow.return_to;
    const after = cfg.after as unknown as Record<string, { default_browser_return_url?: string } | undefined> & { default_browser_return_url?: string };
    return after[method]?.default_browser_return_url ?? after.default_browser_return_url ?? uiUrlOf(flow);
  }

  async function submit(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let flow: Flow | undefined;
    let identity: Identity | undefined;
    const body = readBody(req);
    const values = flatten(body.traits ?? {}, "traits");
    const json = () => flow?.type === "api" || wantsJson(req);
    try {
      flow = await engine.load("settings", req, "flow");
      const who = await signedIn(req);
      if (flow.identity_id !== who.identity.id) throw identityMismatch();
      if (isExpired(flow, clock.now())) return await sendExpired(req, reply, flow, who, json());
      engine.checkRequestBinding(req, flow, str(body.csrf_token));
      checkAal(who.session, who.identity, uiUrlOf(flow));
      identity = who.identity;
      // Messages an earlier submit of this flow stored a change for but could not queue go first (stored at once,
      // so a later failure of this submit cannot queue them twice).
      if (await flushPendingMessages(hookDeps, req, reply, flow, who.identity)) await flows.update(flow);
      flow.submit_count += 1;
      const method = str(body.method);
      const strategy = strategies.find((s) => s.id === method);
      if (!strategy) throw new FlowValidationError({ form: [noStrategyFound("settings")] });
      const current = flow;
      const maxAge = cfg.privileged_session_max_age;
      const result = await strategy.settings({
        req,
        flow,
        body,
        identity: who.identity,
        requirePrivileged() {
          if (new Date(who.session.authenticated_at).getTime() + maxAge < clock.now().getTime()) {
            throw sessionRefreshRequired(loginInit({ refresh: "true", return_to: uiUrlOf(current) }));
          }
        },
      });
      // From here on the change is stored: an answer about it shows the identity as changed.
      identity = result.identity;
      const continueWith = await runSettingsHooks(hookDeps, req, reply, { flow, method: strategy.id, sessionId: who.session.id, result });
      return await succeed(req, reply, flow, strategy.id, result.identity, continueWith, json());
    } catch (e) {
      if (e instanceof FlowValidationError && flow && identity) return responder.sendValidation(req, reply, flow, identity, e, values, json());
      const to = redirectOf(e);
      if (to && !json()) return reply.redirect(to, 303);
      if (!json() && isAppError(e) && e.id === "session_inactive") return reply.redirect(config.selfservice.flows.login.ui_url, 303);
      return engine.sendFatal(req, reply, e, json());
    }
  }

  async function succeed(req: FastifyRequest, reply: FastifyReply, flow: Flow, method: string, identity: Identity, continueWith: Array<Record<string, unknown>>, json: boolean): Promise<FastifyReply> {
    flow.state = "success";
    flow.active = method;
    // The form shows the stored values again, as Kratos re-populates every method after a change.
    flow.ui.nodes = [];
    flow.ui.messages = [settingsSaved()];
    populate(identity)(flow);
    flow.state = "success";
    engine.setCsrfNode(flow);
    const cw = [...continueWith];
    if (flow.type === "browser" && flow.return_to) cw.push(redirectBrowserTo(flow.return_to));
    flow.internal[CONTINUE_WITH] = cw;
    flow.updated_at = clock.now().toISOString();
    await flows.update(flow);
    if (flow.type === "browser" && !json) return reply.redirect(successUrl(flow, method), 303);
    return responder.send(req, reply, flow, identity, 200, true);
  }

  app.get("/self-service/settings/browser", (req, reply) => init("browser", req, reply));
  app.get("/self-service/settings/api", (req, reply) => init("api", req, reply));
  app.get("/self-service/settings/flows", fetch);
  app.post("/self-service/settings", (req, reply) => submit(req, reply));
  return { createSettingsFlow };
}
