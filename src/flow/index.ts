/**
 * Wiring of everything in `flow/` (except logout) and `strategies/`: `wireFlows(pub, deps)` registers CORS, the
 * login and registration flows, the error endpoint and `webauthn.js` on the public instance. The composition root
 * calls it once (`await wireFlows(pub, deps)`).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { IdentityRepo } from "../identity/identity-repo.ts";
import type { Identity } from "../identity/identity.ts";
import type { IdentityService } from "../identity/identity-service.ts";
import type { IdentitySchemaRegistry } from "../identity/schema/registry.ts";
import type { Database } from "../persistence/db.ts";
import type { PasswordHasher } from "../security/hash/hasher.ts";
import { createPasswordPolicy, serviceContextWords, type PasswordPolicy } from "../security/password/password-policy.ts";
import type { Clock } from "../util/clock.ts";
import { createStrategies } from "../strategies/index.ts";
import { registerCors } from "./cors.ts";
import { createCsrf } from "./csrf.ts";
import type { SessionsPort } from "./deps.ts";
import { createFlowEngine } from "./engine.ts";
import { registerErrorRoutes } from "./error-routes.ts";
import { createFlowRepo } from "./flow-repo.ts";
import { registerLoginRoutes } from "./login/handler.ts";
import { registerRegistrationRoutes } from "./registration/handler.ts";
import { registerRecoveryRoutes, type SettingsFlowFactory } from "./recovery/handler.ts";
import { registerVerificationRoutes } from "./verification/handler.ts";
import { createVerificationHooks, type VerificationHooks } from "./verification/hooks.ts";
import { createCourier } from "../courier/courier.ts";
import { isSettingsSessions, registerSettingsRoutes, verifierFromHooks, type AddressVerifier, type CourierPort } from "./settings/index.ts";

export { registerCors } from "./cors.ts";
export { registerLoginRoutes } from "./login/handler.ts";
export { registerRegistrationRoutes } from "./registration/handler.ts";
export { registerSettingsRoutes } from "./settings/index.ts";
export type { CreateSettingsFlow } from "./settings/index.ts";
export { registerErrorRoutes } from "./error-routes.ts";
export { createFlowRepo } from "./flow-repo.ts";
export { createFlowEngine } from "./engine.ts";
export { createCsrf } from "./csrf.ts";
export type { SessionsPort, FlowDeps } from "./deps.ts";

export interface WireFlowsDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  schemas: IdentitySchemaRegistry;
  hasher: PasswordHasher;
  database: Database;
  repo: IdentityRepo;
  identities: IdentityService;
  publicBaseUrl: string;
  sessions: SessionsPort;
  /** Defaults to a policy built from `selfservice.methods.password.config`. */
  policy?: PasswordPolicy;
  /** The courier (outbox); settings queues `password_changed` and verification messages through it when present. */
  courier?: CourierPort;
  /** The verification flow's entry point for addresses changed in settings. */
  verifier?: AddressVerifier;
}

/** The password policy from `selfservice.methods.password.config` (Kratos keys). */
export function policyFromConfig(config: Config): PasswordPolicy {
  const c = config.selfservice.methods.password.config;
  return createPasswordPolicy({
    min_password_length: c.min_password_length,
    max_password_length: c.max_password_length,
    identifier_similarity_check_enabled: c.identifier_similarity_check_enabled,
    haveibeenpwned_enabled: c.haveibeenpwned_enabled,
    haveibeenpwned_host: c.haveibeenpwned_host,
    haveibeenpwned_file: c.haveibeenpwned_file,
    max_breaches: c.max_breaches,
    ignore_network_errors: c.ignore_network_errors,
  }, { serviceWords: serviceContextWords({ fromName: config.courier.smtp.from_name, publicBaseUrl: config.serve.public.base_url }) });
}

export async function wireFlows(pub: FastifyInstance, deps: WireFlowsDeps, opts: { cors?: boolean } = {}): Promise<void> {
  // The composition root registers CORS itself, first, so that answers of earlier hooks (the per-IP 429) carry it.
  if (opts.cors !== false) await registerCors(pub, deps.config);
  const flows = createFlowRepo(deps.database);
  const csrf = createCsrf({ publicBaseUrl: deps.publicBaseUrl, cookie: deps.config.cookies });
  const flowDeps = { config: deps.config, clock: deps.clock, logger: deps.logger, publicBaseUrl: deps.publicBaseUrl, flows, csrf, sessions: deps.sessions };
  const engine = createFlowEngine(flowDeps);
  // Recovery and verification need a courier; without one from the composition root, one on the same database.
  const courier = deps.courier ?? createCourier({ database: deps.database, config: deps.config, clock: deps.clock, logger: deps.logger, publicBaseUrl: deps.publicBaseUrl });
  // The password strategy holds back logins of unverified identities through the verification hooks, which need the
  // verification strategies: bound late.
  const late: { verification?: VerificationHooks } = {};
  const holdLogin = (req: FastifyRequest, identity: Identity) => late.verification?.holdUnverifiedLogin(req, identity);
  const strategies = createStrategies({ ...deps, courier, policy: deps.policy ?? policyFromConfig(deps.config), holdLogin });
  const verification = createVerificationHooks({ ...flowDeps, engine, strategies: strategies.verification });
  late.verification = verification;
  registerLoginRoutes(pub, { ...flowDeps, engine, strategies: strategies.login, verification });
  registerRegistrationRoutes(pub, { ...flowDeps, engine, strategies: strategies.registration, verification, repo: deps.repo });
  // Settings needs the full session service (revocation); `settings.createSettingsFlow` is for the recovery flow.
  const settings = isSettingsSessions(deps.sessions)
    ? registerSettingsRoutes(pub, { ...flowDeps, sessions: deps.sessions, engine, strategies: strategies.settings, repo: deps.repo, database: deps.database, courier, verifier: deps.verifier ?? verifierFromHooks(verification) })
    : undefined;
  if (strategies.code) {
    const { sender, addresses } = strategies.code;
    const createSettingsFlow: SettingsFlowFactory | undefined = settings?.createSettingsFlow;
    registerRecoveryRoutes(pub, { ...flowDeps, engine, strategies: strategies.recovery, database: deps.database, sender, addresses, createSettingsFlow });
    registerVerificationRoutes(pub, { ...flowDeps, engine, strategies: strategies.verification });
  }
  registerErrorRoutes(pub, { flows });
}
