import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/**
 * JSON Patch (PATCH /admin/identities/{id}) of what Kratos lets an admin patch besides traits and metadata: the
 * verification state of verifiable addresses and the organization. Addresses stay derived from the traits.
 */
interface Va {
  id: string;
  value: string;
  via: string;
  verified: boolean;
  status: string;
  verified_at?: string;
  created_at: string;
  updated_at: string;
}
interface IdentityBody {
  id: string;
  traits: { email: string };
  verifiable_addresses: Va[];
  recovery_addresses: Array<{ id: string; value: string }>;
  organization_id: string | null;
}

describe("admin identity JSON Patch: addresses and organization", () => {
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
  const create = async (email: string): Promise<IdentityBody> => {
    const res = await call("POST", "/admin/identities", { schema_id: "default", traits: { email } });
    assert.equal(res.statusCode, 201);
    return res.json<IdentityBody>();
  };
  const get = async (id: string): Promise<IdentityBody> => (await call("GET", `/admin/identities/${id}`)).json<IdentityBody>();

  test("replace /verifiable_addresses/0/verified persists verified=true, status completed and verified_at", async () => {
    const created = await create("verify-me@example.com");
    const before = created.verifiable_addresses[0];
    assert.equal(before.verified, false);
    assert.equal(before.status, "pending");
    t.clock.advance(60_000);
    const res = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }]);
    assert.equal(res.statusCode, 200);
    const now = t.clock.now().toISOString();
    for (const body of [res.json<IdentityBody>(), await get(created.id)]) {
      assert.equal(body.verifiable_addresses.length, 1);
      const va = body.verifiable_addresses[0];
      assert.equal(va.verified, true);
      assert.equal(va.status, "completed");
      assert.equal(va.verified_at, now, "verified_at defaults to the time of the patch");
      assert.equal(va.id, before.id, "the address keeps its id");
      assert.equal(va.created_at, before.created_at);
      assert.equal(va.updated_at, now);
      assert.equal(va.value, "verify-me@example.com");
    }

    // An unrelated patch leaves the verification state alone.
    t.clock.advance(60_000);
    const meta = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "add", path: "/metadata_public", value: { a: 1 } }]);
    assert.equal(meta.statusCode, 200);
    const kept = (await get(created.id)).verifiable_addresses[0];
    assert.equal(kept.verified, true);
    assert.equal(kept.verified_at, now);
    assert.equal(kept.updated_at, now, "an unchanged address keeps its updated_at");

    // And back: unverified drops verified_at; status "sent" is honoured.
    const undo = await call("PATCH", `/admin/identities/${created.id}`, [
      { op: "replace", path: "/verifiable_addresses/0/verified", value: false },
      { op: "replace", path: "/verifiable_addresses/0/status", value: "sent" },
    ]);
    assert.equal(undo.statusCode, 200);
    const unverified = (await get(created.id)).verifiable_addresses[0];
    assert.equal(unverified.verified, false);
    assert.equal(unverified.status, "sent");
    assert.equal(unverified.verified_at, undefined);
  });

  test("a verified_at given in the patch is kept (canonical), a malformed one is a 400", async () => {
    const created = await create("dated@example.com");
    const res = await call("PATCH", `/admin/identities/${created.id}`, [
      { op: "replace", path: "/verifiable_addresses/0/verified", value: true },
      { op: "add", path: "/verifiable_addresses/0/verified_at", value: "2024-05-06T07:08:09Z" },
    ]);
    assert.equal(res.statusCode, 200);
    assert.equal((await get(created.id)).verifiable_addresses[0].verified_at, "2024-05-06T07:08:09.000Z");
    const bad = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/verifiable_addresses/0/verified_at", value: "yesterday" }]);
    assert.equal(bad.statusCode, 400);
    const wrongType = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/verifiable_addresses/0/verified", value: "yes" }]);
    assert.equal(wrongType.statusCode, 400);
    assert.equal((await get(created.id)).verifiable_addresses[0].verified_at, "2024-05-06T07:08:09.000Z", "a refused patch changes nothing");
  });

  test("addresses stay derived from the traits: a foreign address is dropped, a changed email starts unverified", async () => {
    const created = await create("owner@example.com");
    const foreign = await call("PATCH", `/admin/identities/${created.id}`, [
      { op: "add", path: "/verifiable_addresses/-", value: { value: "someone-else@example.com", via: "email", verified: true, status: "completed" } },
      { op: "add", path: "/recovery_addresses/-", value: { value: "someone-else@example.com", via: "email" } },
    ]);
    assert.equal(foreign.statusCode, 200);
    const afterForeign = await get(created.id);
    assert.deepEqual(afterForeign.verifiable_addresses.map((a) => [a.value, a.verified]), [["owner@example.com", false]]);
    assert.deepEqual(afterForeign.recovery_addresses.map((a) => a.value), ["owner@example.com"]);
    assert.equal(afterForeign.recovery_addresses[0].id, created.recovery_addresses[0].id);

    // Changing the value of the address alone does not move it: the traits decide.
    const moved = await call("PATCH", `/admin/identities/${created.id}`, [
      { op: "replace", path: "/verifiable_addresses/0/value", value: "moved@example.com" },
      { op: "replace", path: "/verifiable_addresses/0/verified", value: true },
    ]);
    assert.equal(moved.statusCode, 200);
    const afterMove = await get(created.id);
    assert.deepEqual(afterMove.verifiable_addresses.map((a) => [a.value, a.verified, a.status]), [["owner@example.com", false, "pending"]]);

    // Verify, then change the email in the traits: the new address is a new, unverified one.
    await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }]);
    const changed = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/traits/email", value: "New@Example.com" }]);
    assert.equal(changed.statusCode, 200);
    const afterChange = await get(created.id);
    assert.equal(afterChange.verifiable_addresses.length, 1);
    assert.equal(afterChange.verifiable_addresses[0].value, "new@example.com");
    assert.equal(afterChange.verifiable_addresses[0].verified, false);

    // The address of the new email and its verification can be set in the same patch as the traits.
    const both = await call("PATCH", `/admin/identities/${created.id}`, [
      { op: "replace", path: "/traits/email", value: "third@example.com" },
      { op: "replace", path: "/verifiable_addresses/0", value: { value: "Third@example.com", via: "email", verified: true, status: "completed" } },
    ]);
    assert.equal(both.statusCode, 200);
    const third = (await get(created.id)).verifiable_addresses;
    assert.deepEqual(third.map((a) => [a.value, a.verified, a.status]), [["third@example.com", true, "completed"]]);
  });

  test("PUT keeps the verification state (updateIdentityBody has no addresses)", async () => {
    const created = await create("put-keeps@example.com");
    await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/verifiable_addresses/0/verified", value: true }]);
    const put = await call("PUT", `/admin/identities/${created.id}`, {
      schema_id: "default",
      state: "active",
      traits: { email: "put-keeps@example.com", name: { first: "P" } },
      verifiable_addresses: [{ value: "put-keeps@example.com", via: "email", verified: false, status: "pending" }],
    });
    assert.equal(put.statusCode, 200);
    assert.equal((await get(created.id)).verifiable_addresses[0].verified, true);
  });

  test("organization_id can be set and cleared by a patch, and must be a UUID", async () => {
    const created = await create("org-member@example.com");
    assert.equal(created.organization_id, null);
    const org = "3f1c2b9e-8a47-4d2e-9b51-0c6d7e8f9a10";
    const set = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/organization_id", value: org }]);
    assert.equal(set.statusCode, 200);
    assert.equal((await get(created.id)).organization_id, org);
    const listed = (await call("GET", `/admin/identities?organization_id=${org}`)).json<IdentityBody[]>();
    assert.deepEqual(listed.map((i) => i.id), [created.id]);
    const bad = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/organization_id", value: "not-a-uuid" }]);
    assert.equal(bad.statusCode, 400);
    assert.equal((await get(created.id)).organization_id, org);
    const cleared = await call("PATCH", `/admin/identities/${created.id}`, [{ op: "replace", path: "/organization_id", value: null }]);
    assert.equal(cleared.statusCode, 200);
    assert.equal((await get(created.id)).organization_id, null);
  });
});
