/**
 * Admin recovery (Kratos `POST /admin/recovery/code` and `/admin/recovery/link`): creates a recovery flow for an
 * identity and returns a code (`{recovery_link, recovery_code, expires_at}`) or a link (`{recovery_link, expires_at}`).
 * The flow is already in `sent_email`, so the code is entered on the normal recovery UI. `expires_in` (Go duration)
 * overrides the method lifespan and is capped at 24h. Mount this registrar under `/admin` and bare.
 *
 * The admin, not the user's browser, makes the flow, so a browser flow cannot carry that browser's CSRF token. Kratos
 * skips CSRF for such flows altogether (`DangerousSkipCSRFCheck`); here the flow is stored unbound
 * (`internal.admin_issued`, no token) and the first browser that opens or fetches it gets it bound to its own CSRF
 * cookie (`recovery/handler.ts`); after that it is checked like any browser flow. For a browser flow the
 * `recovery_link` therefore goes through `<public>/self-service/recovery?flow=<id>`, which binds the flow and sets
 * the cookie in the user's browser itself, then 303s to `ui_url?flow=<id>` (server-rendered UIs that fetch the flow
 * for the browser never pass a cookie back). An API flow's `recovery_link` is `ui_url?flow=<id>`, as Kratos.
 */
import type { FastifyInstance } from "fastify";
import { parseDuration, isGoDuration } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Database } from "../../persistence/db.ts";
import { errors } from "../../util/app-error.ts";
import { isUuid } from "../../util/ids.ts";
import { CODE_DIGITS, MAX_LIFESPAN_MS, newCode, newLinkToken, type CodeStore } from "../../strategies/code/code-store.ts";
import { codeEntryNodes } from "../../strategies/code/nodes.ts";
import { replaceNodes } from "../../strategies/code/code-flows.ts";
import { createCodeMethods, type CodeMethodsDeps } from "../../strategies/code/index.ts";
import { createFlowRepo } from "../flow-repo.ts";
import { csrfNode } from "../../ui/node.ts";
import { withParam } from "../engine.ts";
import { newFlow, type FlowType } from "../flow.ts";

/** The composition root's deps suffice: `{config, clock, database, repo, publicBaseUrl, courier}`. */
export type RecoveryAdminDeps = CodeMethodsDeps & { database: Database; repo: IdentityRepo };

function readBody(raw: unknown): { identity_id: string; expires_in?: number; flow_type: FlowType } {
  const b = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (!isUuid(b.identity_id)) throw errors.badRequest("identity_id must be the UUID of an identity.");
  let expires: number | undefined;
  if (b.expires_in !== undefined) {
    if (typeof b.expires_in !== "string" || !isGoDuration(b.expires_in) || parseDuration(b.expires_in) <= 0) throw errors.badRequest("expires_in must be a positive duration such as 1h or 15m.");
    expires = Math.min(parseDuration(b.expires_in), MAX_LIFESPAN_MS);
  }
  const flowType = b.flow_type === undefined ? "browser" : b.flow_type;
  if (flowType !== "browser" && flowType !== "api") throw errors.badRequest('flow_type must be "browser" or "api".');
  return { identity_id: b.identity_id.toLowerCase(), expires_in: expires, flow_type: flowType };
}

export function registerRecoveryAdminRoutes(app: FastifyInstance, deps: RecoveryAdminDeps): void {
  const { config, clock, database, repo } = deps;
  const publicBaseUrl = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  const flows = createFlowRepo(database);
  const { codes, sender }: { codes: CodeStore; sender: ReturnType<typeof createCodeMethods>["sender"] } = createCodeMethods(deps);
  const cfg = config.selfservice.flows.recovery;

  async function start(raw: unknown, method: "code" | "link") {
    if (!cfg.enabled) throw errors.badRequest("Recovery is not allowed because it was disabled.");
    const body = readBody(raw);
    const identity = await repo.get(body.identity_id);
    if (!identity) throw errors.notFound("The requested identity could not be found.");
    const lifespan = body.expires_in ?? codes.lifespanMs(method);
    const now = clock.now();
    const type = method === "link" ? "browser" : body.flow_type;
    const internal = type === "browser" ? { admin_issued: true } : {};
    const flow = newFlow({ kind: "recovery", type, now, lifespan, requestUrl: `${publicBaseUrl}self-service/recovery/${body.flow_type}`, publicBaseUrl, csrfToken: "", internal });
    flow.ui.nodes.push(csrfNode(""));
    flow.state = "sent_email";
    flow.active = method;
    if (method === "code") replaceNodes(flow, codeEntryNodes("recovery", ""));
    await flows.create(flow);
    const secret = method === "code" ? newCode(CODE_DIGITS.recovery) : newLinkToken();
    const { expires_at } = await database.db.transaction().execute((trx) =>
      codes.issue(trx, { flowId: flow.id, kind: "recovery", method, secret, identityId: identity.id, address: null, lifespanMs: lifespan }),
    );
    return { flow, secret, expires_at };
  }

  app.post("/recovery/code", async (req, reply) => {
    const { flow, secret, expires_at } = await start(req.body, "code");
    const recoveryLink = flow.type === "browser" ? withParam(`${publicBaseUrl}self-service/recovery`, "flow", flow.id) : withParam(cfg.ui_url, "flow", flow.id);
    return reply.code(201).send({ recovery_link: recoveryLink, recovery_code: secret, expires_at });
  });

  app.post("/recovery/link", async (req, reply) => {
    const { flow, secret, expires_at } = await start(req.body, "link");
    return reply.code(200).send({ recovery_link: sender.recoveryLinkUrl(flow.id, secret), expires_at });
  });
}
