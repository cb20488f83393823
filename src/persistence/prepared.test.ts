import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { createDatabase, type Database } from "./db.ts";
import { migrator } from "./migrate.ts";
import { prepare } from "./prepared.ts";

describeEachDatabase("prepared statements", (ctx) => {
  let database: Database;
  let drop: () => Promise<void>;
  before(async () => {
    const d = await ctx.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn);
    await migrator(database).up();
  });
  after(async () => {
    await database.destroy();
    await drop();
  });

  test("named values fill their slots, constants stay, a name may repeat, transactions are honoured", async () => {
    const { db } = database;
    const insert = prepare(db, (p) =>
      db.insertInto("throttles").values({ throttle_key: p("key"), count: p("count"), last_at: p("at"), expires_at: p("at"), locked_until: null }),
    );
    const byKey = prepare(db, (p) => db.selectFrom("throttles").select(["count", "last_at", "expires_at"]).where("throttle_key", "=", p("key")).where("count", ">", 0));
    assert.equal(insert.parameters({ key: "a", count: 3, at: 7 }).length, 5);
    await insert.execute({ key: "a", count: 3, at: 7 });
    const row = await byKey.first({ key: "a" });
    assert.deepEqual({ count: Number(row?.count), last_at: Number(row?.last_at), expires_at: Number(row?.expires_at) }, { count: 3, last_at: 7, expires_at: 7 });
    assert.equal(await byKey.first({ key: "missing" }), undefined);
    // Inside a rolled-back transaction the row exists, afterwards it does not.
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await insert.execute({ key: "b", count: 1, at: 1 }, trx);
        assert.ok(await byKey.first({ key: "b" }, trx));
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.equal(await byKey.first({ key: "b" }), undefined);
  });

  test("a missing value throws before anything runs; null is a value", async () => {
    const { db } = database;
    const upd = prepare(db, (p) => db.updateTable("throttles").set({ locked_until: p("until") }).where("throttle_key", "=", p("key")));
    assert.throws(() => upd.parameters({ key: "a" }), /no value for until/);
    const r = await upd.execute({ key: "a", until: null });
    assert.equal(Number(r.numAffectedRows), 1);
  });
});
