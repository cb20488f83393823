import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { createDatabase } from "./db.ts";
import { migrator } from "./migrate.ts";
import { startCheckpointer } from "./checkpointer.ts";

test("a SQLite file's WAL is checkpointed by the worker; commits on the main connection never checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-ckpt-"));
  const file = join(dir, "t.db");
  const database = createDatabase(`sqlite://${file}`);
  try {
    await migrator(database).up();
    const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
    assert.equal(Number(auto.rows[0].wal_autocheckpoint), 0);
    const before = statSync(file).size;
    await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 3000; i++) {
        await trx.insertInto("throttles").values({ throttle_key: `k${i}-${"x".repeat(100)}`, count: i, last_at: i, expires_at: i, locked_until: null }).execute();
      }
    });
    // The rows are in the WAL; the worker copies them into the database file within a few intervals.
    let grown = false;
    for (let i = 0; i < 100 && !grown; i++) {
      await new Promise((r) => setTimeout(r, 50));
      grown = statSync(file).size > before + 300_000;
    }
    assert.ok(grown, `database file ${statSync(file).size} bytes, was ${before}`);
    const n = await database.db.selectFrom("throttles").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 3000);
  } finally {
    await database.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("when the worker cannot open the file, the fallback (SQLite's own checkpoints) is taken", async () => {
  let fellBack = false;
  const c = startCheckpointer(join(tmpdir(), "tessera-no-such-dir", "none.db"), () => {
    fellBack = true;
  });
  for (let i = 0; i < 100 && !fellBack; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fellBack);
  await c.stop();
});
