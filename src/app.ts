import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "./config/config.ts";
import { createDatabase, type Database } from "./persistence/db.ts";
import { loadIdentitySchemas, type IdentitySchemaRegistry } from "./identity/schema/registry.ts";
import { createPasswordHasher, type HasherConfig, type PasswordHasher } from "./security/hash/hasher.ts";
import { hashPool, warnUnlessIdle } from "./security/hash/hash-pool.ts";
import { createIdentityRepo } from "./identity/identity-repo.ts";
import { createPasswordPolicy, serviceContextWords } from "./security/password/password-policy.ts";
import { createIdentityService } from "./identity/identity-service.ts";
import { registerIdentityAdminRoutes } from "./identity/admin-routes.ts";
import { registerSchemaRoutes } from "./identity/schema-routes.ts";
import { registerHealthRoutes } from "./http/health-routes.ts";
import { createHttpInstance, requireApiKey } from "./http/server.ts";
import { systemClock, type Clock } from "./util/clock.ts";
import { createLogger } from "./util/logger.ts";
import { createSessionService } from "./session/session-service.ts";
import { registerSessionRoutes } from "./session/routes.ts";
import { registerSessionAdminRoutes } from "./session/admin-routes.ts";
import { registerLogoutRoutes } from "./flow/logout/routes.ts";
import { createFlowRepo, registerCors, wireFlows } from "./flow/index.ts";
import { withParam } from "./flow/engine.ts";
import { randomBytes } from "node:crypto";
import {
  createLockoutNotifier,
  createMemoryThrottleStore,
  createThrottle,
  createThrottleStoreFor,
  registerIpRateLimit,
  registerThrottleAdminRoutes,
} from "./security/throttle/throttle.ts";
import { createSecurityEvents } from "./security/events.ts";
import { createCourier } from "./courier/courier.ts";
import { registerCourierAdminRoutes } from "./courier/admin-routes.ts";
import { registerRecoveryAdminRoutes } from "./flow/recovery/admin-routes.ts";

/**
 * The composition root: the only place that knows every factory. `createApp` wires plain factories into the public and
 * admin Fastify instances and returns them with the dependencies (tests and the CLI reuse them) and a `close()`.
 */
export interface AppOptions {
  config: Config;
  /** Directory relative file:// schema URLs and sqlite paths resolve against. */
  baseDir?: string;
  clock?: Clock;
  logger?: Logger;
  database?: Database;
  dev?: boolean;
  /** Reuse a hasher (tests share a cheap one). */
  hasher?: PasswordHasher;
}

/** `hashers` with Tessera's extension keys (`argon2.max_concurrency`, `max_queue_wait`, `thread_nice`, `thread_policy`; see docs/hashing.md). */
export function hasherConfigFrom(config: Config): HasherConfig {
  const h = config.hashers;
  return {
    algorithm: h.algorithm === "bcrypt" ? "bcrypt" : "argon2",
    argon2: {
      memory: h.argon2.memory,
      iterations: h.argon2.iterations,
      parallelism: h.argon2.parallelism,
      salt_length: h.argon2.salt_length,
      key_length: h.argon2.key_length,
      dedicated_memory: h.argon2.dedicated_memory,
    },
    bcrypt: { cost: h.bcrypt.cost },
    max_queue_wait_ms: h.max_queue_wait,
    max_concurrency: h.argon2.max_concurrency,
    thread_nice: h.thread_nice,
    thread_policy: h.thread_policy,
  };
}

export function publicBaseUrl(config: Config): string {
  const p = config.serve.public;
  if (p.base_url) return p.base_url;
  const host = !p.host || p.host === "0.0.0.0" || p.host === "::" ? "127.0.0.1" : p.host;
  return `http://${host}:${p.port}/`;
}

export async function createDeps(opts: AppOptions) {
  const { config } = opts;
  const baseDir = opts.baseDir ?? process.cwd();
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger({ level: config.log.level, format: config.log.format });
  const schemas: IdentitySchemaRegistry = await loadIdentitySchemas({
    schemas: config.identity.schemas.map((s) => ({ id: s.id, url: s.url })),
    defaultId: config.identity.default_schema_id,
    baseDir,
  });
  const hasher = opts.hasher ?? (await createPasswordHasher(hasherConfigFrom(config)));
  if (!opts.hasher) void warnUnlessIdle(hashPool, (config.hashers.thread_policy ?? "idle") === "idle", logger);
  const database = opts.database ?? createDatabase(config.dsn, { cwd: baseDir });
  const repo = createIdentityRepo(database);
  const identities = createIdentityService({ repo, schemas, hasher, clock });
  // One policy per process: its breach-check cache and circuit breaker live in the instance.
  const passwordPolicy = createPasswordPolicy(config.selfservice.methods.password.config, {
    fetch: globalThis.fetch,
    now: () => clock.now().getTime(),
    log: (event, fields) => logger.warn({ event, ...fields }, "password policy"),
    // Passwords must not resemble the service's own name (NIST 800-63B): the sender name and the public host.
    serviceWords: serviceContextWords({ fromName: config.courier.smtp.from_name, publicBaseUrl: publicBaseUrl(config) }),
  });
  const base = publicBaseUrl(config);
  const events = createSecurityEvents(logger);
  // The outbox: flows enqueue inside their own transactions; the worker (serve, or `courier watch`) sends.
  const courier = createCourier({ database, config, clock, logger, publicBaseUrl: base, baseDir });
  // Store keys are HMACs of identifiers and IPs; without a configured secret (CLI tools) a per-process key is used.
  const throttleSecret = config.secrets.default[0] ?? randomBytes(32).toString("hex");
  const throttleStore = createThrottleStoreFor(config, database);
  const throttle = config.security.brute_force.enabled
    ? createThrottle({
        store: throttleStore,
        config,
        clock,
        secret: throttleSecret,
        log: logger,
        // The owner learns once per lockout episode (not per attempt), for password and code-guess lockouts alike;
        // unknown identifiers get nothing. Runs after the failing request was answered, so the answer never waits.
        onLockout: createLockoutNotifier({ repo, database, courier, events }),
      })
    : undefined;
  const sessions = createSessionService({ database, repo, clock, config, publicBaseUrl: base, dev: opts.dev ?? false });
  return {
    config,
    clock,
    logger,
    events,
    schemas,
    hasher,
    passwordPolicy,
    database,
    repo,
    identities,
    sessions,
    courier,
    throttleStore,
    throttleSecret,
    throttle,
    publicBaseUrl: base,
  };
}

export type Deps = Awaited<ReturnType<typeof createDeps>>;

export interface App {
  deps: Deps;
  public: FastifyInstance;
  admin: FastifyInstance;
  close(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const deps = await createDeps(opts);
  const { config, logger } = deps;

  const pub = createHttpInstance({
    logger: logger.child({ listener: "public" }),
    bodyLimit: config.serve.public.request_body_limit,
    trustProxy: config.serve.public.trusted_proxies?.length ? [...config.serve.public.trusted_proxies] : false,
  });
  // CORS first: its onRequest hook must run before anything that can answer early (the per-IP 429 below), so a page
  // on an allowed origin can read every error, and preflights are answered before they count against the limit.
  await registerCors(pub, config);
  // The volumetric per-IP limit runs before every public route. Its counters stay in this instance (memory) unless
  // Redis is configured, so a flood never turns into one database write per request.
  const ipLimitStore = config.security.brute_force.store === "redis" ? deps.throttleStore : createMemoryThrottleStore();
  registerIpRateLimit(pub, { store: ipLimitStore, config, clock: deps.clock, secret: deps.throttleSecret });
  registerHealthRoutes(pub, deps);
  registerSchemaRoutes(pub, deps);
  registerSessionRoutes(pub, deps);
  const errorFlows = createFlowRepo(deps.database);
  registerLogoutRoutes(pub, {
    ...deps,
    errorUiUrl: async (err) => {
      const id = await errorFlows.createError(err.toBody().error as unknown as Record<string, unknown>, deps.clock.now());
      return withParam(config.selfservice.flows.error.ui_url, "id", id);
    },
  });
  await wireFlows(pub, { ...deps, policy: deps.passwordPolicy }, { cors: false });

  const admin = createHttpInstance({ logger: logger.child({ listener: "admin" }), bodyLimit: config.serve.admin.request_body_limit });
  requireApiKey(admin, config.serve.admin.api_keys ?? []);
  admin.addContentTypeParser(["application/json-patch+json", "application/merge-patch+json"], { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  const adminRoutes = async (scope: FastifyInstance) => {
    registerHealthRoutes(scope, deps);
    registerSchemaRoutes(scope, deps);
    registerIdentityAdminRoutes(scope, {
      identities: deps.identities,
      repo: deps.repo,
      publicBaseUrl: deps.publicBaseUrl,
      adminBaseUrl: config.serve.admin.base_url ?? `http://${config.serve.admin.host}:${config.serve.admin.port}/`,
    });
    registerSessionAdminRoutes(scope, deps);
    if (deps.throttle) registerThrottleAdminRoutes(scope, { throttle: deps.throttle });
    registerCourierAdminRoutes(scope, { database: deps.database });
    registerRecoveryAdminRoutes(scope, deps);
  };
  await admin.register(adminRoutes, { prefix: "/admin" });
  await admin.register(adminRoutes);

  return {
    deps,
    public: pub,
    admin,
    async close() {
      await Promise.allSettled([pub.close(), admin.close()]);
      await deps.throttleStore.close?.();
      await deps.courier.close();
      await deps.database.destroy();
    },
  };
}
