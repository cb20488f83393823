/**
 * The counter store behind brute-force protection. Three implementations share this contract (and one contract suite,
 * `test/contract/throttle-store.test.ts`): `sql-store.ts` (the application database: SQLite, PostgreSQL, MySQL/MariaDB),
 * `redis-store.ts` (many instances, one Redis) and `memory-store.ts` (one process; tests and per-instance limits).
 *
 * Keys are opaque strings built by `keys.ts` (`id:<hmac hex>`, `ipf:<hmac hex>` ...): a store never sees a raw
 * identifier, address or IP. Times are milliseconds since the epoch and always come from the caller (the policy's
 * injected clock), never from the store's own clock, so expiry is tested without sleeping and instances agree.
 *
 * Every write is atomic per key: 50 concurrent `fail()` calls on one key return 50 distinct counts 1..50.
 */

/** The state of one key. `expires_at`: when the entry is forgotten (counts from 0 again) unless updated before. */
export interface ThrottleState {
  count: number;
  last_at: number;
  expires_at: number;
  locked_until: number | null;
}

export interface ThrottleStore {
  /**
   * Atomically counts one failure and returns the state after it. A missing or expired entry starts at count 1 with
   * no lock. `expires_at` becomes `now + ttlMs`, or the current lock's end when that is later (a lock never expires
   * before it ends).
   */
  fail(key: string, now: number, ttlMs: number): Promise<ThrottleState>;
  /** The live state, or null when the key is missing or expired at `now`. Reads only. */
  get(key: string, now: number): Promise<ThrottleState | null>;
  /** `get` for several keys at once (one round trip), in the order of `keys`. Optional. */
  getMany?(keys: readonly string[], now: number): Promise<Array<ThrottleState | null>>;
  /**
   * Sets `locked_until = until` (never shortening a later lock) on an existing entry. Resolves true only for the call
   * that took the entry from "never locked" to locked: the one that starts a lockout episode, so exactly one caller
   * sends the owner an email however many fail at once. An episode ends with `reset()` or the entry's expiry. A
   * missing entry is left alone (resolves false): call `fail()` first.
   */
  lock(key: string, until: number): Promise<boolean>;
  /**
   * Compare-and-set on `last_at`: when the entry's `last_at` still equals `expectedLastAt`, sets it to `now` and
   * resolves true; otherwise false. The policy claims the one attempt a delay allows with it, so parallel requests
   * arriving when a wait ends get one evaluation between them, not one each.
   */
  claim(key: string, expectedLastAt: number, now: number): Promise<boolean>;
  /** Forgets the key (success, completed recovery, admin). Idempotent. */
  reset(key: string): Promise<void>;
  /**
   * Fixed-window counter: atomically adds 1 and returns the count in the current window. The window starts at the
   * first hit after the previous one ended and lasts `windowMs`; `get()` reports its end as `expires_at`.
   */
  hit(key: string, now: number, windowMs: number): Promise<number>;
  /** Deletes entries expired at `now` (SQL tables do not expire rows by themselves); returns how many. Optional. */
  prune?(now: number): Promise<number>;
  /** Releases connections the store opened itself (Redis). The SQL store does not own the database. */
  close?(): Promise<void>;
}
