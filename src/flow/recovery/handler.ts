/**
 * Recovery flow routes (Kratos `selfservice/flow/recovery/handler.go` + the code and link strategies):
 * - `GET /self-service/recovery/{browser,api}` create a flow offering `selfservice.flows.recovery.use` (code default);
 *   a signed-in browser is sent on, an API client gets 400 `session_already_available`;
 * - `GET /self-service/recovery/flows?id=` fetch; `POST /self-service/recovery?flow=` submit (`method` code|link);
 * - `GET /self-service/recovery?flow=&token=` opens a recovery link; `GET /self-service/recovery?flow=` (no token)
 *   opens a flow in the browser: 303 to `ui_url?flow=` (the `recovery_link` of `POST /admin/recovery/code`).
 * Success (a correct code or link): in ONE transaction the code or token is spent, the address marked verified and
 * `recovery_used` queued to the address (so the notice exists exactly when the recovery happened; a concurrent use
 * of the same code finds it spent and changes nothing); then a new session is issued (cookie for browsers,
 * `set_ory_session_token` for API clients), `revoke_active_sessions` runs when configured, and a settings flow is
 * handed over (`show_settings_ui`; browsers following a form get a 303 to it).
 *
 * Admin-made browser flows (`internal.admin_issued`, see `admin-routes.ts`) are created bound to no browser (no CSRF
 * token): the first browser that opens (`GET ?flow=`) or fetches the flow gets it bound to its CSRF cookie (issued
 * on that answer if it had none), with one conditional update, so exactly one browser wins. From then on it is an
 * ordinary browser flow (fetch checks the owner, submits need the CSRF token); a submit before that is refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Identity } from "../../identity/identity.ts";
import type { Database } from "../../persistence/db.ts";
import { codeInvalidOrUsed, flowRetrySuccess, noStrategyFound, recoverySuccessful, recoveryTokenInvalidOrUsed } from "../../ui/messages.ts";
import { errors } from "../../util/app-error.ts";
import type { RecoveryStrategy } from "../../strategies/strategy.ts";
import type { AddressStore } from "../../strategies/code/addresses.ts";
import type { Sender } from "../../strategies/code/sender.ts";
import { createSecurityEvents } from "../../security/events.ts";
import type { RedeemedLink } from "../../strategies/link/link-flows.ts";
import { readBody, str } from "../body.ts";
import { clientInfo, currentSession, resolveReturnTo } from "../common.ts";
import type { FlowDeps } from "../deps.ts";
import { queryParam, wantsJson, withParam, type FlowEngine } from "../engine.ts";
import { csrfViolation, flowGone, FlowValidationError, sessionAlreadyAvailable } from "../errors.ts";
import { flowToJson, isExpired, type Flow, type FlowType } from "../flow.ts";
import type { Q } from "../../strategies/code/code-store.ts";
import { createSettingsFlowForRecovery } from "./settings-handoff.ts";

/** `flow/settings`'s factory (`registerSettingsRoutes(...).createSettingsFlow`), when the settings flow is wired. */
export type SettingsFlowFactory = (
  req: FastifyRequest,
  reply: FastifyReply,
  o: { identity: Identity; session: never; type: FlowType; returnTo?: string },
) => Promise<Flow>;

export interface RecoveryHandlerDeps extends FlowDeps {
  engine: FlowEngine;
  /** The enabled recovery strategies; the flow offers the one named by `selfservice.flows.recovery.use`. */
  strategies: readonly (RecoveryStrategy & { useToken?(token: string): Promise<RedeemedLink | undefined> })[];
  database: Database;
  sender: Sender;
  addresses: AddressStore;
  createSettingsFlow?: SettingsFlowFactory;
}

type SessionWithId = { id: string };
/** Spends the code or token that proved control, with the commit transaction; false when another use won. */
type Spend = (q: Q) => Promise<boolean>;
/** The code and link strategies return their proof unspent, with a `spend` for the handler's transaction. */
const spendOf = (o: object): Spend | undefined => {
  const f = (o as { spend?: unknown }).spend;
  return typeof f === "function" ? (f as Spend) : undefined;
};
/** A browser flow made by the admin API that no browser opened yet. */
export const unboundAdminFlow = (flow: Flow): boolean => flow.type === "browser" && flow.internal.admin_issued === true && flow.csrf_token === "";
type Revoker = { revokeAllForIdentity?(identityId: string, exceptSessionId?: string): Promise<number> };

export function registerRecoveryRoutes(app: FastifyInstance, deps: RecoveryHandlerDeps): void {
  const { config, engine, sessions, flows, clock, database, sender, addresses, csrf } = deps;
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  const cfg = config.selfservice.flows.recovery;
  const events = sender.events ?? createSecurityEvents(deps.logger);
  const strategy = deps.strategies.find((s) => s.id === cfg.use);
  // Links (self-service or admin-made) are redeemable whenever the link method is enabled, whatever `use` offers.
  const linker = deps.strategies.find((s) => s.useToken !== undefined);

  const populate = (flow: Flow) => strategy?.populateRecovery(flow);
  const send = (req: FastifyRequest, reply: FastifyReply, flow: Flow, status: number, json: boolean, extra?: Record<string, unknown>) => {
    if (!extra) return engine.sendFlow(req, reply, flow, status, json);
    if (flow.type === "browser") engine.setCsrfNode(flow);
    return reply.code(status).type("application/json; charset=utf-8").send({ ...flowToJson(flow), ...extra });
  };

  function enabled(): void {
    if (!cfg.enabled || !strategy) throw errors.badRequest("Recovery is not allowed because it was disabled.");
  }

  async function init(type: FlowType, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = type === "api" || wantsJson(req);
    try {
      enabled();
      const returnTo = resolveReturnTo(config, queryParam(req, "return_to"));
      if (await currentSession(sessions, req)) {
        if (!json) return reply.redirect(returnTo ?? config.selfservice.default_browser_return_url, 303);
        throw sessionAlreadyAvailable();
      }
      const flow = await engine.create("recovery", type, req, reply, { returnTo, populate });
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  /**
   * The commit point of a recovery: spends the proof, marks the address verified and queues `recovery_used`, in one
   * transaction. False (nothing written) when the code or token was spent meanwhile.
   */
  async function commit(identity: Identity, address: string | null, spend: Spend | undefined): Promise<boolean> {
    if (identity.state !== "active") throw errors.forbidden("This account was disabled.");
    const now = clock.now();
    return database.db.transaction().execute(async (trx) => {
      if (spend && !(await spend(trx))) return false;
      if (address) await addresses.markVerifiedByValue(identity.id, address, now, trx);
      const to = address ?? identity.recovery_addresses[0]?.value;
      if (to) await sender.notifyRecovered(trx, to, identity);
      return true;
    });
  }

  /** Session, hooks and settings hand-over for a recovered identity (after `commit`). */
  async function succeed(req: FastifyRequest, reply: FastifyReply, flow: Flow, method: string, identity: Identity, address: string | null, json: boolean): Promise<FastifyReply> {
    const now = clock.now();
    const { session, token } = await sessions.issue(identity, { method: `${method}_recovery`, ...clientInfo(req) });
    const sessionId = (session as SessionWithId).id;
    if ((cfg.after.hooks ?? []).some((h) => h.hook === "revoke_active_sessions")) {
      const revoke = (sessions as Revoker).revokeAllForIdentity;
      if (!revoke) throw errors.internal("revoke_active_sessions needs a session service that can revoke sessions");
      await revoke.call(sessions, identity.id, sessionId);
    }
    // The owner is back: forget the login throttle of the account's identifiers (and of the recovered address).
    await sender.clearThrottle([...(identity.credentials.password?.identifiers ?? []), ...(address ? [address] : [])]);
    events("recovery_succeeded", { identity_id: identity.id, client_ip: req.ip, flow_id: flow.id, method });
    let settingsFlow: Flow;
    let settingsUrl: string;
    if (deps.createSettingsFlow) {
      settingsFlow = await deps.createSettingsFlow(req, reply, { identity, session: session as never, type: flow.type, returnTo: flow.return_to });
      // As Kratos (NewRecoverySuccessful): the handed-over flow says so, and until when the session is privileged.
      settingsFlow.ui.messages = [recoverySuccessful(new Date(now.getTime() + config.selfservice.flows.settings.privileged_session_max_age), now)];
      await flows.update(settingsFlow);
      settingsUrl = withParam(config.selfservice.flows.settings.ui_url, "flow", settingsFlow.id);
    } else {
      const h = await createSettingsFlowForRecovery(deps, req, reply, { identity, sessionId, type: flow.type, returnTo: flow.return_to });
      settingsFlow = h.flow;
      settingsUrl = h.url;
    }
    flow.state = "passed_challenge";
    flow.active = method;
    flow.identity_id = identity.id;
    delete flow.ui.messages;
    flow.updated_at = now.toISOString();
    await flows.update(flow);

    const showSettings = { action: "show_settings_ui", flow: { id: settingsFlow.id, url: settingsUrl } };
    if (flow.type === "api") {
      return send(req, reply, flow, 200, true, { continue_with: [{ action: "set_ory_session_token", ory_session_token: token }, showSettings] });
    }
    sessions.setCookie(reply, token, session);
    if (json) return send(req, reply, flow, 200, true, { continue_with: [showSettings] });
    return reply.redirect(settingsUrl, 303);
  }

  async function submit(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let flow: Flow | undefined;
    const body = readBody(req);
    const values = { email: typeof body.email === "string" ? body.email.slice(0, 320) : undefined };
    try {
      enabled();
      flow = await engine.load("recovery", req, "flow");
      const json = flow.type === "api" || wantsJson(req);
      if (isExpired(flow, clock.now())) return await engine.sendExpired(req, reply, flow, populate);
      engine.checkRequestBinding(req, flow, str(body.csrf_token));
      flow.submit_count += 1;
      if (flow.state === "passed_challenge") throw new FlowValidationError({ form: [flowRetrySuccess("recovery")] });
      if (await currentSession(sessions, req)) {
        if (!json) return reply.redirect(config.selfservice.default_browser_return_url, 303);
        throw sessionAlreadyAvailable();
      }
      const s = strategy;
      if (!s || str(body.method) !== s.id) throw new FlowValidationError({ form: [noStrategyFound("recovery")] });
      const outcome = await s.recover({ req, flow, body });
      if (outcome.status === "recovered") {
        if (!(await commit(outcome.identity, outcome.address, spendOf(outcome)))) throw new FlowValidationError({ form: [codeInvalidOrUsed("recovery")] });
        return await succeed(req, reply, flow, s.id, outcome.identity, outcome.address, json);
      }
      flow.updated_at = clock.now().toISOString();
      await flows.update(flow);
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      if (e instanceof FlowValidationError && flow) return engine.sendValidation(req, reply, flow, e, values);
      return engine.sendFatal(req, reply, e, flow?.type === "api" || wantsJson(req));
    }
  }

  /** Binds an unbound admin-made flow to this browser's CSRF secret (a cookie is set if it had none). */
  async function claim(req: FastifyRequest, reply: FastifyReply, flow: Flow): Promise<boolean> {
    if (!unboundAdminFlow(flow)) return false;
    const token = csrf.issue(req, reply);
    if (!(await flows.bindCsrf(flow.id, token))) return false;
    flow.csrf_token = token;
    return true;
  }

  /** The fetch answer for a flow this request may see (`claimed`: just bound to this browser). */
  function show(req: FastifyRequest, reply: FastifyReply, flow: Flow, claimed: boolean): FastifyReply {
    if (flow.type === "browser" && !claimed && !csrf.ownsFlow(req, flow.csrf_token)) {
      throw csrfViolation("The anti-CSRF cookie of the browser that started this flow was not sent with the request.");
    }
    if (isExpired(flow, clock.now())) {
      throw flow.type === "browser"
        ? flowGone("recovery", { redirect_to: withParam(`${base}self-service/recovery/browser`, "return_to", flow.return_to ?? ""), return_to: flow.return_to ?? "" })
        : flowGone("recovery", { api: `${base}self-service/recovery/api` });
    }
    engine.setCsrfNode(flow);
    return reply.code(200).type("application/json; charset=utf-8").send(flowToJson(flow));
  }

  /** `GET /self-service/recovery/flows?id=`: as every flow, except that it binds an unbound admin-made flow. */
  async function fetchFlow(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const id = queryParam(req, "id");
    const flow = id ? await flows.get(id) : undefined;
    if (!flow || flow.kind !== "recovery" || !unboundAdminFlow(flow)) return engine.fetch("recovery", req, reply);
    try {
      const claimed = await claim(req, reply, flow);
      // Lost to another browser: the flow as stored now, for the usual owner check.
      return show(req, reply, claimed ? flow : ((await flows.get(flow.id)) ?? flow), claimed);
    } catch (e) {
      return engine.sendFatal(req, reply, e, true);
    }
  }

  /** `GET /self-service/recovery?flow=` without a token: the browser opens a flow (binding an admin-made one). */
  async function openFlow(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = wantsJson(req);
    try {
      enabled();
      let flow = await engine.load("recovery", req, "flow");
      const claimed = await claim(req, reply, flow);
      if (!claimed && unboundAdminFlow(flow)) flow = (await flows.get(flow.id)) ?? flow;
      if (json) return show(req, reply, flow, claimed);
      return reply.redirect(recoveryUiUrl(cfg.ui_url, flow.id), 303);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  /** `GET /self-service/recovery?token=`: a recovery link opened in a browser. */
  async function openLink(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = wantsJson(req);
    try {
      enabled();
      const token = queryParam(req, "token");
      if (!token && queryParam(req, "flow")) return await openFlow(req, reply);
      if (!token) throw errors.badRequest("The recovery link is missing its token.");
      const link = linker?.useToken ? await linker.useToken(token) : undefined;
      const flow = link ? await flows.get(link.flowId) : undefined;
      // The link is spent (with the notice) only once its flow is known to be a recovery flow.
      if (!link || !flow || flow.kind !== "recovery" || !(await commit(link.identity, link.address, link.spend))) {
        // As Kratos: a fresh browser flow explaining that the link is invalid or spent.
        const fresh = await engine.create("recovery", "browser", req, reply, {
          populate(f) {
            populate(f);
            f.ui.messages = [recoveryTokenInvalidOrUsed()];
          },
        });
        return engine.sendFlow(req, reply, fresh, json ? 400 : 303, json);
      }
      flow.type = "browser";
      return await succeed(req, reply, flow, "link", link.identity, link.address, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  app.get("/self-service/recovery/browser", (req, reply) => init("browser", req, reply));
  app.get("/self-service/recovery/api", (req, reply) => init("api", req, reply));
  app.get("/self-service/recovery/flows", (req, reply) => fetchFlow(req, reply));
  app.get("/self-service/recovery", (req, reply) => openLink(req, reply));
  app.post("/self-service/recovery", (req, reply) => submit(req, reply));
}

/** Where a browser is sent for a recovery flow (exported for the admin routes). */
export const recoveryUiUrl = (uiUrl: string, flowId: string): string => withParam(uiUrl, "flow", flowId);
