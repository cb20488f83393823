/**
 * A small load client for the self-service API flows, for benches that need whole registrations and logins rather
 * than one repeated request (autocannon cannot carry a flow id from one request to the next).
 *
 * - `createFlowClient(baseUrl)`: `register(email, password)` and `login(identifier, password)` each create an API flow
 *   (`GET /self-service/<kind>/api`) and submit it as JSON, over keep-alive HTTP/1.1 connections (at most
 *   `maxSockets`, default 256); they resolve with the submit's HTTP status (0 when the connection failed, the answer
 *   was not HTTP or the flow had no id) and never throw.
 * - `runWorkers(n, limit, task)`: `n` concurrent loops calling `task(worker, iteration)` without pause until `limit`
 *   seconds are up (or, when `limit` is a function, until it returns false); returns how many calls answered 200, the count per status, and the elapsed seconds (the last calls are
 *   allowed to finish, and counted).
 */
import net from "node:net";

export interface FlowClient {
  register(email: string, password: string): Promise<number>;
  login(identifier: string, password: string): Promise<number>;
  close(): void;
}

/** A flow's JSON starts with its id (`flowToJson` writes it first): read it there, parse the whole body otherwise. */
const LEADING_ID = /^\{"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/;
const ID_PREFIX_BYTES = 7 + 36 + 1;

function flowId(body: Buffer): string | undefined {
  if (body.length >= ID_PREFIX_BYTES) {
    const m = LEADING_ID.exec(body.toString("latin1", 0, ID_PREFIX_BYTES));
    if (m) return m[1];
  }
  try {
    const id = (JSON.parse(body.toString("utf8")) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** One answer: its status (0: the connection failed or the answer was malformed) and body. */
interface Answer {
  status: number;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * The answer at the start of `acc`, once complete: status, body (Content-Length or chunked; without either, a status
 * that has no body) and whether the server closes the connection. undefined while more bytes are needed; status 0
 * for bytes that are not HTTP/1.1. `end`: the connection has ended (a body without length ends with it).
 */
function parseAnswer(acc: Buffer, end: boolean): { answer: Answer; close: boolean } | undefined {
  const headEnd = acc.indexOf(HEAD_END);
  if (headEnd < 0) return end ? { answer: { status: 0, body: EMPTY }, close: true } : undefined;
  const head = acc.toString("latin1", 0, headEnd).toLowerCase();
  const m = /^http\/1\.[01] (\d{3})/.exec(head);
  if (!m) return { answer: { status: 0, body: EMPTY }, close: true };
  const status = Number(m[1]);
  const close = /\r\nconnection:[ \t]*close/.test(head);
  const start = headEnd + 4;
  const length = /\r\ncontent-length:[ \t]*(\d+)/.exec(head);
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const parts: Buffer[] = [];
    let pos = start;
    for (;;) {
      const lineEnd = acc.indexOf(CRLF, pos);
      if (lineEnd < 0) return end ? { answer: { status: 0, body: EMPTY }, close: true } : undefined;
      const size = parseInt(acc.toString("latin1", pos, lineEnd), 16);
      if (!Number.isFinite(size)) return { answer: { status: 0, body: EMPTY }, close: true };
      if (size === 0) {
        // The last chunk, then optional trailers, then an empty line.
        if (acc.indexOf(HEAD_END, lineEnd) < 0 && !(acc.length >= lineEnd + 4 && acc[lineEnd + 2] === 13 && acc[lineEnd + 3] === 10)) {
          return end ? { answer: { status: 0, body: EMPTY }, close: true } : undefined;
        }
        return { answer: { status, body: Buffer.concat(parts) }, close };
      }
      if (acc.length < lineEnd + 2 + size + 2) return end ? { answer: { status: 0, body: EMPTY }, close: true } : undefined;
      parts.push(acc.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  if (length) {
    const n = Number(length[1]);
    if (acc.length < start + n) return end ? { answer: { status: 0, body: EMPTY }, close: true } : undefined;
    return { answer: { status, body: acc.subarray(start, start + n) }, close };
  }
  if (status < 200 || status === 204 || status === 304) return { answer: { status, body: EMPTY }, close };
  // Delimited by the end of the connection.
  return end ? { answer: { status, body: acc.subarray(start) }, close: true } : undefined;
}

/**
 * A keep-alive HTTP/1.1 connection that carries one request at a time. Written by hand rather than with `node:http`:
 * the bench's clients share the machine with the server under test, and Node's client costs several times this per
 * request. The requests are the same (method, path, Host, Accept, Content-Type, Content-Length, keep-alive).
 */
class Connection {
  private readonly socket: net.Socket;
  private acc: Buffer = EMPTY;
  private waiting: ((a: Answer) => void) | undefined;
  dead = false;

  constructor(host: string, port: number, private readonly onIdle: (c: Connection) => void, private readonly onDead: (c: Connection) => void) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => {
      this.acc = this.acc.length === 0 ? chunk : Buffer.concat([this.acc, chunk]);
      this.settle(false);
    });
    this.socket.on("end", () => this.settle(true));
    this.socket.on("error", () => this.fail());
    this.socket.on("close", () => this.fail());
  }

  send(request: string, resolve: (a: Answer) => void): void {
    this.waiting = resolve;
    this.acc = EMPTY;
    this.socket.write(request);
  }

  private settle(end: boolean): void {
    if (!this.waiting) {
      if (end || this.acc.length > 0) this.fail(); // bytes nobody asked for: the connection is out of step
      return;
    }
    const parsed = parseAnswer(this.acc, end);
    if (!parsed) return;
    const resolve = this.waiting;
    this.waiting = undefined;
    this.acc = EMPTY;
    if (parsed.close || parsed.answer.status === 0) this.fail();
    else this.onIdle(this);
    resolve(parsed.answer);
  }

  private fail(): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.onDead(this);
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ status: 0, body: EMPTY });
  }

  destroy(): void {
    this.fail();
  }
}

export function createFlowClient(baseUrl: string, opts: { maxSockets?: number } = {}): FlowClient {
  const base = new URL(baseUrl);
  const host = base.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(base.port || 80);
  const maxSockets = opts.maxSockets ?? 256;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const queue: Array<(c: Connection | undefined) => void> = [];
  let closed = false;

  const release = (c: Connection) => {
    const next = queue.shift();
    if (next) next(c);
    else idle.push(c);
  };
  const forget = (c: Connection) => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    const next = queue.length && !closed ? queue.shift() : undefined;
    if (next) next(open());
  };
  const open = () => {
    const c = new Connection(host, port, release, forget);
    all.add(c);
    return c;
  };
  const connection = (): Promise<Connection | undefined> | Connection => {
    const c = idle.pop();
    if (c) return c;
    if (all.size < maxSockets) return open();
    return new Promise((resolve) => queue.push(resolve));
  };

  const request = async (head: string): Promise<Answer> => {
    if (closed) return { status: 0, body: EMPTY };
    const c = await connection();
    if (!c) return { status: 0, body: EMPTY };
    return new Promise((resolve) => c.send(head, resolve));
  };
  const get = (path: string) => request(`GET ${path} HTTP/1.1\r\nAccept: application/json\r\nHost: ${base.host}\r\nConnection: keep-alive\r\n\r\n`);
  const post = (path: string, body: string) =>
    request(
      `POST ${path} HTTP/1.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nHost: ${base.host}\r\nConnection: keep-alive\r\n\r\n${body}`,
    );

  async function submit(kind: "login" | "registration", payload: string): Promise<number> {
    const init = await get(`/self-service/${kind}/api`);
    if (init.status !== 200) return init.status;
    const id = flowId(init.body);
    if (id === undefined) return 0;
    return (await post(`/self-service/${kind}?flow=${id}`, payload)).status;
  }

  return {
    register: (email, password) => submit("registration", JSON.stringify({ method: "password", password, traits: { email } })),
    login: (identifier, password) => submit("login", JSON.stringify({ method: "password", identifier, password })),
    close: () => {
      closed = true;
      for (const c of [...all]) c.destroy();
      for (const q of queue.splice(0)) q(undefined);
    },
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
