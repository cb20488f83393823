import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config/config.ts";
import { sendError } from "../../http/error-handler.ts";
import { errors } from "../../util/app-error.ts";
import type { Clock } from "../../util/clock.ts";
import { clientIp, trustedProxyMatcher } from "./client-ip.ts";
import { ipSubject, throttleKey } from "./keys.ts";
import { tooManyRequests } from "./messages.ts";
import type { ThrottleStore } from "./store.ts";
import type { Throttle, ThrottleStatus } from "./throttle.ts";

const MINUTE = 60_000;
/**
 * Never limited: probes (load balancers and orchestrators call them at a fixed rate) and `/sessions/whoami`, which
 * gateways call for every request of every user, often from one address; a 190-bit session token cannot be guessed, so
 * the limit would only refuse legitimate traffic there.
 */
const EXEMPT = /^(?:(?:\/admin)?\/health\/(?:alive|ready)|\/sessions\/whoami)(?:\?|$)/;

export interface IpRateLimitDeps {
  store: ThrottleStore;
  config: Pick<Config, "security" | "serve">;
  clock: Clock;
  secret: string;
}

/**
 * Volumetric limit on every route of `pub`: at most `security.brute_force.ip.max_requests` requests per client IP
 * (IPv6: per /64; behind `serve.public.trusted_proxies` from `X-Forwarded-For`) per fixed one-minute window. Beyond
 * it: 429 `too_many_requests` in Kratos's error shape with `Retry-After`. Does nothing when brute-force protection is
 * disabled. Call it on the public instance before registering routes (an `onRequest` hook, so it runs before body
 * parsing and before any handler).
 */
export function registerIpRateLimit(pub: FastifyInstance, deps: IpRateLimitDeps): void {
  const bf = deps.config.security.brute_force;
  if (!bf.enabled) return;
  const trusted = trustedProxyMatcher(deps.config.serve.public.trusted_proxies ?? []);
  // The HMAC is most of this hook's cost (~13 us); recent clients' keys are remembered (bounded, cleared when full).
  const keys = new Map<string, string>();
  const keyFor = (ip: string): string => {
    let k = keys.get(ip);
    if (k === undefined) {
      if (keys.size >= 10_000) keys.clear();
      k = throttleKey(deps.secret, "ipr", ipSubject(ip));
      keys.set(ip, k);
    }
    return k;
  };
  const limit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const now = deps.clock.now().getTime();
    const key = keyFor(clientIp(request, trusted));
    const count = await deps.store.hit(key, now, MINUTE);
    if (count <= bf.ip.max_requests) return;
    const state = await deps.store.get(key, now);
    sendError(request, reply, tooManyRequests(now, state?.expires_at ?? now + MINUTE));
  };
  // Callback style so an exempt request (whoami, probes) costs one regular-expression test and no promise.
  pub.addHook("onRequest", (request, reply, done) => {
    if (EXEMPT.test(request.url)) return done();
    limit(request, reply).then(
      () => {
        if (!reply.sent) done();
      },
      (e: unknown) => done(e as Error),
    );
  });
}

export interface ThrottleAdminDeps {
  throttle: Pick<Throttle, "status" | "clear">;
}

const identifierParam = (request: FastifyRequest): string => {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const v = Array.isArray(q.identifier) ? q.identifier[0] : q.identifier;
  if (typeof v !== "string" || v.trim() === "") throw errors.badRequest("The query parameter identifier is required.");
  return v;
};

const toJson = (identifier: string, s: ThrottleStatus | null) => ({
  identifier,
  throttled: s !== null && s.next_attempt_at !== null,
  failures: s?.count ?? 0,
  last_failure_at: s ? s.last_failure_at.toISOString() : null,
  next_attempt_at: s?.next_attempt_at ? s.next_attempt_at.toISOString() : null,
  locked_until: s?.locked_until ? s.locked_until.toISOString() : null,
});

/**
 * Admin routes (ours; Kratos has none):
 * - `GET /security/throttles?identifier=` 200 `{identifier, throttled, failures, last_failure_at, next_attempt_at,
 *   locked_until}` (zeros and nulls when the identifier has no failures counted);
 * - `DELETE /security/throttles?identifier=` 204: forgets the identifier's failures and lock.
 * The identifier is normalized as at login. Missing identifier: 400. The integrator mounts them under `/admin` and bare.
 */
export function registerThrottleAdminRoutes(admin: FastifyInstance, deps: ThrottleAdminDeps): void {
  admin.get("/security/throttles", async (request, reply) => {
    const identifier = identifierParam(request);
    return reply.code(200).send(toJson(identifier, await deps.throttle.status(identifier)));
  });
  admin.delete("/security/throttles", async (request, reply) => {
    await deps.throttle.clear(identifierParam(request));
    return reply.code(204).send();
  });
}
