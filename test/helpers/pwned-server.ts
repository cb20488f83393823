/**
 * A real Pwned Passwords range server (node:http, 127.0.0.1, free port) for tests of the breach check.
 *
 * `GET /range/<5 hex>` answers the `SUFFIX:COUNT` lines (CRLF) of the configured hashes under that prefix; with the
 * request header `Add-Padding: true` it adds 800-1000 random suffixes with count 0, like the real service. A key of
 * `breached` is a password or a full SHA-1 (40 hex); a count of 0 makes a padding-like line for that exact suffix.
 * Every request's path and headers are recorded. `stop()` closes the port (and open keep-alive connections);
 * `start()` listens again on the same port, to test outages. `setBehavior("hang")` accepts requests and never
 * answers (to test timeouts); `{ status }` answers that status.
 */
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";

export type PwnedBehavior = "normal" | "hang" | { status: number };

export interface PwnedServer {
  /** Base URL, e.g. http://127.0.0.1:43123 (use as haveibeenpwned_host). */
  url: string;
  port: number;
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  stop(): Promise<void>;
  start(): Promise<void>;
  setBehavior(b: PwnedBehavior): void;
}

export function sha1Hex(s: string): string {
  return createHash("sha1").update(s, "utf8").digest("hex").toUpperCase();
}

function randomSuffix(): string {
  return randomBytes(18).toString("hex").slice(0, 35).toUpperCase();
}

export async function startPwnedServer(opts: { breached: Record<string, number> }): Promise<PwnedServer> {
  const byPrefix = new Map<string, Map<string, number>>();
  for (const [key, count] of Object.entries(opts.breached)) {
    const hash = /^[0-9a-f]{40}$/i.test(key) ? key.toUpperCase() : sha1Hex(key);
    const prefix = hash.slice(0, 5);
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, new Map());
    byPrefix.get(prefix)?.set(hash.slice(5), count);
  }
  const requests: PwnedServer["requests"] = [];
  let behavior: PwnedBehavior = "normal";

  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    if (behavior === "hang") return; // never answer; the client must time out
    if (typeof behavior === "object") {
      res.writeHead(behavior.status, { "Content-Type": "text/plain" }).end("error");
      return;
    }
    const m = /^\/range\/([0-9A-Fa-f]{5})$/.exec(req.url ?? "");
    if (req.method !== "GET" || !m) {
      res.writeHead(404).end();
      return;
    }
    const lines = new Map(byPrefix.get(m[1].toUpperCase()) ?? []);
    if (String(req.headers["add-padding"]).toLowerCase() === "true") {
      const n = 800 + Math.floor(Math.random() * 201);
      while (lines.size < n + (byPrefix.get(m[1].toUpperCase())?.size ?? 0)) {
        const s = randomSuffix();
        if (!lines.has(s)) lines.set(s, 0);
      }
    }
    const body = [...lines.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([s, c]) => `${s}:${c}`)
      .join("\r\n");
    res.writeHead(200, { "Content-Type": "text/plain" }).end(body);
  });

  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setBehavior: (b) => {
      behavior = b;
    },
    start: listen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
