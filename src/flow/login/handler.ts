/**
 * Login flow routes (Kratos `selfservice/flow/login/handler.go`):
 * - `GET /self-service/login/browser` 303 to the login UI (or 200 JSON with `Accept: application/json`), CSRF cookie;
 *   a signed-in browser is sent on (303) or gets 400 `session_already_available` unless `refresh=true`;
 * - `GET /self-service/login/api` 200 JSON, no cookies;
 * - `GET /self-service/login/flows?id=` the flow (browser flows only with their CSRF cookie);
 * - `POST /self-service/login?flow=` submit, form or JSON, dispatched to the strategy named by `method`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Identity } from "../../identity/identity.ts";
import type { SessionRecord } from "../../session/session.ts";
import { flowRetrySuccess, loginReAuth, noStrategyFound } from "../../ui/messages.ts";
import { AppError } from "../../util/app-error.ts";
import type { LoginStrategy } from "../../strategies/strategy.ts";
import { readBody, str } from "../body.ts";
import { afterResponse, afterUrl, clientInfo, currentSession, redirectBrowserTo, resolveReturnTo } from "../common.ts";
import type { FlowDeps } from "../deps.ts";
import { queryParam, wantsJson, type FlowEngine } from "../engine.ts";
import { FlowValidationError, sessionAlreadyAvailable } from "../errors.ts";
import { isExpired, type Flow, type FlowType } from "../flow.ts";
import type { VerificationHooks } from "../verification/hooks.ts";

export interface LoginHandlerDeps extends FlowDeps {
  engine: FlowEngine;
  strategies: readonly LoginStrategy[];
  /** The `require_verified_address` hook (no session until an address is verified). */
  verification?: VerificationHooks;
}

const identityMismatch = () =>
  new AppError({
    id: "session_identity_mismatch",
    code: 400,
    message: "the re-authenticated identity is not the identity of the session",
    reason: "You must sign in with the account of your current session to refresh it. Sign out to use another account.",
  });

const aalTooHigh = () =>
  new AppError({
    id: "session_aal1_required",
    code: 401,
    message: "aal2 and aal3 can only be requested if a session exists already",
    reason: "You can not requested a higher AAL (AAL2/AAL3) without an active session.",
  });

export function registerLoginRoutes(app: FastifyInstance, deps: LoginHandlerDeps): void {
  const { config, engine, strategies, sessions, flows, clock } = deps;

  const populate = (refresh: boolean) => (flow: Flow) => {
    for (const s of strategies) s.populateLogin(flow);
    if (refresh) flow.ui.messages = [loginReAuth()];
  };

  async function init(type: FlowType, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = type === "api" || wantsJson(req);
    try {
      const refresh = queryParam(req, "refresh") === "true";
      const aal = queryParam(req, "aal");
      const returnTo = resolveReturnTo(config, queryParam(req, "return_to"));
      const session = await currentSession(sessions, req);
      if (aal !== undefined && aal !== "aal1" && !session) throw aalTooHigh();
      if (session && !refresh && (aal === undefined || aal === "aal1")) {
        if (!json) return reply.redirect(returnTo ?? config.selfservice.default_browser_return_url, 303);
        throw sessionAlreadyAvailable();
      }
      const flow = await engine.create("login", type, req, reply, {
        returnTo,
        internal: { refresh, requested_aal: aal ?? "aal1" },
        populate: populate(refresh && Boolean(session)),
      });
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  async function succeed(req: FastifyRequest, reply: FastifyReply, flow: Flow, method: string, identity: Identity, previous?: SessionRecord): Promise<FastifyReply> {
    const after = config.selfservice.flows.login.after as unknown as Record<string, { hooks?: { hook: string }[] } | undefined> & { hooks?: { hook: string }[] };
    const perMethod = after[method]?.hooks;
    const hooks = perMethod && perMethod.length ? perMethod : after.hooks;
    if (deps.verification && hooks?.some((h) => h.hook === "require_verified_address")) {
      const blocked = await deps.verification.requireVerified(req, reply, flow, identity);
      if (blocked) return wantsJson(req) || flow.type === "api" ? engine.sendFatal(req, reply, blocked.error, true) : reply.redirect(blocked.url, 303);
    }
    // Re-authentication (refresh=true) replaces the session it refreshes: a new token, the earlier methods kept.
    const { session, token } = await sessions.issue(identity, { method, ...clientInfo(req), previous });
    flow.state = "passed_challenge";
    flow.active = method;
    flow.identity_id = identity.id;
    flow.updated_at = clock.now().toISOString();
    await flows.update(flow);
    const sessionJson = sessions.toJson(session, identity);
    if (flow.type === "api") return reply.code(200).send({ session: sessionJson, session_token: token });
    sessions.setCookie(reply, token, session);
    const to = afterUrl(config, flow, method);
    if (wantsJson(req)) return reply.code(200).send({ session: sessionJson, continue_with: [redirectBrowserTo(to)] });
    return reply.redirect(to, 303);
  }

  async function submit(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let flow: Flow | undefined;
    const body = readBody(req);
    const values = { identifier: str(body.identifier) ?? str(body.password_identifier) ?? "" };
    try {
      flow = await engine.load("login", req, "flow");
      if (isExpired(flow, clock.now())) return await engine.sendExpired(req, reply, flow, populate(false));
      engine.checkRequestBinding(req, flow, str(body.csrf_token));
      flow.submit_count += 1;
      if (flow.state === "passed_challenge") throw new FlowValidationError({ form: [flowRetrySuccess("login")] });
      const session = (await currentSession(sessions, req)) as { session: SessionRecord; identity: Identity } | undefined;
      if (session && !flow.internal.refresh) {
        if (flow.type === "browser" && !wantsJson(req)) return reply.redirect(afterUrl(config, flow, "password"), 303);
        throw sessionAlreadyAvailable();
      }
      const method = str(body.method);
      const strategy = strategies.find((s) => s.id === method);
      if (!strategy) throw new FlowValidationError({ form: [noStrategyFound("login")] });
      const result = await strategy.login({ req, flow, body });
      // Refreshing a session proves it is still its owner at the keyboard; another account's credentials do not.
      if (session && result.identity.id !== session.identity.id) throw identityMismatch();
      if (result.afterResponse) afterResponse(req, reply, result.afterResponse);
      return await succeed(req, reply, flow, strategy.id, result.identity, session?.session);
    } catch (e) {
      if (e instanceof FlowValidationError && e.afterResponse) afterResponse(req, reply, e.afterResponse);
      if (e instanceof FlowValidationError && flow) return engine.sendValidation(req, reply, flow, e, values);
      return engine.sendFatal(req, reply, e, flow?.type === "api" || wantsJson(req));
    }
  }

  app.get("/self-service/login/browser", (req, reply) => init("browser", req, reply));
  app.get("/self-service/login/api", (req, reply) => init("api", req, reply));
  app.get("/self-service/login/flows", (req, reply) => engine.fetch("login", req, reply));
  app.post("/self-service/login", (req, reply) => submit(req, reply));
}
