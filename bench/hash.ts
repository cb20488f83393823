// Password hashing throughput at the default parameters (argon2id m=19MiB t=2 p=1) through the real hasher
// (semaphore, NFKC, encoding): hashes/second with 1 and with 2 concurrent callers, and the ratio between them.
// On 2 cores the ratio should approach 2: the hashes run on the libuv threadpool, not on the event loop.
// Run: node --import tsx bench/hash.ts [seconds per scenario, default 3]
import { createPasswordHasher, defaultHasherConfig } from "../src/security/hash/hasher.ts";

const seconds = Number(process.argv[2] ?? 3);
const hasher = await createPasswordHasher(defaultHasherConfig);

async function run(callers: number): Promise<{ perSecond: number; meanMs: number }> {
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
  return { perSecond: count / elapsed, meanMs: busy / count };
}

await run(1); // warm-up: native module, threadpool threads, allocator
const one = await run(1);
const two = await run(2);
const fmt = (r: { perSecond: number; meanMs: number }) => `${r.perSecond.toFixed(1)} hashes/s (mean ${r.meanMs.toFixed(1)} ms a hash)`;
console.log(`argon2id m=19MiB t=2 p=1, limit ${hasher.stats().limit} concurrent, ${seconds}s per scenario`);
console.log(`1 caller:  ${fmt(one)}`);
console.log(`2 callers: ${fmt(two)}`);
console.log(`ratio 2/1: ${(two.perSecond / one.perSecond).toFixed(2)}`);
