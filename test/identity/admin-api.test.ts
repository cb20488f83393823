import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/** The admin identity API through HTTP (inject), with every kind of bad input the foundation issue lists. */
describe("admin identity API", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.admin.inject({
      method: method as "GET",
      url,
      payload: payload === undefined ? undefined : typeof payload === "string" ? payload : JSON.stringify(payload),
      headers: payload === undefined ? headers : { "content-type": "application/json", ...headers },
    });

  const assertKratosError = (res: { statusCode: number; json(): unknown; headers: Record<string, unknown> }, code: number) => {
    assert.equal(res.statusCode, code);
    const body = res.json() as { error: { id: string; code: number; status: string; message: string } };
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.id, "string");
    assert.equal(typeof body.error.status, "string");
    assert.equal(typeof body.error.message, "string");
    assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/, "no stack trace");
    assert.equal(res.headers["cache-control"], "private, no-cache, no-store, must-revalidate");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
  };

  test("create -> get -> get by external id -> put -> patch -> delete", async () => {
    const created = await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "Dana@Example.com" }, external_id: "ext-dana" });
    assert.equal(created.statusCode, 201);
    assert.match(String(created.headers.location), /^http:\/\/127\.0\.0\.1:4434\/admin\/identities\/[0-9a-f-]{36}$/, "Location points at the admin API");
    const identity = created.json() as { id: string; traits: { email: string }; schema_url: string; credentials: Record<string, { config?: unknown }> };
    assert.equal(identity.traits.email, "dana@example.com");
    assert.equal(identity.schema_url, "http://127.0.0.1:4433/schemas/ZGVmYXVsdA");
    assert.equal((await call("GET", `/admin/identities/${identity.id}`)).statusCode, 200);
    assert.equal((await call("GET", `/identities/${identity.id}`)).statusCode, 200, "admin routes also answer without the prefix");
    assert.equal((await call("GET", "/admin/identities/by/external/ext-dana")).json<{ id: string }>().id, identity.id);
    const put = await call("PUT", `/admin/identities/${identity.id}`, { schema_id: "default", state: "active", traits: { email: "dana@example.com", name: { first: "Dana" } } });
    assert.equal(put.statusCode, 200);
    const patch = await call("PATCH", `/admin/identities/${identity.id}`, [{ op: "add", path: "/metadata_public", value: { tier: 2 } }]);
    assert.equal(patch.statusCode, 200);
    assert.deepEqual(patch.json<{ metadata_public: unknown }>().metadata_public, { tier: 2 });
    assert.equal((await call("DELETE", `/admin/identities/${identity.id}`)).statusCode, 204);
    assertKratosError(await call("GET", `/admin/identities/${identity.id}`), 404);
  });

  test("credentials: config only with include_credential; plain password is hashed on import", async () => {
    const res = await call("POST", "/admin/identities", {
      schema_id: "default",
      traits: { email: "erin@example.com" },
      credentials: { password: { config: { password: "a long and unusual passphrase" } } },
    });
    const id = res.json<{ id: string }>().id;
    const plain = (await call("GET", `/admin/identities/${id}`)).json<{ credentials: { password: Record<string, unknown> } }>();
    assert.equal(plain.credentials.password.config, undefined);
    assert.deepEqual(plain.credentials.password.identifiers, ["erin@example.com"]);
    const withCred = (await call("GET", `/admin/identities/${id}?include_credential=password`)).json<{ credentials: { password: { config: { hashed_password: string } } } }>();
    assert.match(withCred.credentials.password.config.hashed_password, /^\$argon2id\$/);
  });

  test("bad input gets a 4xx in Kratos's error shape, never a 500", async () => {
    assertKratosError(await call("POST", "/admin/identities", "{not json"), 400);
    assertKratosError(await call("POST", "/admin/identities", { schema_id: 5, traits: {} }), 400);
    assertKratosError(await call("POST", "/admin/identities", { schema_id: "default", traits: "x" }), 400);
    assertKratosError(await call("POST", "/admin/identities", { schema_id: "nope", traits: { email: "x@example.com" } }), 400);
    const violation = await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "not-an-email" } });
    assertKratosError(violation, 400);
    assert.match(JSON.stringify(violation.json()), /#\/traits\/email/, "names the JSON pointer");
    assertKratosError(await call("POST", "/admin/identities", { schema_id: "default", traits: {} }), 400);
    await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "dup@example.com" } });
    assertKratosError(await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "DUP@example.com" } }), 409);
    assertKratosError(await call("GET", "/admin/identities/not-a-uuid"), 404);
    assertKratosError(await call("GET", "/admin/identities?page_size=0"), 400);
    assertKratosError(await call("GET", "/admin/identities?page_size=10000"), 400);
    assertKratosError(await call("GET", "/admin/identities?page_token=garbage"), 400);
    assertKratosError(await call("GET", "/admin/identities?ids=nope"), 400);
    const big = JSON.stringify({ schema_id: "default", traits: { email: "big@example.com", pad: "x".repeat(5 * 1024 * 1024) } });
    assertKratosError(await call("POST", "/admin/identities", big), 413);
    const id = (await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "patchme@example.com" } })).json<{ id: string }>().id;
    assertKratosError(await call("PATCH", `/admin/identities/${id}`, [{ op: "replace", path: "/id", value: "00000000-0000-4000-8000-000000000000" }]), 400);
    assertKratosError(await call("PATCH", `/admin/identities/${id}`, [{ op: "add", path: "/credentials/password", value: {} }]), 400);
    assertKratosError(await call("PATCH", `/admin/identities/${id}`, [{ op: "replace", path: "/traits/email", value: "nope" }]), 400);
    assertKratosError(await call("PATCH", `/admin/identities/${id}`, { op: "replace" }), 400);
    assertKratosError(await call("POST", "/admin/identities", "schema_id=default", { "content-type": "text/plain" }), 415);
    assertKratosError(await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "h@example.com" }, credentials: { password: { config: { hashed_password: "$unknown$abc" } } } }), 400);
    assertKratosError(await call("DELETE", `/admin/identities/${id}/credentials/unknown`), 400);
    assertKratosError(await call("GET", "/admin/nothing-here"), 404);
  });

  test("batch create: per-item results, at most 1000", async () => {
    const res = await call("PATCH", "/admin/identities", {
      identities: [
        { create: { schema_id: "default", traits: { email: "b1@example.com" } }, patch_id: "00000000-0000-4000-8000-000000000001" },
        { create: { schema_id: "default", traits: { email: "bad" } }, patch_id: "00000000-0000-4000-8000-000000000002" },
        { create: { schema_id: "default", traits: { email: "b1@example.com" } } },
      ],
    });
    assert.equal(res.statusCode, 200);
    const items = res.json<{ identities: Array<{ action: string; identity?: string; patch_id?: string; error?: { code: number } }> }>().identities;
    assert.deepEqual(items.map((i) => i.action), ["create", "error", "error"]);
    assert.equal(items[0].patch_id, "00000000-0000-4000-8000-000000000001");
    assert.equal(items[1].error?.code, 400);
    assert.equal(items[2].error?.code, 409);
    const tooMany = { identities: Array.from({ length: 1001 }, (_, i) => ({ create: { schema_id: "default", traits: { email: `m${i}@example.com` } } })) };
    assertKratosError(await call("PATCH", "/admin/identities", tooMany), 400);
    const badPatchId = { identities: [{ create: { schema_id: "default", traits: { email: "pid@example.com" } }, patch_id: "not-a-uuid" }] };
    assertKratosError(await call("PATCH", "/admin/identities", badPatchId), 400);
    assert.equal((await call("GET", "/admin/identities?credentials_identifier=pid@example.com")).json<unknown[]>().length, 0, "nothing created");
  });

  test("schemas, health, version", async () => {
    const list = (await t.app.public.inject({ url: "/schemas" })).json<Array<{ id: string }>>();
    assert.deepEqual(list.map((s) => s.id), ["default"]);
    assert.equal((await t.app.public.inject({ url: "/schemas/default" })).statusCode, 200);
    assert.equal((await t.app.public.inject({ url: "/schemas/ZGVmYXVsdA" })).statusCode, 200);
    assertKratosError(await t.app.public.inject({ url: "/schemas/missing" }), 404);
    assert.deepEqual((await call("GET", "/admin/health/alive")).json(), { status: "ok" });
    assert.deepEqual((await call("GET", "/health/ready")).json(), { status: "ok" });
    assert.match((await call("GET", "/admin/version")).json<{ version: string }>().version, /^\d+\.\d+\.\d+/);
  });
});

describe("admin API keys", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ config: { serve: { admin: { api_keys: ["k-0123456789abcdef0123456789abcdef"] } } } });
  });
  after(async () => t.close());

  test("a key is required when configured; health stays open", async () => {
    const none = await t.app.admin.inject({ url: "/admin/identities" });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json<{ error: { code: number } }>().error.code, 401);
    assert.equal((await t.app.admin.inject({ url: "/admin/identities", headers: { authorization: "Bearer wrong" } })).statusCode, 401);
    assert.equal((await t.app.admin.inject({ url: "/admin/identities", headers: { authorization: "Bearer k-0123456789abcdef0123456789abcdef" } })).statusCode, 200);
    assert.equal((await t.app.admin.inject({ url: "/health/alive" })).statusCode, 200);
  });
});

describe("health: not ready when the database is gone", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test("/health/ready answers 503 with the spec's healthNotReadyStatus; /health/alive stays 200", async () => {
    assert.deepEqual((await t.app.admin.inject({ url: "/health/ready" })).json(), { status: "ok" });
    await t.app.deps.database.destroy();
    for (const listener of [t.app.admin, t.app.public]) {
      for (const url of ["/health/ready", "/admin/health/ready"]) {
        if (listener === t.app.public && url.startsWith("/admin")) continue;
        const res = await listener.inject({ url });
        assert.equal(res.statusCode, 503, url);
        assert.match(String(res.headers["content-type"]), /^application\/json/);
        const body = res.json<{ errors: Record<string, unknown> }>();
        assert.deepEqual(Object.keys(body), ["errors"], "only `errors`, as healthNotReadyStatus");
        assert.ok(Object.keys(body.errors).length > 0);
        for (const v of Object.values(body.errors)) assert.equal(typeof v, "string", "errors map check names to strings");
        assert.equal(typeof body.errors.database, "string");
      }
      assert.deepEqual((await listener.inject({ url: "/health/alive" })).json(), { status: "ok" });
    }
  });
});
