/**
 * Login timing equality (account enumeration): unknown identifier vs wrong password for a known one, against a
 * listening server with production argon2id parameters (19 MiB, t=2, p=1). 20 warm-up requests each, then 200 each,
 * interleaved in a seeded random order on one keep-alive client; each sample is the time from writing the submit to
 * reading the whole response (flow creation is not timed). Prints medians, IQRs, the median ratio and the
 * Kolmogorov-Smirnov D; exits 1 when the medians differ by more than 10 % (or D > 0.25).
 *
 *   node --import tsx bench/login-timing.ts
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createFlowsHarness } from "../test/flows/harness.ts";
import { ksStatistic, quantile, seededRandom } from "../test/security/timing.ts";

const WARMUP = 20;
const N = 200;
const PASSWORD = "correct horse battery staple";

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      { host: "127.0.0.1", port, method, path, agent, headers: body ? { "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) } : { accept: "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** mulberry32: a small seeded PRNG so the interleaving is reproducible. */
async function main(): Promise<void> {
  // Production argon2 parameters; brute-force protection off, since 220 failures for one identifier would be throttled.
  const h = await createFlowsHarness({
    hashers: { algorithm: "argon2", argon2: { memory: "19MB", iterations: 2, parallelism: 1 } },
    security: { brute_force: { enabled: false } },
  });
  await h.pub.listen({ host: "127.0.0.1", port: 0 });
  const port = (h.pub.server.address() as AddressInfo).port;
  try {
    const reg = JSON.parse((await request(port, "GET", "/self-service/registration/api")).body) as { id: string };
    const created = await request(port, "POST", `/self-service/registration?flow=${reg.id}`, JSON.stringify({ method: "password", password: PASSWORD, traits: { email: "known@example.com" } }));
    if (created.status !== 200) throw new Error(`registration failed: ${created.status} ${created.body}`);

    const attempt = async (kind: "unknown" | "wrong"): Promise<number> => {
      const flow = JSON.parse((await request(port, "GET", "/self-service/login/api")).body) as { id: string };
      const identifier = kind === "unknown" ? "nobody@example.com" : "known@example.com";
      const res = await request(port, "POST", `/self-service/login?flow=${flow.id}`, JSON.stringify({ method: "password", identifier, password: "not the password at all" }));
      if (res.status !== 400) throw new Error(`expected 400, got ${res.status} ${res.body}`);
      return res.ms;
    };

    const next = seededRandom(0x7e55e7a);
    const order = (n: number): Array<"unknown" | "wrong"> => {
      const list: Array<"unknown" | "wrong"> = [...Array(n).fill("unknown"), ...Array(n).fill("wrong")];
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [list[i], list[j]] = [list[j], list[i]];
      }
      return list;
    };
    for (const k of order(WARMUP)) await attempt(k);
    const samples = { unknown: [] as number[], wrong: [] as number[] };
    for (const k of order(N)) samples[k].push(await attempt(k));

    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return { median: quantile(s, 0.5), iqr: quantile(s, 0.75) - quantile(s, 0.25) };
    };
    const u = stats(samples.unknown);
    const w = stats(samples.wrong);
    const ratio = u.median / w.median;
    const d = ksStatistic(samples.unknown, samples.wrong);
    console.log(`unknown identifier: median ${u.median.toFixed(2)} ms, IQR ${u.iqr.toFixed(2)} ms (n=${samples.unknown.length})`);
    console.log(`wrong password:     median ${w.median.toFixed(2)} ms, IQR ${w.iqr.toFixed(2)} ms (n=${samples.wrong.length})`);
    console.log(`ratio unknown/wrong: ${ratio.toFixed(3)}  KS D: ${d.toFixed(3)}`);
    const ok = Math.abs(ratio - 1) <= 0.1 && d <= 0.25;
    console.log(ok ? "PASS: medians within 10 %" : "FAIL: timing differs");
    process.exitCode = ok ? 0 : 1;
  } finally {
    agent.destroy();
    await h.close();
  }
}

await main();
