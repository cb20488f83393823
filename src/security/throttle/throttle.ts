import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import type { Database } from "../../persistence/db.ts";
import type { Clock } from "../../util/clock.ts";
import { createRedisThrottleStore } from "./redis-store.ts";
import { createSqlThrottleStore } from "./sql-store.ts";
import { CODE_GUESS_KINDS, codeGuessIdentifier, ipSubject, throttleKey, throttleSubject } from "./keys.ts";
import { tooManyAttempts } from "./messages.ts";
import type { ThrottleState, ThrottleStore } from "./store.ts";

export { createSqlThrottleStore } from "./sql-store.ts";
export { createRedisThrottleStore } from "./redis-store.ts";
export { createMemoryThrottleStore } from "./memory-store.ts";
export { createLockoutNotifier } from "./lockout-notice.ts";
export { CODE_GUESS_KINDS, codeGuessIdentifier, parseThrottleSubject } from "./keys.ts";
export { clientIp, trustedProxyMatcher } from "./client-ip.ts";
export { registerIpRateLimit, registerThrottleAdminRoutes } from "./routes.ts";
export type { ThrottleState, ThrottleStore } from "./store.ts";

/**
 * The brute-force policy (`security.brute_force.*`) over a `ThrottleStore`. Callers guard every guessable secret
 * (password, login/registration code, recovery and verification codes, later second factors):
 *
 *   const checked = await throttle.check(identifier, ip);   // BEFORE any account lookup or hashing; throws the 429 AppError
 *   ok ? await throttle.succeeded(identifier, checked) : await throttle.failed(identifier, ip, {}, checked);
 *
 * Identifier rule: failures 1..free_attempts carry no wait; after failure n >= free_attempts the next attempt must
 * wait min(max_delay, 1s x 2^(n - free_attempts)); at n >= max_consecutive_failures the identifier is locked for
 * `lockout` (and relocked by each further failure once a lock ends: one guess per lockout period, never a permanent
 * lock). A success or `clear()` (admin) / `clearAll()` (completed recovery) resets it. Counters are forgotten after
 * max(24h, 2 x lockout, 2 x max_delay) without a failure.
 * IP rule: `ip.max_failures` failures from one IP (IPv6: one /64) in an `ip.window` refuse further attempts from it
 * until the window ends.
 * Nothing here looks an account up, so known and unknown identifiers are throttled, timed and answered identically.
 * With `enabled: false` every method allows everything and touches no store.
 */
export interface ThrottleDeps {
  store: ThrottleStore;
  config: Pick<Config, "security">;
  clock: Clock;
  /** HMAC key for store keys: `config.secrets.default[0]`. */
  secret: string;
  /**
   * Called once when an identifier's lockout episode starts, with the normalized identifier (a password identifier,
   * or `<kind>_code:<address>` for code guesses: see `parseThrottleSubject`) and the failing request's client IP and
   * flow id, e.g. to queue the `login_throttled` email when an account has it (`createLockoutNotifier`). Not awaited
   * by `failed()` (the response must not wait or reveal anything); failures are logged.
   */
  onLockout?: (identifier: string, context: LockoutContext) => Promise<void>;
  log?: Pick<Logger, "warn" | "info">;
}

/** The request whose failure started a lockout. */
export interface LockoutContext {
  client_ip: string;
  flow_id?: string;
}

/** What a caller of `failed()` may add about the attempt, for the lockout event. */
export interface FailureContext {
  flow_id?: string;
}

/**
 * What `check()` saw, for the `succeeded()` / `failed()` of the same attempt (same identifier): the store key (its
 * HMAC is not computed twice) and whether the identifier had a live counter. A success after a check that found no
 * counter writes nothing: there was nothing to forget. (A failure of another request landing while this attempt was
 * being evaluated then stays counted, as it would had it landed just after the reset.)
 */
export interface ThrottleCheck {
  readonly key: string;
  readonly counted: boolean;
}

export interface ThrottleStatus {
  count: number;
  last_failure_at: Date;
  locked_until: Date | null;
  /** When the next attempt is allowed; null when it is allowed now. */
  next_attempt_at: Date | null;
}

/** The wait after the n-th consecutive failure (ms). Exported for the docs' table and the tests. */
export function delayAfter(failures: number, freeAttempts: number, maxDelayMs: number): number {
  if (failures < freeAttempts || failures <= 0) return 0;
  const exp = failures - freeAttempts;
  return exp >= 40 ? maxDelayMs : Math.min(maxDelayMs, 1000 * 2 ** exp);
}

export function createThrottle(deps: ThrottleDeps) {
  const { store, clock, secret, onLockout, log } = deps;
  const bf = deps.config.security.brute_force;
  const idc = bf.identifier;
  const idTtl = Math.max(24 * 3_600_000, 2 * idc.lockout, 2 * idc.max_delay);
  const perIpMessages = bf.messages.per_address * 4;

  const idKey = (identifier: string) => throttleKey(secret, "id", throttleSubject(identifier));
  // The HMAC costs more than a store read; recent clients' IP keys are remembered (bounded, cleared when full).
  const ipfKeys = new Map<string, string>();
  const ipfKey = (ip: string): string => {
    let k = ipfKeys.get(ip);
    if (k === undefined) {
      if (ipfKeys.size >= 10_000) ipfKeys.clear();
      k = throttleKey(secret, "ipf", ipSubject(ip));
      ipfKeys.set(ip, k);
    }
    return k;
  };
  const readBoth = store.getMany
    ? async (a: string, b: string, now: number) => store.getMany!([a, b], now)
    : (a: string, b: string, now: number) => Promise.all([store.get(a, now), store.get(b, now)]);
  const DISABLED: ThrottleCheck = Object.freeze({ key: "", counted: false });

  /** When the next attempt for this identifier state is allowed (ms). */
  const nextAt = (s: ThrottleState): number => {
    const delayed = s.last_at + delayAfter(s.count, idc.free_attempts, idc.max_delay);
    return Math.max(delayed, s.locked_until ?? 0);
  };

  return {
    /**
     * Before evaluating a secret for `identifier` from `ip`. Resolves when the attempt may be evaluated; throws the
     * 429 AppError (`self_service_too_many_attempts`, Retry-After) otherwise. When the identifier is in its delay
     * phase, of several concurrent attempts only one is let through (a compare-and-set on the store).
     */
    async check(identifier: string, ip: string): Promise<ThrottleCheck> {
      if (!bf.enabled) return DISABLED;
      const now = clock.now().getTime();
      const key = idKey(identifier);
      const [id, ipf] = await readBoth(key, ipfKey(ip), now);
      if (ipf && ipf.count >= bf.ip.max_failures) throw tooManyAttempts(now, ipf.expires_at, false);
      if (!id) return { key, counted: false };
      const next = nextAt(id);
      const locked = id.locked_until !== null && id.locked_until > now;
      if (next > now) throw tooManyAttempts(now, next, locked);
      // Waiting phase over: exactly one concurrent attempt takes it; the others wait one more step.
      if (id.count >= idc.free_attempts && !(await store.claim(key, id.last_at, now))) {
        const again = await store.get(key, now);
        throw tooManyAttempts(now, again ? Math.max(nextAt(again), now + 1000) : now + 1000, false);
      }
      return { key, counted: true };
    },

    /**
     * After a wrong secret. Counts the identifier and the IP; starts the lockout (and `onLockout`, told `ip` and
     * `context.flow_id`) when due. `checked`: this attempt's `check()` (saves recomputing the key).
     */
    async failed(identifier: string, ip: string, context: FailureContext = {}, checked?: ThrottleCheck): Promise<void> {
      if (!bf.enabled) return;
      const now = clock.now().getTime();
      const key = checked?.key || idKey(identifier);
      const [state] = await Promise.all([store.fail(key, now, idTtl), store.hit(ipfKey(ip), now, bf.ip.window)]);
      if (state.count < idc.max_consecutive_failures) return;
      const started = await store.lock(key, now + idc.lockout);
      if (started) {
        log?.info({ event: "identifier_locked", failures: state.count }, "brute-force lockout started");
        if (onLockout) {
          const subject = throttleSubject(identifier);
          onLockout(subject, { client_ip: ip, flow_id: context.flow_id }).catch((e: unknown) => log?.warn({ event: "lockout_notification_failed", err: e }, "brute-force lockout notification failed"));
        }
      }
    },

    /**
     * After a correct secret: the identifier's count starts over (the IP's failures stay counted). With `checked`
     * (this attempt's `check()`), nothing is written when the check found no counter.
     */
    async succeeded(identifier: string, checked?: ThrottleCheck): Promise<void> {
      if (!bf.enabled) return;
      if (checked?.key && !checked.counted) return;
      await store.reset(checked?.key || idKey(identifier));
    },

    /**
     * Whether one more recovery/verification/code message may go to `address` for a request from `ip`, counting it.
     * Caps: `messages.per_address` per address and 4 x that per IP (IPv6 /64), per `messages.window`. On false the
     * flow answers as always and sends nothing.
     */
    async allowMessage(address: string, ip: string): Promise<boolean> {
      if (!bf.enabled) return true;
      const now = clock.now().getTime();
      const w = bf.messages.window;
      const [perAddress, perIp] = await Promise.all([
        store.hit(throttleKey(secret, "msg", throttleSubject(address)), now, w),
        store.hit(throttleKey(secret, "msgip", ipSubject(ip)), now, w),
      ]);
      const ok = perAddress <= bf.messages.per_address && perIp <= perIpMessages;
      if (!ok) log?.warn({ event: "message_capped", per_address: perAddress, per_ip: perIp }, "message not sent: cap reached");
      return ok;
    },

    /** Forgets the identifier's failures and lock (the admin API). Works when disabled. */
    async clear(identifier: string): Promise<void> {
      await store.reset(idKey(identifier));
    },

    /**
     * Forgets every counter kept for `identifier`: its password-login failures and lock, and the code guesses of every
     * kind for it as an address (`login_code:`, `recovery_code:` ...). A completed recovery proves the owner is back,
     * so none of the locks an attacker built up against the address should outlive it. Works when disabled.
     */
    async clearAll(identifier: string): Promise<void> {
      const subject = throttleSubject(identifier);
      await Promise.all([subject, ...CODE_GUESS_KINDS.map((k) => codeGuessIdentifier(k, subject))].map((i) => store.reset(idKey(i))));
    },

    /** The identifier's counter, or null when it has none (never failed, reset, or forgotten). */
    async status(identifier: string): Promise<ThrottleStatus | null> {
      const now = clock.now().getTime();
      const s = await store.get(idKey(identifier), now);
      if (!s) return null;
      const next = nextAt(s);
      return {
        count: s.count,
        last_failure_at: new Date(s.last_at),
        locked_until: s.locked_until !== null && s.locked_until > now ? new Date(s.locked_until) : null,
        next_attempt_at: next > now ? new Date(next) : null,
      };
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;

/**
 * `clearAll` for each of `identifiers` (de-duplicated): what a completed recovery calls for the account's password
 * identifiers and the recovered address. A no-op without a throttle (brute-force protection disabled).
 */
export async function clearAllForIdentifier(throttle: Pick<Throttle, "clearAll"> | undefined, identifiers: Iterable<string>): Promise<void> {
  if (!throttle) return;
  for (const i of new Set(identifiers)) await throttle.clearAll(i);
}

/**
 * The store `security.brute_force.store` names: `sql` (default) on `database`, or `redis` on
 * `security.brute_force.redis_url` (required then). Close a Redis store on shutdown (`store.close?.()`).
 */
export function createThrottleStoreFor(config: Pick<Config, "security">, database: Database): ThrottleStore {
  const bf = config.security.brute_force;
  if (bf.store === "redis") {
    if (!bf.redis_url) throw new Error("security.brute_force.store is redis but security.brute_force.redis_url is not set");
    return createRedisThrottleStore(bf.redis_url);
  }
  return createSqlThrottleStore(database);
}
