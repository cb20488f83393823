import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadIdentitySchemas, SchemaLoadError } from "./registry.ts";

const REF = "/work/shared/reference/kratos";
const QUICKSTARTS = [
  "quickstart-all-strategies.identity.schema.json",
  "quickstart-email-password.identity.schema.json",
  "quickstart-passkey.identity.schema.json",
  "quickstart-phone-password.identity.schema.json",
  "quickstart-webauthn.identity.schema.json",
  "quickstart-oidc.identity.traits.schema.json",
];

const minimal = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: { traits: { type: "object", properties: { username: { type: "string" } } } },
};

/** `minimal` with extra keywords on the `username` trait. */
const withUsername = (extra: Record<string, unknown>): Record<string, unknown> => ({
  ...minimal,
  properties: { traits: { type: "object", properties: { username: { type: "string", ...extra } } } },
});
const b64 = (v: unknown): string => `base64://${Buffer.from(JSON.stringify(v)).toString("base64")}`;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-schema-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function expectLoadError(url: string, pattern: RegExp, baseDir = "/"): Promise<void> {
  await assert.rejects(loadIdentitySchemas({ schemas: [{ id: "s1", url }], defaultId: "s1", baseDir }), (e: unknown) => {
    assert.ok(e instanceof SchemaLoadError, `expected SchemaLoadError, got ${String(e)}`);
    assert.equal(e.schemaId, "s1");
    assert.match(e.message, /^identity schema "s1": /);
    assert.ok(!e.message.includes("\n"), "one line");
    assert.match(e.message, pattern);
    return true;
  });
}

test("every Kratos quickstart identity schema loads and passes the meta-schema", async () => {
  const schemas = QUICKSTARTS.map((f, i) => ({ id: `q${i}`, url: `file://${REF}/${f}` }));
  const reg = await loadIdentitySchemas({ schemas, defaultId: "q1", baseDir: "/" });
  assert.deepEqual(reg.ids(), schemas.map((s) => s.id));
  assert.equal(reg.defaultId, "q1");
  for (const [i, f] of QUICKSTARTS.entries()) {
    const s = reg.get(`q${i}`);
    assert.ok(s);
    assert.equal(s.url, `file://${REF}/${f}`);
    assert.deepEqual(s.schema, JSON.parse(await readFile(join(REF, f), "utf8")));
  }
  assert.equal(reg.get("nope"), undefined);
});

test("relative file:// URLs resolve against baseDir (file://./x and file://x)", async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, "a.json"), JSON.stringify(minimal));
    const reg = await loadIdentitySchemas({
      schemas: [
        { id: "dot", url: "file://./a.json" },
        { id: "bare", url: "file://a.json" },
      ],
      defaultId: "dot",
      baseDir: dir,
    });
    assert.deepEqual(reg.get("bare")?.schema, minimal);
    assert.deepEqual(reg.get("dot")?.schema, minimal);
  });
});

test("a bad ory.sh/kratos extension is refused by the meta-schema", async () => {
  await expectLoadError(b64(withUsername({ "ory.sh/kratos": { credentials: { password: { identifier: "yes" } } } })), /meta-schema.*identifier.*boolean/);
  await expectLoadError(b64(withUsername({ "ory.sh/kratos": { credentials: { magic: {} } } })), /meta-schema.*"magic"/);
  await expectLoadError(b64(withUsername({ "ory.sh/kratos": { recovery: { via: "pigeon" } } })), /meta-schema.*pigeon|meta-schema.*allowed/);
  // verification needs one of Kratos's formats
  await expectLoadError(b64(withUsername({ format: "uri", "ory.sh/kratos": { verification: { via: "email" } } })), /meta-schema.*format/);
  // no traits at all
  await expectLoadError(b64({ type: "object", properties: {} }), /meta-schema.*traits/);
  // and the same schema with a valid extension loads
  const ok = await loadIdentitySchemas({
    schemas: [{ id: "ok", url: b64(withUsername({ "ory.sh/kratos": { credentials: { password: { identifier: true } } } })) }],
    defaultId: "ok",
    baseDir: "/",
  });
  assert.deepEqual(ok.extract("ok", { username: "Bob" }).identifiers.password, ["bob"]);
});

test("unreadable file, invalid JSON, invalid JSON Schema and unknown schemes are refused with one line", async () => {
  await withTempDir(async (dir) => {
    await expectLoadError("file://./missing.json", /cannot read .*missing\.json: ENOENT/, dir);
    await writeFile(join(dir, "broken.json"), "{ not json");
    await expectLoadError("file://./broken.json", /not valid JSON/, dir);
    await writeFile(join(dir, "array.json"), "[]");
    await expectLoadError("file://./array.json", /not a JSON object/, dir);
    await writeFile(join(dir, "badtype.json"), JSON.stringify(withUsername({ type: "strin" })));
    await expectLoadError("file://./badtype.json", /not a valid JSON Schema at \/properties\/traits\/properties\/username\/type/, dir);
    await expectLoadError("ftp://example.com/x.json", /unsupported URL scheme "ftp:\/\/"/);
    await expectLoadError("base64://%%%", /outside base64/);
  });
});

test("base64:// schemas load (standard and URL-safe alphabets)", async () => {
  const withTitle = { ...minimal, title: "Ünïcode ~~~ ???" }; // forces + and / (or - and _) in the encoding
  const std = Buffer.from(JSON.stringify(withTitle)).toString("base64");
  const url = Buffer.from(JSON.stringify(withTitle)).toString("base64url");
  assert.match(std, /[+/]/);
  assert.match(url, /[-_]/);
  const reg = await loadIdentitySchemas({
    schemas: [
      { id: "std", url: `base64://${std}` },
      { id: "url", url: `base64://${url}` },
    ],
    defaultId: "std",
    baseDir: "/",
  });
  assert.deepEqual(reg.get("std")?.schema, withTitle);
  assert.deepEqual(reg.get("url")?.schema, withTitle);
});

test("http:// schemas are fetched from a real server; HTTP errors and refused connections are load errors", async () => {
  const body = await readFile(join(REF, "quickstart-email-password.identity.schema.json"), "utf8");
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? "");
    if (req.url === "/identity.schema.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const reg = await loadIdentitySchemas({
      schemas: [{ id: "web", url: `http://127.0.0.1:${port}/identity.schema.json` }],
      defaultId: "web",
      baseDir: "/",
    });
    assert.deepEqual(reg.get("web")?.schema, JSON.parse(body));
    assert.deepEqual(reg.validateTraits("web", { email: "a@example.com" }), []);
    await expectLoadError(`http://127.0.0.1:${port}/missing.json`, /HTTP 404/);
    assert.deepEqual(seen, ["/identity.schema.json", "/missing.json"]);
  } finally {
    await new Promise((r) => server.close(r));
  }
  // A port nothing listens on (taken, then released; never connected to, so no pooled socket).
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await expectLoadError(`http://127.0.0.1:${closedPort}/identity.schema.json`, /cannot fetch .*ECONNREFUSED/);
});

test("duplicate ids and a default id without a schema are refused", async () => {
  const url = `file://${REF}/quickstart-email-password.identity.schema.json`;
  await assert.rejects(
    loadIdentitySchemas({ schemas: [{ id: "a", url }, { id: "a", url }], defaultId: "a", baseDir: "/" }),
    /identity schema "a": is configured twice/,
  );
  await assert.rejects(
    loadIdentitySchemas({ schemas: [{ id: "a", url }], defaultId: "default", baseDir: "/" }),
    /identity schema "default": is the default_schema_id but no schema/,
  );
});
