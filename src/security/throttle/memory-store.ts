import type { ThrottleState, ThrottleStore } from "./store.ts";

/**
 * An in-process `ThrottleStore` (one Map). Atomic because each operation runs synchronously on the event loop. Counts
 * are per process: use it for tests or for limits that may be per instance; use the SQL or Redis store to share counts
 * between instances. Expired entries are dropped on access and by `prune()`.
 */
export function createMemoryThrottleStore(): ThrottleStore {
  const entries = new Map<string, ThrottleState>();
  const live = (key: string, now: number) => {
    const e = entries.get(key);
    if (e && e.expires_at <= now) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const view = (e: ThrottleState): ThrottleState => ({
    count: e.count,
    last_at: e.last_at,
    expires_at: e.expires_at,
    locked_until: e.locked_until,
  });
  return {
    async fail(key, now, ttlMs) {
      const e = live(key, now) ?? { count: 0, last_at: now, expires_at: now, locked_until: null };
      e.count += 1;
      e.last_at = now;
      e.expires_at = Math.max(now + ttlMs, e.locked_until ?? 0);
      entries.set(key, e);
      return view(e);
    },
    async get(key, now) {
      const e = live(key, now);
      return e ? view(e) : null;
    },
    async lock(key, until) {
      const e = entries.get(key);
      if (!e) return false;
      const started = e.locked_until === null;
      e.locked_until = Math.max(until, e.locked_until ?? 0);
      e.expires_at = Math.max(e.expires_at, until);
      return started;
    },
    async claim(key, expectedLastAt, now) {
      const e = entries.get(key);
      if (!e || e.last_at !== expectedLastAt) return false;
      e.last_at = now;
      return true;
    },
    async reset(key) {
      entries.delete(key);
    },
    async hit(key, now, windowMs) {
      const e = live(key, now) ?? { count: 0, last_at: now, expires_at: now + windowMs, locked_until: null };
      e.count += 1;
      e.last_at = now;
      entries.set(key, e);
      return e.count;
    },
    async prune(now) {
      let n = 0;
      for (const [k, e] of entries) {
        if (e.expires_at <= now) {
          entries.delete(k);
          n += 1;
        }
      }
      return n;
    },
  };
}
