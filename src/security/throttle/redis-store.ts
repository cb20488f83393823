import { Redis } from "ioredis";
import type { ThrottleState, ThrottleStore } from "./store.ts";

/**
 * `ThrottleStore` on Redis, for many instances sharing counts (`security.brute_force.store: redis`). Each key is a
 * hash {count, last_at, expires_at, locked_until} changed only by Lua scripts, which Redis runs atomically.
 *
 * Expiry is logical: the scripts compare the stored `expires_at` with the caller's `now` (the policy's clock), so a
 * test clock and several instances agree. Redis's own TTL (set relative, `PEXPIRE expires_at - now`) only collects
 * garbage; it never ends an entry before its logical expiry.
 */
export interface RedisThrottleStoreOptions {
  /** Prefix of every key (default "tessera:throttle:"); tests use a unique one per run. */
  keyPrefix?: string;
}

// KEYS[1]; ARGV: now, ttl. Returns {count, last_at, expires_at, locked_until or -1}.
const FAIL = `
local v = redis.call('HMGET', KEYS[1], 'count', 'expires_at', 'locked_until')
local now = tonumber(ARGV[1])
local count = tonumber(v[1]) or 0
local exp = tonumber(v[2])
local lu = tonumber(v[3])
if exp == nil or exp <= now then count = 0; lu = nil end
count = count + 1
local newexp = now + tonumber(ARGV[2])
if lu ~= nil and lu > newexp then newexp = lu end
redis.call('HSET', KEYS[1], 'count', count, 'last_at', ARGV[1], 'expires_at', newexp)
if lu == nil then redis.call('HDEL', KEYS[1], 'locked_until') end
redis.call('PEXPIRE', KEYS[1], newexp - now)
return {count, now, newexp, lu or -1}`;

// KEYS[1]; ARGV: now, window. Returns the count in the window.
const HIT = `
local v = redis.call('HMGET', KEYS[1], 'count', 'expires_at')
local now = tonumber(ARGV[1])
local count = tonumber(v[1]) or 0
local exp = tonumber(v[2])
if exp == nil or exp <= now then
  count = 0
  exp = now + tonumber(ARGV[2])
  redis.call('HDEL', KEYS[1], 'locked_until')
end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'last_at', ARGV[1], 'expires_at', exp)
if count == 1 then redis.call('PEXPIRE', KEYS[1], exp - now) end -- a new window
return count`;

// KEYS[1]; ARGV: until. Returns 1 when this call started the lockout episode, else 0.
const LOCK = `
local v = redis.call('HMGET', KEYS[1], 'expires_at', 'locked_until')
local exp = tonumber(v[1])
if exp == nil then return 0 end
local untilv = tonumber(ARGV[1])
local lu = tonumber(v[2])
if lu == nil or lu < untilv then redis.call('HSET', KEYS[1], 'locked_until', ARGV[1]) end
if exp < untilv then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[1])
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > 0 then redis.call('PEXPIRE', KEYS[1], pttl + (untilv - exp)) end
end
if lu == nil then return 1 end
return 0`;

// KEYS[1]; ARGV: expected last_at, now. Returns 1 when swapped.
const CLAIM = `
local last = redis.call('HGET', KEYS[1], 'last_at')
if last == false or tonumber(last) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'last_at', ARGV[2])
return 1`;

type Scripted = Redis & {
  throttleFail(key: string, now: number, ttl: number): Promise<[number, number, number, number]>;
  throttleHit(key: string, now: number, window: number): Promise<number>;
  throttleLock(key: string, until: number): Promise<number>;
  throttleClaim(key: string, expected: number, now: number): Promise<number>;
};

export function createRedisThrottleStore(url: string, opts: RedisThrottleStoreOptions = {}): ThrottleStore & { close(): Promise<void> } {
  const base = new Redis(url, { keyPrefix: opts.keyPrefix ?? "tessera:throttle:", lazyConnect: false, maxRetriesPerRequest: 2 });
  // Errors surface on the commands themselves; without a listener ioredis would print every reconnect attempt.
  base.on("error", () => {});
  base.defineCommand("throttleFail", { numberOfKeys: 1, lua: FAIL });
  base.defineCommand("throttleHit", { numberOfKeys: 1, lua: HIT });
  base.defineCommand("throttleLock", { numberOfKeys: 1, lua: LOCK });
  base.defineCommand("throttleClaim", { numberOfKeys: 1, lua: CLAIM });
  const redis = base as Scripted;
  let closed: Promise<void> | undefined;

  return {
    async fail(key, now, ttlMs) {
      const [count, last, exp, lu] = await redis.throttleFail(key, now, ttlMs);
      return { count, last_at: last, expires_at: exp, locked_until: lu < 0 ? null : lu };
    },
    async get(key, now): Promise<ThrottleState | null> {
      const [count, last, exp, lu] = await redis.hmget(key, "count", "last_at", "expires_at", "locked_until");
      if (count === null || exp === null || Number(exp) <= now) return null;
      return { count: Number(count), last_at: Number(last), expires_at: Number(exp), locked_until: lu === null ? null : Number(lu) };
    },
    async lock(key, until) {
      return (await redis.throttleLock(key, until)) === 1;
    },
    async claim(key, expectedLastAt, now) {
      return (await redis.throttleClaim(key, expectedLastAt, now)) === 1;
    },
    async reset(key) {
      await redis.del(key);
    },
    async hit(key, now, windowMs) {
      return Number(await redis.throttleHit(key, now, windowMs));
    },
    close() {
      closed ??= redis.quit().then(
        () => undefined,
        () => undefined,
      );
      return closed;
    },
  };
}
