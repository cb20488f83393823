/**
 * Shared pieces of the enumeration suites: a listening test app, and the comparable form of an answer (status, header
 * names, cookie names with their attributes, body with ids, timestamps and the submitted identifier replaced).
 */
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

export interface Served {
  t: TestApp;
  base: string;
  close(): Promise<void>;
}

/** The real app (`createApp`) listening on a free 127.0.0.1 port. */
export async function serve(config: Record<string, unknown>, dsn?: string): Promise<Served> {
  const t = await createTestApp({ config, dsn });
  await t.app.public.listen({ host: "127.0.0.1", port: 0 });
  const addr = t.app.public.server.address();
  const base = typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : "";
  return { t, base, close: () => t.close() };
}

export interface Answer {
  status: number;
  headers: string[];
  cookies: string[];
  body: string;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const ISO = /\d{4}-\d\d-\d\dT[0-9:.]+Z/g;
const HTTP_DATE = /[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [0-9:]{8} GMT/g;

/** Replaces ids, timestamps and each given identifier (longest first) with placeholders. */
export function scrub(text: string, identifiers: readonly string[]): string {
  let out = text
    .replace(UUID, "<id>")
    .replace(ISO, "<time>")
    .replace(HTTP_DATE, "<date>")
    .replace(/("name":"csrf_token",[^}]*"value":")[^"]+"/g, '$1<csrf>"');
  for (const id of [...identifiers].sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(id, "<identifier>").replaceAll(encodeURIComponent(id), "<identifier>");
  }
  return out;
}

/** The comparable form of a fetch response. Cookies keep their name and attributes, not their value. */
export async function answerOf(res: Response, identifiers: readonly string[]): Promise<Answer> {
  const cookies = res.headers
    .getSetCookie()
    .map((c) => {
      const [pair, ...attrs] = c.split(";");
      return [pair.split("=")[0].trim(), ...attrs.map((a) => a.trim())].join("; ");
    })
    .map((c) => scrub(c, identifiers))
    .sort();
  const headers = [...res.headers.keys()].filter((k) => k !== "date").sort();
  const location = res.headers.get("location");
  const body = scrub(await res.text(), identifiers) + (location ? `\nlocation: ${scrub(location, identifiers)}` : "");
  return { status: res.status, headers, cookies, body };
}

export function assertSameAnswer(a: Answer, b: Answer, label: string): void {
  assert.equal(a.status, b.status, `${label}: status`);
  assert.deepEqual(a.headers, b.headers, `${label}: header names`);
  assert.deepEqual(a.cookies, b.cookies, `${label}: cookies`);
  assert.equal(a.body, b.body, `${label}: body`);
}

/** A tiny cookie jar for one host (fetch keeps none). */
export class FetchJar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(c) || value === "") this.cookies.delete(pair.slice(0, eq).trim());
      else this.cookies.set(pair.slice(0, eq).trim(), value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** JSON POST to a self-service endpoint. */
export function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
    redirect: "manual",
  });
}

/** Starts an API flow; returns its id. */
export async function apiFlowId(base: string, kind: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/self-service/${kind}/api`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** Queued courier rows as [template_type, recipient], oldest first. */
export async function queued(t: TestApp): Promise<Array<[string, string]>> {
  const rows = await t.app.deps.database.db.selectFrom("courier_messages").select(["template_type", "recipient"]).orderBy("created_at").execute();
  return rows.map((r) => [String(r.template_type), String(r.recipient)]);
}

/** The rows queued since `before` was read (a multiset difference: rows of one manual-clock instant have no order). */
export async function queuedSince(t: TestApp, before: Array<[string, string]>): Promise<Array<[string, string]>> {
  const now = await queued(t);
  for (const [type, to] of before) now.splice(now.findIndex(([a, b]) => a === type && b === to), 1);
  return now.sort();
}

/** Creates an identity with a password through the admin API. */
export async function createIdentity(t: TestApp, email: string, password: string, state = "active"): Promise<string> {
  const res = await t.app.admin.inject({
    method: "POST",
    url: "/admin/identities",
    payload: { schema_id: "default", state, traits: { email }, credentials: { password: { config: { password } } } },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (JSON.parse(res.body) as { id: string }).id;
}
