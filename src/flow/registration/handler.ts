/**
 * Registration flow routes (Kratos `selfservice/flow/registration/handler.go`), the same shape as login:
 * `/self-service/registration/{browser,api,flows}` and `POST /self-service/registration?flow=`. After the strategy
 * created the identity, `selfservice.flows.registration.after.<method>.hooks` (else `after.hooks`) run; the `session`
 * hook signs the new identity in (cookie for browsers, `session_token` + `continue_with` for API clients).
 *
 * With enumeration mitigation (`./enumeration.ts`) the `session` hook waits for verification (no session in the
 * answer), every answer carries `show_verification_ui`, and a duplicate (`DuplicateRegistration`) is answered with its
 * stand-in identity exactly like a new registration while its owner gets a `registration_attempt` notice.
 *
 * Outbox: the new identity's verification flows, codes and messages are written in the identity's own insert
 * transaction (the strategy hands `afterCreate` to `identities.create`): both commit, or neither (no identity is left
 * without its verification message). The message caps are asked before that transaction. A duplicate's insert fails
 * before anything is written; its stand-in's flow, code and notice are then written in one transaction of their own,
 * reusing the flows and cap decisions prepared for the would-be identity (same work, same cookies, one message).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { HookConfig } from "../../config/config.ts";
import { identityToJson, type Identity } from "../../identity/identity.ts";
import { flowRetrySuccess, noStrategyFound } from "../../ui/messages.ts";
import { errors } from "../../util/app-error.ts";
import type { RegistrationStrategy } from "../../strategies/strategy.ts";
import { readBody, str } from "../body.ts";
import { afterUrl, clientInfo, currentSession, redirectBrowserTo, resolveReturnTo } from "../common.ts";
import type { FlowDeps } from "../deps.ts";
import { queryParam, wantsJson, type FlowEngine } from "../engine.ts";
import { FlowValidationError, sessionAlreadyAvailable } from "../errors.ts";
import { isExpired, type Flow, type FlowType } from "../flow.ts";
import type { RegistrationVerification, VerificationHooks } from "../verification/hooks.ts";
import type { AfterCreate } from "../../identity/identity-service.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import { createSecurityEvents } from "../../security/events.ts";
import { DuplicateRegistration, markStandIn, noticeRecipient, registrationMitigated } from "./enumeration.ts";

export interface RegistrationHandlerDeps extends FlowDeps {
  engine: FlowEngine;
  strategies: readonly RegistrationStrategy[];
  /** Sends verification messages for the new identity's addresses (`show_verification_ui` in `continue_with`). */
  verification?: VerificationHooks;
  /** A duplicate's stand-in rehearses a new identity's inserts (`IdentityRepo.rehearseInsert`). */
  repo: Pick<IdentityRepo, "rehearseInsert">;
}

/** Trait values to echo into the nodes after a failed submit, keyed by node name (`traits.name.first`). */
function flatten(v: unknown, prefix: string, out: Record<string, unknown> = {}): Record<string, unknown> {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, `${prefix}.${k}`, out);
  } else out[prefix] = v;
  return out;
}

export function registerRegistrationRoutes(app: FastifyInstance, deps: RegistrationHandlerDeps): void {
  const { config, engine, strategies, sessions, flows, clock, publicBaseUrl } = deps;
  const regCfg = config.selfservice.flows.registration;
  const events = createSecurityEvents(deps.logger);

  const populate = (flow: Flow) => {
    for (const s of strategies) s.populateRegistration(flow);
  };

  const hooksFor = (method: string): readonly HookConfig[] => {
    const perMethod = (regCfg.after as unknown as Record<string, { hooks?: HookConfig[] } | undefined>)[method]?.hooks;
    return perMethod && perMethod.length ? perMethod : (regCfg.after.hooks ?? []);
  };

  async function init(type: FlowType, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = type === "api" || wantsJson(req);
    try {
      if (regCfg.enabled === false) throw errors.badRequest("Registration is not allowed because it was disabled.");
      const returnTo = resolveReturnTo(config, queryParam(req, "return_to"));
      if (await currentSession(sessions, req)) {
        if (!json) return reply.redirect(returnTo ?? config.selfservice.default_browser_return_url, 303);
        throw sessionAlreadyAvailable();
      }
      const flow = await engine.create("registration", type, req, reply, { returnTo, populate });
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  /** Marks the flow completed by `method` for `identityId`; returns how to undo it (a write that did not commit). */
  function markPassed(flow: Flow, method: string, identityId: string): () => void {
    const { state, active, identity_id, updated_at } = flow;
    flow.state = "passed_challenge";
    flow.active = method;
    flow.identity_id = identityId;
    flow.updated_at = clock.now().toISOString();
    return () => Object.assign(flow, { state, active, identity_id, updated_at });
  }

  /**
   * The answer to a registration: `identity` is the new identity or, for a mitigated duplicate, its stand-in; both
   * take this same path (same writes, same answer shape). `flowWritten`: the flow's passed state already committed
   * with the new identity (see `submit`).
   */
  async function succeed(
    req: FastifyRequest,
    reply: FastifyReply,
    flow: Flow,
    method: string,
    identity: Identity,
    verify: Record<string, unknown>[],
    flowWritten = false,
  ): Promise<FastifyReply> {
    if (!flowWritten) {
      markPassed(flow, method, identity.id);
      await flows.update(flow);
    }
    const identityJson = identityToJson(identity, { publicBaseUrl, admin: false });
    // With mitigation nobody is signed in before the address is verified: else a duplicate would have to answer
    // without a session where a new account gets one. (A method that proved the address, e.g. a registration code,
    // leaves nothing unverified and signs in as configured.)
    const unverified = identity.verifiable_addresses.filter((a) => !a.verified);
    const mitigated = deps.verification !== undefined && registrationMitigated(config, unverified);
    let issued: { session: unknown; token: string } | undefined;
    if (!mitigated && hooksFor(method).some((h) => h.hook === "session")) issued = await sessions.issue(identity, { method, ...clientInfo(req) });
    if (flow.type === "api") {
      const out: Record<string, unknown> = { identity: identityJson };
      if (issued) {
        out.session = sessions.toJson(issued.session, identity);
        out.session_token = issued.token;
        out.continue_with = [{ action: "set_ory_session_token", ory_session_token: issued.token }, ...verify];
      } else out.continue_with = [...verify];
      return reply.code(200).send(out);
    }
    if (issued) sessions.setCookie(reply, issued.token, issued.session);
    const to = afterUrl(config, flow, method);
    if (wantsJson(req)) {
      const out: Record<string, unknown> = { identity: identityJson };
      if (issued) out.session = sessions.toJson(issued.session, identity);
      out.continue_with = [...verify, redirectBrowserTo(to)];
      return reply.code(200).send(out);
    }
    const showUi = mitigated || hooksFor(method).some((h) => h.hook === "show_verification_ui") ? (verify[0]?.flow as { url?: string } | undefined)?.url : undefined;
    return reply.redirect(showUi ?? to, 303);
  }

  async function submit(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let flow: Flow | undefined;
    const body = readBody(req);
    const values = flatten(body.traits ?? {}, "traits");
    try {
      flow = await engine.load("registration", req, "flow");
      if (isExpired(flow, clock.now())) return await engine.sendExpired(req, reply, flow, populate);
      engine.checkRequestBinding(req, flow, str(body.csrf_token));
      flow.submit_count += 1;
      if (flow.state === "passed_challenge") throw new FlowValidationError({ form: [flowRetrySuccess("registration")] });
      if (await currentSession(sessions, req)) {
        if (flow.type === "browser" && !wantsJson(req)) return reply.redirect(afterUrl(config, flow, "password"), 303);
        throw sessionAlreadyAvailable();
      }
      const method = str(body.method);
      const strategy = strategies.find((s) => s.id === method);
      if (!strategy) throw new FlowValidationError({ form: [noStrategyFound("registration")] });
      // The verification of the new identity's addresses, prepared before its insert and written inside it; the
      // flow's passed state is written in that transaction too (one commit less, and never an identity whose flow
      // still looks open). A duplicate's stand-in writes it in its own transaction of the same shape; a strategy that
      // ignores afterCreate leaves it to `succeed`.
      const hooks = deps.verification;
      const registrationFlow = flow;
      let prepared: RegistrationVerification | undefined;
      let undoPassed: (() => void) | undefined;
      const afterCreate: AfterCreate = async (created) => {
        if (hooks) prepared = await hooks.prepareRegistration(req, reply, registrationFlow, created);
        const p = prepared;
        return async (trx) => {
          if (p?.entries.length) await p.write(trx);
          // A transaction run again (a lock cycle broken by the database) keeps the first run's undo: the flow's state before.
          const undo = markPassed(registrationFlow, strategy.id, created.id);
          undoPassed ??= undo;
          await flows.update(registrationFlow, trx);
        };
      };
      let identity: Identity;
      let verify: Record<string, unknown>[] = [];
      try {
        try {
          identity = (await strategy.register({ req, flow, body, afterCreate })).identity;
        } catch (e) {
          // The identity's transaction did not commit: neither did the flow's passed state.
          undoPassed?.();
          undoPassed = undefined;
          throw e;
        }
        events("registration_succeeded", { identity_id: identity.id, client_ip: req.ip, flow_id: flow.id, method: strategy.id });
        if (prepared) {
          prepared.done();
          verify = prepared.continueWith;
        } else if (hooks) verify = await hooks.afterRegistration(req, reply, flow, identity); // a strategy that ignored afterCreate
      } catch (e) {
        if (!(e instanceof DuplicateRegistration)) throw e;
        const submitted = e.standIn.verifiable_addresses.find((a) => a.via === "email")?.value ?? "";
        markStandIn(e.standIn, noticeRecipient(submitted, e.owner));
        identity = e.standIn;
        events("registration_duplicate", { identity_id: e.owner?.id, client_ip: req.ip, flow_id: flow.id, method: strategy.id });
        if (hooks) {
          // The same transaction a new identity's insert commits: its rows (rehearsed, rolled back), the verification
          // flow, code and message, and the flow's passed state.
          const standIn = await hooks.prepareRegistration(req, reply, flow, e.standIn, prepared);
          const standInIdentity = e.standIn;
          await deps.flows.transaction(async (trx) => {
            await deps.repo.rehearseInsert(trx, standInIdentity);
            if (standIn.entries.length) await standIn.write(trx);
            undoPassed = markPassed(registrationFlow, strategy.id, standInIdentity.id);
            await flows.update(registrationFlow, trx);
          });
          standIn.done();
          verify = standIn.continueWith;
        }
      }
      return await succeed(req, reply, flow, strategy.id, identity, verify, undoPassed !== undefined);
    } catch (e) {
      if (e instanceof FlowValidationError && flow) return engine.sendValidation(req, reply, flow, e, values);
      return engine.sendFatal(req, reply, e, flow?.type === "api" || wantsJson(req));
    }
  }

  app.get("/self-service/registration/browser", (req, reply) => init("browser", req, reply));
  app.get("/self-service/registration/api", (req, reply) => init("api", req, reply));
  app.get("/self-service/registration/flows", (req, reply) => engine.fetch("registration", req, reply));
  app.post("/self-service/registration", (req, reply) => submit(req, reply));
}
