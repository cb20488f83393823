import type { ThrottleState, ThrottleStore } from "./store.ts";

/**
 * An in-process `ThrottleStore` (one Map). Atomic because each operation runs synchronously on the event loop. Counts
 * are per process: use it for tests or for limits that may be per instance (the volumetric per-IP limit uses it in
 * production unless `store: redis`); use the SQL or Redis store to share counts between instances.
 *
 * Expired entries are dropped on access, by `prune()`, and by the store itself: every write (`fail`, `hit`) that comes
 * at least `pruneEveryMs` (default one minute) after the previous sweep runs one, synchronously, with the caller's
 * `now`. So the Map holds at most the keys written during one window plus one sweep interval, however many distinct
 * clients ever came, and expiry follows the injected clock (no timer, nothing keeps the process alive).
 */
export interface MemoryThrottleStoreOptions {
  /** Minimum time between two automatic sweeps (ms of the callers' clock). Default 60 000. */
  pruneEveryMs?: number;
}

export interface MemoryThrottleStore extends ThrottleStore {
  prune(now: number): Promise<number>;
  /** Entries held, live or not yet swept (for tests and metrics). */
  size(): number;
}

export function createMemoryThrottleStore(opts: MemoryThrottleStoreOptions = {}): MemoryThrottleStore {
  const entries = new Map<string, ThrottleState>();
  const pruneEvery = opts.pruneEveryMs ?? 60_000;
  let lastPrune: number | undefined;
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
  const sweep = (now: number): number => {
    lastPrune = now;
    let n = 0;
    for (const [k, e] of entries) {
      if (e.expires_at <= now) {
        entries.delete(k);
        n += 1;
      }
    }
    return n;
  };
  /** Amortized pruning: at most one sweep per `pruneEvery`, on a write. The first write only starts the interval. */
  const maybeSweep = (now: number): void => {
    if (lastPrune === undefined) lastPrune = now;
    else if (now - lastPrune >= pruneEvery) sweep(now);
  };
  return {
    async fail(key, now, ttlMs) {
      maybeSweep(now);
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
      maybeSweep(now);
      const e = live(key, now) ?? { count: 0, last_at: now, expires_at: now + windowMs, locked_until: null };
      e.count += 1;
      e.last_at = now;
      entries.set(key, e);
      return e.count;
    },
    async prune(now) {
      return sweep(now);
    },
    size: () => entries.size,
  };
}
