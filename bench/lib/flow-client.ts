/**
 * A small load client for the self-service API flows, for benches that need whole registrations and logins rather
 * than one repeated request (autocannon cannot carry a flow id from one request to the next).
 *
 * - `createFlowClient(baseUrl)`: `register(email, password)` and `login(identifier, password)` each create an API flow
 *   (`GET /self-service/<kind>/api`) and submit it as JSON, over keep-alive connections; they resolve with the submit's
 *   HTTP status (0 when the connection failed) and never throw.
 * - `runWorkers(n, limit, task)`: `n` concurrent loops calling `task(worker, iteration)` without pause until `limit`
 *   seconds are up (or, when `limit` is a function, until it returns false); returns how many calls answered 200, the count per status, and the elapsed seconds (the last calls are
 *   allowed to finish, and counted).
 */
import http from "node:http";

export interface FlowClient {
  register(email: string, password: string): Promise<number>;
  login(identifier: string, password: string): Promise<number>;
  close(): void;
}

interface Answer {
  status: number;
  body: string;
}

export function createFlowClient(baseUrl: string, opts: { maxSockets?: number } = {}): FlowClient {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 256 });
  const request = (method: string, path: string, body?: string): Promise<Answer> =>
    new Promise((resolve) => {
      const headers: Record<string, string | number> = { accept: "application/json" };
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => resolve({ status: 0, body: "" }));
      });
      req.on("error", () => resolve({ status: 0, body: "" }));
      req.end(body);
    });

  async function submit(kind: "login" | "registration", payload: Record<string, unknown>): Promise<number> {
    const init = await request("GET", `/self-service/${kind}/api`);
    if (init.status !== 200) return init.status;
    const id = (JSON.parse(init.body) as { id: string }).id;
    return (await request("POST", `/self-service/${kind}?flow=${id}`, JSON.stringify(payload))).status;
  }

  return {
    register: (email, password) => submit("registration", { method: "password", password, traits: { email } }),
    login: (identifier, password) => submit("login", { method: "password", identifier, password }),
    close: () => agent.destroy(),
  };
}

export interface WorkersResult {
  /** Calls that answered 200. */
  ok: number;
  /** Count per HTTP status (0 = connection error). */
  statuses: Record<number, number>;
  seconds: number;
  /** ok / seconds */
  perSecond: number;
}

export async function runWorkers(n: number, limit: number | (() => boolean), task: (worker: number, iteration: number) => Promise<number>): Promise<WorkersResult> {
  const statuses: Record<number, number> = {};
  const started = performance.now();
  const deadline = typeof limit === "number" ? started + limit * 1000 : Infinity;
  const goOn = typeof limit === "function" ? limit : () => performance.now() < deadline;
  const loop = async (worker: number) => {
    for (let i = 0; goOn(); i++) {
      const status = await task(worker, i);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: n }, (_, w) => loop(w)));
  const elapsed = (performance.now() - started) / 1000;
  const ok = statuses[200] ?? 0;
  return { ok, statuses, seconds: elapsed, perSecond: ok / elapsed };
}

/** `200×512 503×3` */
export const formatStatuses = (s: Record<number, number>): string =>
  Object.entries(s)
    .map(([k, v]) => `${k}×${v}`)
    .join(" ");
