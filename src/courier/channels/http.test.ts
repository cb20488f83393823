import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import { after, before, test } from "node:test";
import { TemplateError } from "../templates/go-template.ts";
import { createHttpChannel, parseRequestConfig } from "./http.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const seen: Seen[] = [];
let server: Server;
let base = "";
before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.statusCode = req.url === "/fail" ? 503 : 202;
      res.end(req.url === "/fail" ? "provider down" : "ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const message = {
  recipient: "+15550100",
  template_type: "login_code_valid",
  template_data: { to: "+15550100", login_code: "123456", note: 'quote " and \\ and\nnewline' },
  subject: "",
  body: "Your sign-in code is: 123456",
};
const b64 = (s: string): string => `base64://${Buffer.from(s).toString("base64")}`;

test("without a body template: Kratos's default JSON, POST, configured headers and basic auth", async () => {
  const ch = createHttpChannel(parseRequestConfig({
    url: `${base}/sms`,
    headers: { "X-Api-Version": "2" },
    auth: { type: "basic_auth", config: { user: "u", password: "p" } },
  }, "c"));
  await ch.send(message);
  const s = seen.at(-1) as Seen;
  assert.equal(s.method, "POST");
  assert.equal(s.url, "/sms");
  assert.equal(s.headers["x-api-version"], "2");
  assert.equal(s.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
  assert.equal(s.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(s.body), {
    recipient: "+15550100", template_type: "login_code_valid", to: "+15550100", recovery_code: null, recovery_url: null,
    verification_url: null, verification_code: null, subject: "", body: "Your sign-in code is: 123456",
  });
});

test("a Go-template body gets JSON-escaped values; api_key auth in a header; custom method", async () => {
  const ch = createHttpChannel(parseRequestConfig({
    url: `${base}/v2/messages`,
    method: "put",
    body: b64('{"To":"{{ .recipient }}","Text":"{{ .body }}","Note":"{{ .template_data.note }}"}'),
    auth: { type: "api_key", config: { name: "X-Key", value: "secret", in: "header" } },
  }, "c"));
  await ch.send(message);
  const s = seen.at(-1) as Seen;
  assert.equal(s.method, "PUT");
  assert.equal(s.headers["x-key"], "secret");
  assert.deepEqual(JSON.parse(s.body), { To: "+15550100", Text: "Your sign-in code is: 123456", Note: 'quote " and \\ and\nnewline' });
});

test("a non-2xx answer rejects with the status; bad configs are refused up front", async () => {
  const ch = createHttpChannel(parseRequestConfig({ url: `${base}/fail` }, "c"));
  await assert.rejects(ch.send(message), /503: provider down/);
  assert.throws(() => parseRequestConfig({ url: "ftp://x" }, "courier.channels[0].request_config"), /courier\.channels\[0\]\.request_config\.url/);
  assert.throws(() => createHttpChannel({ url: `${base}/x`, body: b64("function(ctx) { custom: ctx.recipient }") }), TemplateError);
});

test("a connection refused rejects (the worker will retry)", async () => {
  const ch = createHttpChannel({ url: "http://127.0.0.1:1/none" });
  await assert.rejects(ch.send(message));
});
