import { compileTemplate, TemplateError } from "../templates/go-template.ts";
import type { CompiledTemplate } from "../templates/go-template.ts";
import { readTemplateUrl } from "../templates/templates.ts";

/**
 * The HTTP channel of `courier.channels[]` (Kratos's `request_config`): one request per message.
 * - `url` (http/https), `method` (default POST), `headers`.
 * - `auth`: `{type: "basic_auth", config: {user, password}}` or `{type: "api_key", config: {name, value, in: "header"|"cookie"}}`.
 * - `body`: a `base64://` or `file://` URL of a template in the Go-template subset of `go-template.ts`, rendered with
 *   `{recipient, template_type, template_data, subject, body}` where every value is escaped for the INSIDE of a JSON
 *   string (write `"to": "{{ .recipient }}"`). Kratos uses Jsonnet here; Tessera has no Jsonnet engine, so a Jsonnet
 *   body is refused at start-up, except Kratos's own default, which is replaced by the same JSON built natively.
 *   Without `body`, that default JSON is sent: `{recipient, template_type, to, recovery_code, recovery_url,
 *   verification_url, verification_code, subject, body}` (absent fields null).
 * A non-2xx answer, a network error or 10 s without an answer rejects the send (the worker retries it).
 */
export interface HttpRequestConfig {
  url: string;
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string;
  auth?: { type?: string; config?: Readonly<Record<string, unknown>> };
}

export interface HttpMessage {
  recipient: string;
  template_type: string;
  template_data: Record<string, unknown>;
  subject: string;
  body: string;
}

const TIMEOUT_MS = 10_000;

/** Validates a raw `request_config` object from the configuration; throws an Error naming the bad key. */
export function parseRequestConfig(raw: Readonly<Record<string, unknown>>, where: string): HttpRequestConfig {
  const url = raw.url;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) throw new Error(`${where}.url must be an http(s) URL`);
  const method = raw.method ?? "POST";
  if (typeof method !== "string") throw new Error(`${where}.method must be a string`);
  const headers = (raw.headers ?? {}) as Record<string, unknown>;
  if (typeof headers !== "object" || Object.values(headers).some((v) => typeof v !== "string")) {
    throw new Error(`${where}.headers must map names to strings`);
  }
  if (raw.body !== undefined && typeof raw.body !== "string") throw new Error(`${where}.body must be a URL`);
  const auth = raw.auth as HttpRequestConfig["auth"];
  return { url, method: method.toUpperCase(), headers: headers as Record<string, string>, body: raw.body as string | undefined, auth };
}

const isKratosDefaultJsonnet = (src: string): boolean =>
  /^\s*function\s*\(\s*ctx\s*\)/.test(src) && src.includes("recovery_code") && src.includes("ctx.template_type") && src.includes("body: ctx.body");

function defaultBody(m: HttpMessage): string {
  const d = m.template_data;
  const pick = (k: string): unknown => (d[k] === undefined ? null : d[k]);
  return JSON.stringify({
    recipient: m.recipient,
    template_type: m.template_type,
    to: pick("to"),
    recovery_code: pick("recovery_code"),
    recovery_url: pick("recovery_url"),
    verification_url: pick("verification_url"),
    verification_code: pick("verification_code"),
    subject: m.subject,
    body: m.body,
  });
}

function authHeaders(auth: HttpRequestConfig["auth"]): Record<string, string> {
  if (!auth?.type) return {};
  const c = auth.config ?? {};
  if (auth.type === "basic_auth") {
    return { authorization: `Basic ${Buffer.from(`${String(c.user ?? "")}:${String(c.password ?? "")}`).toString("base64")}` };
  }
  if (auth.type === "api_key") {
    const name = String(c.name ?? "");
    const value = String(c.value ?? "");
    return c.in === "cookie" ? { cookie: `${name}=${value}` } : { [name.toLowerCase()]: value };
  }
  throw new Error(`unsupported auth type "${auth.type}"`);
}

export function createHttpChannel(cfg: HttpRequestConfig, opts: { baseDir?: string } = {}): { send(m: HttpMessage): Promise<void> } {
  let template: CompiledTemplate | undefined;
  if (cfg.body !== undefined) {
    const src = readTemplateUrl(cfg.body, opts.baseDir ?? process.cwd());
    if (/^\s*(local\s|function\s*\()/.test(src)) {
      if (!isKratosDefaultJsonnet(src)) throw new TemplateError("courier channel body: Jsonnet is not supported; write the body as a Go template (see docs/courier.md)");
    } else {
      template = compileTemplate(src);
    }
  }
  const fixedHeaders = { ...authHeaders(cfg.auth), ...(cfg.headers ?? {}) };
  const method = cfg.method ?? "POST";
  return {
    async send(m) {
      const hasBody = method !== "GET" && method !== "HEAD";
      const body = hasBody ? (template ? template.render(m, "json") : defaultBody(m)) : undefined;
      const headers: Record<string, string> = { ...(hasBody ? { "content-type": "application/json" } : {}), ...fixedHeaders };
      const res = await fetch(cfg.url, { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "error" });
      const text = await res.text().catch(() => "");
      if (res.status < 200 || res.status > 299) {
        throw new Error(`${method} ${new URL(cfg.url).origin} answered ${res.status}: ${text.slice(0, 200)}`);
      }
    },
  };
}
