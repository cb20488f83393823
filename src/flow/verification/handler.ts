/**
 * Verification flow routes (Kratos `selfservice/flow/verification/handler.go` + the code and link strategies):
 * `GET /self-service/verification/{browser,api,flows}`, `POST /self-service/verification?flow=` (`method` code|link,
 * `email` to send, `code` to redeem), and `GET /self-service/verification?flow=&code=` / `?token=` for the link in the
 * message (no CSRF: the secret is the proof). Success marks the address verified (`verified`, `status: completed`,
 * `verified_at`), moves the flow to `passed_challenge` with 1080002 and a "continue" link.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { flowRetrySuccess, noStrategyFound, verificationSuccessful, verificationTokenInvalidOrUsed } from "../../ui/messages.ts";
import { errors } from "../../util/app-error.ts";
import type { VerificationStrategy } from "../../strategies/strategy.ts";
import { continueNode } from "../../strategies/code/nodes.ts";
import { replaceNodes } from "../../strategies/code/code-flows.ts";
import { createSecurityEvents } from "../../security/events.ts";
import { readBody, str } from "../body.ts";
import { resolveReturnTo } from "../common.ts";
import type { FlowDeps } from "../deps.ts";
import { queryParam, wantsJson, type FlowEngine } from "../engine.ts";
import { FlowValidationError } from "../errors.ts";
import { isExpired, type Flow, type FlowType } from "../flow.ts";

export type VerificationStrategyWithLink = VerificationStrategy & { useToken?(token: string): Promise<string | undefined> };

export interface VerificationHandlerDeps extends FlowDeps {
  engine: FlowEngine;
  /** The enabled strategies; the flow offers the one named by `selfservice.flows.verification.use`. */
  strategies: readonly VerificationStrategyWithLink[];
}

export function registerVerificationRoutes(app: FastifyInstance, deps: VerificationHandlerDeps): void {
  const { config, engine, flows, clock } = deps;
  const cfg = config.selfservice.flows.verification;
  const events = createSecurityEvents(deps.logger);
  const strategy = deps.strategies.find((s) => s.id === cfg.use);
  const populate = (flow: Flow) => strategy?.populateVerification(flow);

  function enabled(): VerificationStrategyWithLink {
    if (!cfg.enabled || !strategy) throw errors.badRequest("Verification is not allowed because it was disabled.");
    return strategy;
  }

  /** passed_challenge: message, a link on, stored. */
  async function complete(req: FastifyRequest, flow: Flow, method: string): Promise<void> {
    events("verification_succeeded", { identity_id: flow.identity_id ?? undefined, client_ip: req.ip, flow_id: flow.id, method });
    flow.state = "passed_challenge";
    flow.active = method;
    replaceNodes(flow, [continueNode(flow.return_to ?? cfg.after.default_browser_return_url ?? config.selfservice.default_browser_return_url)]);
    flow.ui.messages = [verificationSuccessful()];
    flow.updated_at = clock.now().toISOString();
    await flows.update(flow);
  }

  async function init(type: FlowType, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const json = type === "api" || wantsJson(req);
    try {
      enabled();
      const returnTo = resolveReturnTo(config, queryParam(req, "return_to"));
      const flow = await engine.create("verification", type, req, reply, { returnTo, populate });
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  /** The shared body of POST and of GET with `code`: `csrf` false only for the GET link (the code is the proof). */
  async function handle(req: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>, csrfCheck: boolean): Promise<FastifyReply> {
    let flow: Flow | undefined;
    const values = { email: typeof body.email === "string" ? body.email.slice(0, 320) : undefined };
    try {
      const s = enabled();
      flow = await engine.load("verification", req, "flow");
      const json = flow.type === "api" || wantsJson(req);
      if (isExpired(flow, clock.now())) return await engine.sendExpired(req, reply, flow, populate);
      if (csrfCheck) engine.checkRequestBinding(req, flow, str(body.csrf_token));
      flow.submit_count += 1;
      if (flow.state === "passed_challenge") throw new FlowValidationError({ form: [flowRetrySuccess("verification")] });
      if (str(body.method) !== s.id) throw new FlowValidationError({ form: [noStrategyFound("verification")] });
      const outcome = await s.verify({ req, flow, body });
      if (outcome.status === "verified") await complete(req, flow, s.id);
      else {
        flow.updated_at = clock.now().toISOString();
        await flows.update(flow);
      }
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      if (e instanceof FlowValidationError && flow) return engine.sendValidation(req, reply, flow, e, values);
      return engine.sendFatal(req, reply, e, flow?.type === "api" || wantsJson(req));
    }
  }

  /** `GET /self-service/verification?flow=&code=` or `?token=`: the link in a verification message. */
  async function openLink(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const code = queryParam(req, "code");
    if (code !== undefined) return handle(req, reply, { method: "code", code }, false);
    const json = wantsJson(req);
    try {
      const s = enabled();
      const token = queryParam(req, "token");
      if (!token) throw errors.badRequest("The verification link is missing its code or token.");
      const flowId = s.useToken ? await s.useToken(token) : undefined;
      const flow = flowId ? await flows.get(flowId) : undefined;
      if (!flow || flow.kind !== "verification") {
        const fresh = await engine.create("verification", "browser", req, reply, {
          populate(f) {
            populate(f);
            f.ui.messages = [verificationTokenInvalidOrUsed()];
          },
        });
        return engine.sendFlow(req, reply, fresh, 400, json);
      }
      await complete(req, flow, "link");
      return engine.sendFlow(req, reply, flow, 200, json);
    } catch (e) {
      return engine.sendFatal(req, reply, e, json);
    }
  }

  app.get("/self-service/verification/browser", (req, reply) => init("browser", req, reply));
  app.get("/self-service/verification/api", (req, reply) => init("api", req, reply));
  app.get("/self-service/verification/flows", (req, reply) => engine.fetch("verification", req, reply));
  app.get("/self-service/verification", (req, reply) => openLink(req, reply));
  app.post("/self-service/verification", (req, reply) => handle(req, reply, readBody(req), true));
}
