import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { codec } from "./codec.ts";
import { createDatabase } from "./db.ts";
import type { Database } from "./db.ts";
import { migrator } from "./migrate.ts";

describe("codec (pure)", () => {
  test("timestamps are ISO-8601 UTC with milliseconds and sort as text", () => {
    assert.equal(codec.ts(new Date(Date.UTC(2026, 11, 3, 19, 16, 44, 123))), "2026-12-03T19:16:44.123Z");
    assert.equal(codec.ts(new Date(Date.UTC(2026, 0, 1))), "2026-01-01T00:00:00.000Z");
    assert.throws(() => codec.ts(new Date("nope")), /invalid date/);
    assert.equal(codec.toDate("2026-12-03T19:16:44.123Z").getTime(), Date.UTC(2026, 11, 3, 19, 16, 44, 123));
    assert.throws(() => codec.toDate("garbage"), /not a timestamp/);
    assert.equal(codec.toDateOrNull(null), null);
  });

  test("booleans from every driver shape", () => {
    assert.equal(codec.bool(true), 1);
    assert.equal(codec.bool(false), 0);
    for (const v of [1, true, 1n, "1", "t", "true"]) assert.equal(codec.toBool(v), true, String(v));
    for (const v of [0, false, 0n, "0", "f", "false", "", null, undefined]) assert.equal(codec.toBool(v), false, String(v));
  });

  test("json: undefined becomes null, Buffers and parsed values are accepted", () => {
    assert.equal(codec.json(undefined), "null");
    assert.deepEqual(codec.parseJson(Buffer.from('{"a":[1]}')), { a: [1] });
    assert.deepEqual(codec.parseJson({ a: 1 }), { a: 1 });
    assert.equal(codec.parseJson(null), null);
    assert.equal(codec.toNumber("42"), 42);
    assert.equal(codec.toNumber(7n), 7);
    assert.throws(() => codec.toNumber("x"));
  });
});

describeEachDatabase("codec round-trips", (ctx) => {
  let database: Database;
  let drop: () => Promise<void>;
  before(async () => {
    const d = await ctx.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn, { poolSize: 2 });
    await migrator(database).up();
  });
  after(async () => {
    await database?.destroy();
    await drop?.();
  });

  const traits = {
    email: "ålice+tag@exämple.org",
    names: ["a", "b", { nested: [1, 2.5, null, true] }],
    emoji: "🔐 \"quoted\" \\ back\nslash",
    empty: [],
  };

  test("json with arrays, booleans, timestamps survive a write and a read", async () => {
    const { db } = database;
    const t0 = new Date(Date.UTC(2026, 11, 3, 19, 16, 44, 123));
    await db
      .insertInto("identities")
      .values({
        id: "11111111-1111-4111-8111-111111111111",
        schema_id: "default",
        state: "active",
        traits: codec.json(traits),
        metadata_public: codec.json(["only", "an", "array"]),
        metadata_admin: null,
        created_at: codec.ts(t0),
        updated_at: codec.ts(t0),
      })
      .execute();
    await db
      .insertInto("identity_verifiable_addresses")
      .values([true, false].map((verified, i) => ({
        id: `va-${i}`,
        identity_id: "11111111-1111-4111-8111-111111111111",
        via: "email",
        value: `v${i}@example.org`,
        verified: codec.bool(verified),
        verified_at: verified ? codec.ts(t0) : null,
        status: verified ? "completed" : "pending",
        created_at: codec.ts(t0),
        updated_at: codec.ts(t0),
      })))
      .execute();

    const row = await db.selectFrom("identities").selectAll().where("id", "=", "11111111-1111-4111-8111-111111111111").executeTakeFirstOrThrow();
    assert.deepEqual(codec.parseJson(row.traits), traits);
    assert.deepEqual(codec.parseJson(row.metadata_public), ["only", "an", "array"]);
    assert.equal(codec.parseJson(row.metadata_admin), null);
    assert.equal(codec.toDate(row.created_at).getTime(), t0.getTime());
    assert.equal(row.created_at, "2026-12-03T19:16:44.123Z");

    const addrs = await db.selectFrom("identity_verifiable_addresses").select(["id", "verified", "verified_at"]).orderBy("id").execute();
    assert.deepEqual(addrs.map((a) => codec.toBool(a.verified)), [true, false]);
    assert.equal(codec.toDateOrNull(addrs[0].verified_at)?.getTime(), t0.getTime());
    assert.equal(codec.toDateOrNull(addrs[1].verified_at), null);
    // Booleans are usable in WHERE with the encoded value on every dialect.
    const verified = await db.selectFrom("identity_verifiable_addresses").select("id").where("verified", "=", codec.bool(true)).execute();
    assert.deepEqual(verified.map((v) => v.id), ["va-0"]);
  });

  test("timestamp strings order chronologically in SQL, and compare against a bound instant", async () => {
    const { db } = database;
    const base = Date.UTC(2026, 0, 1);
    const instants = [base + 999, base + 1000, base + 59_000, base - 86_400_000, base + 10 * 86_400_000];
    await db
      .insertInto("selfservice_errors")
      .values(instants.map((ms, i) => ({ id: `err-${i}`, error: codec.json({ i }), created_at: codec.ts(new Date(ms)) })))
      .execute();
    const ordered = await db.selectFrom("selfservice_errors").select(["created_at"]).orderBy("created_at").execute();
    assert.deepEqual(ordered.map((r) => codec.toDate(r.created_at).getTime()), [...instants].sort((a, b) => a - b));
    const expired = await db.selectFrom("selfservice_errors").select("id").where("created_at", "<", codec.ts(new Date(base + 1000))).orderBy("id").execute();
    assert.deepEqual(expired.map((r) => r.id), ["err-0", "err-3"]);
  });

  test("a large JSON document (over 64 KiB) fits", async () => {
    const big = { blob: "x".repeat(100_000), list: Array.from({ length: 1000 }, (_, i) => i) };
    const now = codec.ts(new Date());
    await database.db.insertInto("selfservice_errors").values({ id: "big", error: codec.json(big), created_at: now }).execute();
    const row = await database.db.selectFrom("selfservice_errors").select("error").where("id", "=", "big").executeTakeFirstOrThrow();
    assert.deepEqual(codec.parseJson(row.error), big);
  });
});
