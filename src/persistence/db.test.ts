import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { createDatabase } from "./db.ts";
import { parseDsn } from "./dsn.ts";

const dir = mkdtempSync(join(tmpdir(), "tessera-db-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("sqlite: creates the parent directory and sets WAL, synchronous=NORMAL, foreign keys, busy timeout", async () => {
  const file = join(dir, "nested", "deeper", "t.db");
  const database = createDatabase(`sqlite://${file}?_fk=true&mode=rwc`);
  try {
    assert.equal(database.dialect, "sqlite");
    const pragma = async (name: string) =>
      Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(database.db)).rows[0] ?? {})[0];
    assert.equal(await pragma("journal_mode"), "wal");
    assert.equal(await pragma("synchronous"), 1);
    assert.equal(await pragma("foreign_keys"), 1);
    assert.equal(await pragma("busy_timeout"), 5000);
    assert.ok(existsSync(file));
  } finally {
    await database.destroy();
  }
});

test("sqlite: relative paths resolve against cwd; memory works; mode=ro refuses writes", async () => {
  const rel = createDatabase("sqlite://./rel/r.db", { cwd: dir });
  await sql`create table x (a int)`.execute(rel.db);
  await sql`insert into x values (1)`.execute(rel.db);
  await rel.destroy();
  await rel.destroy(); // idempotent
  assert.ok(existsSync(join(dir, "rel", "r.db")));

  const ro = createDatabase(`sqlite://${join(dir, "rel", "r.db")}?mode=ro`);
  try {
    assert.deepEqual((await sql<{ a: number }>`select a from x`.execute(ro.db)).rows, [{ a: 1 }]);
    await assert.rejects(sql`insert into x values (2)`.execute(ro.db), /readonly/i);
  } finally {
    await ro.destroy();
  }

  const mem = createDatabase("memory");
  try {
    await sql`create table y (b text)`.execute(mem.db);
    await sql`insert into y values ('z')`.execute(mem.db);
    assert.deepEqual((await sql<{ b: string }>`select b from y`.execute(mem.db)).rows, [{ b: "z" }]);
  } finally {
    await mem.destroy();
  }
});

describeEachDatabase("connection", (ctx) => {
  test("sessions are UTC; MySQL runs strict; PostgreSQL survives a killed idle connection", async () => {
    const d = await ctx.dsn();
    const idleErrors: Error[] = [];
    const database = createDatabase(d.dsn, { poolSize: 2, onIdleError: (e) => idleErrors.push(e) });
    try {
      if (database.dialect === "mysql") {
        const r = await sql<{ m: string; tz: string }>`select @@session.sql_mode as m, @@session.time_zone as tz`.execute(database.db);
        assert.match(r.rows[0].m, /STRICT_ALL_TABLES/);
        assert.equal(r.rows[0].tz, "+00:00");
      }
      if (database.dialect === "postgres") {
        const before = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db);
        const p = parseDsn(d.dsn);
        const admin = new pg.Client({ host: p.host, port: p.port, user: p.user, password: p.password, database: "postgres" });
        await admin.connect();
        try {
          await admin.query("select pg_terminate_backend($1)", [before.rows[0].pid]);
        } finally {
          await admin.end();
        }
        // Wait for the pool to notice (it emits 'error' for the idle client), then query again.
        for (let i = 0; i < 50 && idleErrors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(idleErrors.length, 1, "the idle error reached the callback instead of crashing the process");
        const again = await sql<{ one: number }>`select 1 as one`.execute(database.db);
        assert.equal(again.rows[0].one, 1);
      }
      const n = await sql<{ v: string }>`select ${"ünïcødé 🔐"} as v`.execute(database.db);
      assert.equal(n.rows[0].v, "ünïcødé 🔐");
    } finally {
      await database.destroy();
      await d.drop();
    }
  });
});
