/**
 * Timing equality for enumeration tests (see ../shared/TESTING.md): two classes of requests (known vs unknown
 * account), 20 warm-up requests each, then `samples` each, interleaved in a seeded random order on one client, timed
 * from request write to full response read. Pass when the medians differ by at most max(10 ms, 10 %) and the two-sample
 * Kolmogorov-Smirnov statistic is at most 0.25.
 */
export interface TimingReport {
  label: string;
  medianA: number;
  medianB: number;
  iqrA: number;
  iqrB: number;
  d: number;
  pass: boolean;
}

/** Mulberry32: a small seeded PRNG so the interleaving is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A copy of `items` in a seeded random order (Fisher-Yates over `seededRandom`), so a failing order can be replayed. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const rnd = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const k = Math.floor(rnd() * (i + 1));
    [out[i], out[k]] = [out[k], out[i]];
  }
  return out;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs. */
export function ksStatistic(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

export async function compareTiming(
  label: string,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  opts: { samples?: number; warmup?: number; seed?: number } = {},
): Promise<TimingReport> {
  const samples = opts.samples ?? 200;
  const warmup = opts.warmup ?? 20;
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const order = seededShuffle<0 | 1>([...Array<0>(samples).fill(0), ...Array<1>(samples).fill(1)], opts.seed ?? 42);
  const ta: number[] = [];
  const tb: number[] = [];
  for (const which of order) {
    const start = process.hrtime.bigint();
    await (which === 0 ? a() : b());
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    (which === 0 ? ta : tb).push(ms);
  }
  ta.sort((p, q) => p - q);
  tb.sort((p, q) => p - q);
  const medianA = quantile(ta, 0.5);
  const medianB = quantile(tb, 0.5);
  const d = ksStatistic(ta, tb);
  const tolerance = Math.max(10, 0.1 * Math.max(medianA, medianB));
  return {
    label,
    medianA,
    medianB,
    iqrA: quantile(ta, 0.75) - quantile(ta, 0.25),
    iqrB: quantile(tb, 0.75) - quantile(tb, 0.25),
    d,
    pass: Math.abs(medianA - medianB) <= tolerance && d <= 0.25,
  };
}

export function formatReport(r: TimingReport): string {
  const f = (n: number) => n.toFixed(2);
  return `# timing ${r.label}: known median ${f(r.medianA)} ms (IQR ${f(r.iqrA)}), unknown median ${f(r.medianB)} ms (IQR ${f(r.iqrB)}), ratio ${f(r.medianA / r.medianB)}, KS D ${r.d.toFixed(3)} -> ${r.pass ? "pass" : "FAIL"}`;
}
