import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";
import { describeEachDatabase } from "../helpers/databases.ts";

/**
 * 20 parallel `POST /admin/identities` with the same email, through the admin HTTP API on every database: exactly one
 * 201 and nineteen 409s in Kratos's error shape; the database's unique index decides, not a check before the insert.
 */
describeEachDatabase("admin create: 20 parallel creates of one email over HTTP", (ctx) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await ctx.dsn();
    drop = db.drop;
    t = await createTestApp({ dsn: db.dsn });
  });
  after(async () => {
    await t.close();
    await drop();
  });

  test("one 201, nineteen 409 conflicts, one identity stored", async () => {
    const create = () =>
      t.app.admin.inject({
        method: "POST",
        url: "/admin/identities",
        headers: { "content-type": "application/json" },
        payload: { schema_id: "default", traits: { email: " Race@Example.com" } },
      });
    const answers = await Promise.all(Array.from({ length: 20 }, create));
    const statuses = answers.map((a) => a.statusCode).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(19).fill(409)]);
    for (const a of answers.filter((x) => x.statusCode === 409)) {
      const body = JSON.parse(a.body) as { error: Record<string, unknown> };
      assert.equal(body.error.code, 409);
      assert.equal(body.error.status, "Conflict");
      assert.equal(typeof body.error.message, "string");
    }
    const list = await t.app.admin.inject({ method: "GET", url: "/admin/identities?credentials_identifier=race@example.com" });
    assert.equal((JSON.parse(list.body) as unknown[]).length, 1);
  });
});
