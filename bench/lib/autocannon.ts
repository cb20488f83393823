/**
 * Shared autocannon runner for the benches. Two calls:
 * - `measure(target, opts)`: one autocannon run against one URL.
 * - `measureRounds(targets, opts)`: every target measured `rounds` times, the order rotating each round so background
 *   load (other processes on a 2-core CI box) hits every target alike; per target, totals are summed.
 * Both throw when a run saw non-2xx answers or socket errors: a fast error page must never pass for a fast endpoint.
 */
import { createRequire } from "node:module";

export interface Target {
  /** Short name used as the key of the results and in printed lines. */
  label: string;
  url: string;
  headers?: Record<string, string>;
  /** Request paths used round robin instead of the URL's own path (e.g. many ids, so no single row stays hot). */
  paths?: string[];
}

export interface MeasureOptions {
  /** Concurrent connections (default 10). */
  connections?: number;
  /** Seconds per run (default 5). */
  duration?: number;
}

/** Aggregated result of one or more runs against one target. Latencies in milliseconds. */
export interface Measurement {
  label: string;
  url: string;
  /** Completed requests per second (total requests / total seconds). */
  rps: number;
  /** Mean latency over every request. */
  mean: number;
  /** Median of the runs' p50. */
  p50: number;
  /** Worst of the runs' p99. */
  p99: number;
  requests: number;
  seconds: number;
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonRequest {
  setupRequest?: (req: { path: string }) => { path: string };
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: AutocannonRequest[];
}) => Promise<AutocannonResult>;
// autocannon is CommonJS without types.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export async function measure(target: Target, opts: MeasureOptions = {}): Promise<Measurement> {
  const paths = target.paths;
  let next = 0;
  const requests = paths?.length ? [{ setupRequest: (req: { path: string }) => ({ ...req, path: paths[next++ % paths.length] }) }] : undefined;
  const r = await autocannon({ url: target.url, connections: opts.connections ?? 10, duration: opts.duration ?? 5, headers: target.headers, requests });
  if (r.non2xx || r.errors || r.timeouts) {
    throw new Error(`${target.label}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts (${target.url})`);
  }
  return {
    label: target.label,
    url: target.url,
    rps: r.requests.total / r.duration,
    mean: r.latency.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    seconds: r.duration,
  };
}

/**
 * Warm-up (`warmup` seconds per target, default 1, discarded), then `rounds` (default 2) runs per target with a
 * rotating order; `beforeRun` / `afterRun` bracket each measured run. Returns one aggregated `Measurement` per label.
 */
export interface RoundsOptions extends MeasureOptions {
  rounds?: number;
  warmup?: number;
  /** Called right before each measured run (not the warm-ups), e.g. to read the server's CPU time. */
  beforeRun?: (target: Target) => Promise<void>;
  /** Called right after each measured run with its result. */
  afterRun?: (target: Target, m: Measurement) => Promise<void>;
}

export async function measureRounds(targets: Target[], opts: RoundsOptions = {}): Promise<Record<string, Measurement>> {
  const warmup = opts.warmup ?? 1;
  if (warmup > 0) for (const t of targets) await measure(t, { ...opts, duration: warmup });
  const runs = new Map<string, Measurement[]>(targets.map((t) => [t.label, []]));
  const rounds = opts.rounds ?? 2;
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      await opts.beforeRun?.(t);
      const m = await measure(t, opts);
      await opts.afterRun?.(t, m);
      runs.get(t.label)!.push(m);
    }
  }
  const out: Record<string, Measurement> = {};
  for (const t of targets) {
    const list = runs.get(t.label)!;
    const requests = list.reduce((s, m) => s + m.requests, 0);
    const seconds = list.reduce((s, m) => s + m.seconds, 0);
    const p50s = list.map((m) => m.p50).sort((a, b) => a - b);
    out[t.label] = {
      label: t.label,
      url: t.url,
      rps: requests / seconds,
      mean: list.reduce((s, m) => s + m.mean * m.requests, 0) / Math.max(requests, 1),
      p50: p50s[Math.floor(p50s.length / 2)],
      p99: Math.max(...list.map((m) => m.p99)),
      requests,
      seconds,
    };
  }
  return out;
}

/** One printable line: `label  1234 req/s  mean 8.1 ms  p50 8 ms  p99 15 ms`. */
export function formatMeasurement(m: Measurement, width = 28): string {
  return `${m.label.padEnd(width)} ${m.rps.toFixed(0).padStart(7)} req/s  mean ${m.mean.toFixed(2)} ms  p50 ${m.p50} ms  p99 ${m.p99} ms`;
}
