/**
 * Online breach check with the Pwned Passwords range API (k-anonymity): only the first 5 hex characters of the SHA-1
 * leave the process, with `Add-Padding: true` so the response size does not reveal the prefix's popularity either.
 *
 * - `host` is a bare host (`api.pwnedpasswords.com` -> https://api.pwnedpasswords.com) or a full base URL
 *   (`http://127.0.0.1:9000`, a local mirror).
 * - Answers are cached per full hash in a small LRU with TTL (positive and negative answers; 1 hour, like Kratos).
 * - Every request has a short timeout; a failure opens a circuit breaker for `breakerCooldownMs` (default 60 s), during
 *   which lookups fail at once without a request. After the cooldown one probe request is let through: success closes
 *   the breaker, failure keeps it open another cooldown. So an unreachable service costs at most one timeout per
 *   cooldown, not one per registration.
 * - Concurrent lookups of the same hash share one request.
 */
import { LruCache } from "./lru-cache.ts";
import { countInRangeBody } from "./breach-source.ts";
import type { BreachResult, BreachSource, PolicyLog } from "./breach-source.ts";

export interface OnlineBreachOptions {
  host: string;
  timeoutMs: number;
  userAgent: string;
  fetch: typeof fetch;
  /** Milliseconds since the epoch; drives the cache TTL and the breaker (inject a movable clock in tests). */
  now: () => number;
  log?: PolicyLog;
  cacheCapacity?: number;
  cacheTtlMs?: number;
  breakerCooldownMs?: number;
}

/** Base URL of the range API: a bare host means https://host; a URL is used as given (without a trailing slash). */
export function rangeBaseUrl(host: string): string {
  const h = host.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) return h.replace(/\/+$/, "");
  return `https://${h.replace(/\/+$/, "")}`;
}

export function createOnlineBreachSource(opts: OnlineBreachOptions): BreachSource & { readonly breakerOpen: boolean } {
  const base = rangeBaseUrl(opts.host);
  const cache = new LruCache<string, number>(opts.cacheCapacity ?? 10_000, opts.cacheTtlMs ?? 60 * 60 * 1000);
  const cooldown = opts.breakerCooldownMs ?? 60_000;
  const inflight = new Map<string, Promise<BreachResult>>();
  let openUntil = 0; // 0: closed; otherwise open until this time, then half-open
  let probing = false;

  const fail = (error: string): BreachResult => {
    openUntil = opts.now() + cooldown;
    probing = false;
    opts.log?.("password_policy.breach_check_failed", { host: base, error, retry_after_ms: cooldown });
    return { ok: false, error };
  };

  async function request(hash: string): Promise<BreachResult> {
    const prefix = hash.slice(0, 5);
    let body: string;
    try {
      const res = await opts.fetch(`${base}/range/${prefix}`, {
        headers: { "Add-Padding": "true", "User-Agent": opts.userAgent, Accept: "text/plain" },
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        return fail(`unexpected status ${res.status}`);
      }
      body = await res.text();
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
      return fail(timedOut ? `timed out after ${opts.timeoutMs} ms` : `network error: ${e.message}`);
    }
    openUntil = 0;
    probing = false;
    const count = countInRangeBody(body, hash.slice(5));
    cache.set(hash, count, opts.now());
    return { ok: true, count };
  }

  return {
    get breakerOpen() {
      return openUntil !== 0;
    },
    async lookup(sha1Hex: string): Promise<BreachResult> {
      const hash = sha1Hex.toUpperCase();
      const cached = cache.get(hash, opts.now());
      if (cached !== undefined) return { ok: true, count: cached };
      const pending = inflight.get(hash);
      if (pending) return pending;
      if (openUntil !== 0) {
        if (opts.now() < openUntil || probing) {
          return { ok: false, error: "breach check service unavailable (circuit open after a recent failure)" };
        }
        probing = true; // half-open: this request is the probe; others fail fast until it settles
      }
      const p = request(hash).finally(() => inflight.delete(hash));
      inflight.set(hash, p);
      return p;
    },
  };
}
