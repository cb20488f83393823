/**
 * Retrying transactions that the database aborted to break a lock cycle. InnoDB reports deadlocks (1213) and lock wait
 * timeouts (1205) on ordinary concurrent writes (gap and duplicate-key locks); PostgreSQL reports serialization
 * failures (40001) and deadlocks (40P01); SQLite answers SQLITE_BUSY when another connection holds the write lock.
 * Each of these leaves the database unchanged, so running the whole transaction again is safe.
 */
export function isTransientLockError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const o = e as { errno?: unknown; code?: unknown };
  return o.errno === 1213 || o.errno === 1205 || o.code === "ER_LOCK_DEADLOCK" || o.code === "ER_LOCK_WAIT_TIMEOUT"
    || o.code === "40001" || o.code === "40P01" || o.code === "SQLITE_BUSY";
}

/** Runs `fn` again (after a short, growing, jittered pause) while it fails with a transient lock error. */
export async function retryOnLockError<T>(fn: () => Promise<T>, maxRetries = 10): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= maxRetries || !isTransientLockError(e)) throw e;
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 8 * (attempt + 1)));
    }
  }
}
