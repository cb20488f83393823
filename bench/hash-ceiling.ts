/**
 * The hashing ceiling: how many passwords per second the real hasher (semaphore, NFKC, encoding, native argon2id on
 * the libuv threadpool) computes with 1 and with 2 concurrent callers and nothing else running. No server can log in
 * or register faster than this, so `bench/flows.ts` states its throughput as a ratio of it.
 *
 * Exports `measureHashRate` / `hashCeiling` for other benches; run directly it prints the ceiling at the defaults
 * (argon2id m=19 MiB, t=2, p=1):
 *
 *   node --import tsx bench/hash-ceiling.ts [seconds per measurement, default 3]
 */
import { fileURLToPath } from "node:url";
import { createPasswordHasher, defaultHasherConfig, type HasherConfig, type PasswordHasher } from "../src/security/hash/hasher.ts";

export interface HashRate {
  callers: number;
  hashes: number;
  seconds: number;
  perSecond: number;
  /** Mean time one hash took, queueing included. */
  meanMs: number;
}

/** `callers` loops hashing distinct passwords back to back for `seconds`. */
export async function measureHashRate(hasher: PasswordHasher, callers: number, seconds: number): Promise<HashRate> {
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  let busy = 0;
  const caller = async (id: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const t = performance.now();
      await hasher.hash(`correct horse battery staple ${id}-${i}`);
      busy += performance.now() - t;
      count++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: callers }, (_, i) => caller(i)));
  const elapsed = (performance.now() - started) / 1000;
  return { callers, hashes: count, seconds: elapsed, perSecond: count / elapsed, meanMs: busy / Math.max(count, 1) };
}

export interface HashCeiling {
  one: HashRate;
  two: HashRate;
}

/** A warm-up second (native module, threadpool threads, allocator), then 1 and 2 callers for `seconds` each. */
export async function hashCeiling(seconds = 3, cfg: HasherConfig = defaultHasherConfig): Promise<HashCeiling> {
  const hasher = await createPasswordHasher(cfg);
  await measureHashRate(hasher, 2, 1);
  const one = await measureHashRate(hasher, 1, seconds);
  const two = await measureHashRate(hasher, 2, seconds);
  return { one, two };
}

export const formatHashRate = (r: HashRate): string =>
  `${r.callers} caller${r.callers > 1 ? "s" : ""}: ${r.perSecond.toFixed(1)} hashes/s (mean ${r.meanMs.toFixed(1)} ms a hash)`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seconds = Number(process.argv[2] ?? 3);
  const { one, two } = await hashCeiling(seconds);
  console.log(`argon2id m=19MiB t=2 p=1 (defaults), ${seconds}s per measurement`);
  console.log(formatHashRate(one));
  console.log(formatHashRate(two));
  console.log(`ratio 2/1: ${(two.perSecond / one.perSecond).toFixed(2)}`);
}
