import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/** DELETE /admin/identities/{id}/credentials/{type} over HTTP. */
interface Cred {
  identifiers: string[];
  config?: Record<string, unknown>;
}
interface IdentityBody {
  id: string;
  updated_at: string;
  credentials: Record<string, Cred>;
}

describe("admin: delete identity credentials", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  const call = (method: string, url: string, payload?: unknown) =>
    t.app.admin.inject({
      method: method as "GET",
      url,
      payload: payload === undefined ? undefined : JSON.stringify(payload),
      headers: payload === undefined ? {} : { "content-type": "application/json" },
    });
  const get = async (id: string): Promise<IdentityBody> =>
    (await call("GET", `/admin/identities/${id}?include_credential=password&include_credential=code`)).json<IdentityBody>();
  const createWithPassword = async (email: string): Promise<IdentityBody> => {
    const res = await call("POST", "/admin/identities", {
      schema_id: "default",
      traits: { email },
      credentials: { password: { config: { password: "a long and unusual passphrase" } } },
    });
    assert.equal(res.statusCode, 201);
    return res.json<IdentityBody>();
  };

  test("deleting the password removes the secret; the address stays reserved", async () => {
    const created = await createWithPassword("drop-password@example.com");
    assert.match(String((await get(created.id)).credentials.password.config?.hashed_password), /^\$argon2id\$/);
    t.clock.advance(1000);
    const res = await call("DELETE", `/admin/identities/${created.id}/credentials/password`);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, "");
    const after = await get(created.id);
    assert.equal(after.credentials.password?.config?.hashed_password, undefined, "no password hash is left");
    assert.deepEqual(after.credentials.password?.identifiers, ["drop-password@example.com"], "the identifier stays reserved (as Kratos re-derives it)");
    assert.ok(after.credentials.code, "other credentials are untouched");
    assert.equal(after.updated_at, t.clock.now().toISOString());
    const dup = await call("POST", "/admin/identities", { schema_id: "default", traits: { email: "drop-password@example.com" } });
    assert.equal(dup.statusCode, 409, "nobody else can take the address");
    // A password can be set again afterwards.
    const put = await call("PUT", `/admin/identities/${created.id}`, {
      schema_id: "default",
      state: "active",
      traits: { email: "drop-password@example.com" },
      credentials: { password: { config: { password: "another long passphrase" } } },
    });
    assert.equal(put.statusCode, 200);
    assert.match(String((await get(created.id)).credentials.password.config?.hashed_password), /^\$argon2id\$/);
  });

  test("passkey and code credentials cannot be deleted through this API (400, nothing changes)", async () => {
    const created = await createWithPassword("keep-code@example.com");
    const before = await get(created.id);
    assert.ok(before.credentials.code);
    for (const type of ["code", "passkey"]) {
      const res = await call("DELETE", `/admin/identities/${created.id}/credentials/${type}`);
      assert.equal(res.statusCode, 400, type);
      const body = res.json<{ error: { code: number; reason: string } }>();
      assert.equal(body.error.code, 400);
      assert.match(body.error.reason, new RegExp(`cannot remove ${type} credentials`));
    }
    assert.deepEqual(await get(created.id), before);
  });

  test("a type the identity does not have is a 404; an unknown type a 400; an unknown identity a 404", async () => {
    const created = await createWithPassword("no-totp@example.com");
    assert.equal((await call("DELETE", `/admin/identities/${created.id}/credentials/totp`)).statusCode, 404);
    assert.equal((await call("DELETE", `/admin/identities/${created.id}/credentials/bogus`)).statusCode, 400);
    assert.equal((await call("DELETE", `/admin/identities/00000000-0000-4000-8000-000000000000/credentials/password`)).statusCode, 404);
    assert.match(String((await get(created.id)).credentials.password.config?.hashed_password), /^\$argon2id\$/);
  });
});
