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

  test("results have Kysely's shape; a statement on the pool never runs inside an open transaction", async () => {
    const { db } = database;
    const insert = prepare(db, (p) =>
      db.insertInto("throttles").values({ throttle_key: p("key"), count: 1, last_at: 0, expires_at: 0, locked_until: null }),
    );
    const count = prepare(db, (p) => db.selectFrom("throttles").select((eb) => eb.fn.countAll().as("n")).where("throttle_key", "like", p("prefix")));
    const res = await insert.execute({ key: "shape-1" });
    assert.equal(res.numAffectedRows, 1n);
    assert.deepEqual(res.rows, []);
    assert.equal(Number((await count.first({ prefix: "shape-%" }))?.n), 1);
    await assert.rejects(insert.execute({ key: "shape-1" }), (e: unknown) => e instanceof Error);

    // A transaction that is open (and writing) when the pool statement is issued: the statement waits for the
    // transaction's end and sees only what it committed (here: nothing, it rolls back).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    const trx = db
      .transaction()
      .execute(async (t) => {
        await insert.execute({ key: "shape-2" }, t);
        inside();
        await gate;
        throw new Error("roll back");
      })
      .catch(() => "rolled back");
    await opened;
    let settled = false;
    const seen = count.first({ prefix: "shape-%" }).then((r) => {
      settled = true;
      return Number(r?.n);
    });
    await new Promise((r) => setTimeout(r, 20));
    // Other dialects may answer from another connection at once; none may see the uncommitted row.
    if (database.dialect === "sqlite") assert.equal(settled, false, "waits for the transaction");
    release();
    assert.equal(await trx, "rolled back");
    assert.equal(await seen, 1);
  });

  test("a missing value throws before anything runs; null is a value", async () => {
    const { db } = database;
    const upd = prepare(db, (p) => db.updateTable("throttles").set({ locked_until: p("until") }).where("throttle_key", "=", p("key")));
    assert.throws(() => upd.parameters({ key: "a" }), /no value for until/);
    const r = await upd.execute({ key: "a", until: null });
    assert.equal(Number(r.numAffectedRows), 1);
  });
});
