/**
 * A tiny LRU cache with a per-entry time to live, for breach-check answers. Map iteration order is insertion order, so
 * re-inserting on read keeps the least recently used entry first, and eviction drops it. Time comes from the caller
 * (`now` in ms) so tests move it without sleeping.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {
    if (capacity < 1) throw new RangeError("LruCache capacity must be at least 1");
  }

  /** The value, or undefined when absent or expired (expired entries are dropped). */
  get(key: K, now: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expires <= now) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  set(key: K, value: V, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: now + this.ttlMs });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
