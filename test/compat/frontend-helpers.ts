/**
 * Helpers for driving Tessera's public API as a Kratos client would: `@ory/kratos-client`'s `FrontendApi` for every
 * call the SDK offers, and `fetch` with a small cookie jar where a browser itself acts (flow init redirects, plain
 * form posts, following a logout URL). Nothing here knows Tessera's internals: it speaks HTTP only.
 *
 * Contract:
 * - `CookieJar` keeps cookies by name for one host, as a browser would, from fetch responses (303s included: callers
 *   use `redirect: "manual"`) and from SDK (axios) responses; a cookie set empty or with `Max-Age=0` is removed.
 * - `httpError(e)` turns a rejected SDK call into `{status, data, headers}`; `kratosError(e)` additionally checks
 *   Kratos's error shape (`{"error":{"id","code","status","message"}}`, code equal to the HTTP status) and returns it.
 * - `rejected(p)` resolves with what a promise rejected with and fails the test when it fulfilled.
 */
import assert from "node:assert/strict";
import { Configuration, FrontendApi, type LoginFlow, type RegistrationFlow, type UiNode, type UiNodeInputAttributes } from "@ory/kratos-client";

/** The UI origin the test configs point every `ui_url` and return URL at. Nothing listens there: it is never fetched. */
export const UI = "http://127.0.0.1:4455";

export function frontendApi(basePath: string): FrontendApi {
  return new FrontendApi(new Configuration({ basePath }));
}

/** Cookies kept by name, as a browser keeps them for one host. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** Takes the `Set-Cookie` headers of a fetch `Response` or an SDK (axios) response's `headers`. */
  take(from: Response | { headers: Record<string, unknown> }): this {
    const list: string[] = [];
    if (from instanceof Response) list.push(...from.headers.getSetCookie());
    else {
      const raw = from.headers["set-cookie"];
      if (Array.isArray(raw)) list.push(...raw.map(String));
      else if (typeof raw === "string") list.push(raw);
    }
    for (const c of list) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /;\s*max-age=0\b/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return this;
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The `Cookie` header a browser would send ("" when empty). */
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export interface HttpError {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
}

/** The HTTP answer inside a rejected SDK call (the SDK bundles its own axios, so this duck-types its error). */
export function httpError(e: unknown): HttpError {
  const err = e as { isAxiosError?: boolean; response?: { status: number; data: unknown; headers: Record<string, unknown> } };
  assert.ok(err.isAxiosError && err.response, `expected an HTTP error answer, got ${String(e)}`);
  return { status: err.response.status, data: err.response.data, headers: err.response.headers };
}

export interface KratosErrorBody {
  id?: string;
  code: number;
  status: string;
  message: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/** A rejected SDK call's Kratos error body, checked for shape; top-level extras (`use_flow_id`) are in `body`. */
export function kratosError(e: unknown): { status: number; error: KratosErrorBody; body: Record<string, unknown> } {
  const { status, data } = httpError(e);
  const body = data as { error?: KratosErrorBody } & Record<string, unknown>;
  assert.equal(typeof body?.error?.message, "string", `Kratos error shape expected, got ${JSON.stringify(data)}`);
  assert.equal(body.error!.code, status);
  return { status, error: body.error!, body };
}

/** What `p` rejected with; fails when it fulfilled. */
export async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail("the call succeeded, expected an error");
}

type AnyFlow = LoginFlow | RegistrationFlow;

/** The input node `name` of a flow (fails when absent). */
export function inputNode(flow: AnyFlow, name: string): UiNode & { attributes: UiNodeInputAttributes } {
  const n = flow.ui.nodes.find((x) => x.attributes.node_type === "input" && (x.attributes as UiNodeInputAttributes).name === name);
  assert.ok(n, `node ${name} missing in ${JSON.stringify(flow.ui.nodes.map((x) => (x.attributes as UiNodeInputAttributes).name))}`);
  return n as UiNode & { attributes: UiNodeInputAttributes };
}

/** The flow's CSRF token (the hidden `csrf_token` node's value). */
export const csrfTokenOf = (flow: AnyFlow): string => String(inputNode(flow, "csrf_token").attributes.value ?? "");

/** Message ids of a flow: form messages, then every node's messages. */
export function messageIds(flow: AnyFlow): number[] {
  return [...(flow.ui.messages ?? []).map((m) => m.id), ...flow.ui.nodes.flatMap((n) => n.messages.map((m) => m.id))];
}

/**
 * What a browser does on "Sign in": `GET /self-service/<kind>/browser` without JSON, which answers 303 to
 * `ui_url?flow=<id>` and sets the CSRF cookie. Returns the flow id and the redirect.
 */
export async function startBrowserFlow(publicUrl: string, kind: "login" | "registration", jar: CookieJar, query = ""): Promise<{ id: string; location: string }> {
  const res = await fetch(`${publicUrl}/self-service/${kind}/browser${query}`, { redirect: "manual", headers: { cookie: jar.header(), accept: "text/html" } });
  jar.take(res);
  assert.equal(res.status, 303, await res.text());
  const location = res.headers.get("location") ?? "";
  const id = new URL(location).searchParams.get("flow") ?? "";
  assert.ok(id, `no flow id in ${location}`);
  return { id, location };
}

/** A plain HTML form post (what the reference UI renders), not following the redirect. */
export async function postForm(url: string, jar: CookieJar, fields: Record<string, string>): Promise<Response> {
  const res = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html", cookie: jar.header() },
    body: new URLSearchParams(fields).toString(),
  });
  jar.take(res);
  return res;
}
