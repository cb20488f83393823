import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { codec } from "./codec.ts";
import { createDatabase } from "./db.ts";
import type { Database } from "./db.ts";
import { ensureMigrated, migrator, unknownAppliedMigrations } from "./migrate.ts";
import { migrations } from "./migrations/index.ts";

const ALL = Object.keys(migrations);
const TABLES_1 = ["identities", "identity_credentials", "identity_credential_identifiers", "identity_verifiable_addresses", "identity_recovery_addresses"];
const TABLES_2 = ["sessions", "selfservice_flows", "selfservice_errors"];

async function tables(database: Database): Promise<string[]> {
  return (await database.db.introspection.getTables()).map((t) => t.name).filter((n) => !n.startsWith("tessera_migration"));
}

function identityRow(id: string, now = new Date()) {
  return { id, schema_id: "default", state: "active" as const, traits: codec.json({ email: `${id}@x.org` }), created_at: codec.ts(now), updated_at: codec.ts(now) };
}

describeEachDatabase("migrations", (ctx) => {
  let database: Database;
  let drop: () => Promise<void>;
  before(async () => {
    const d = await ctx.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn, { poolSize: 2 });
  });
  after(async () => {
    await database?.destroy();
    await drop?.();
  });

  test("serve refuses a fresh database and names the command", async () => {
    await assert.rejects(ensureMigrated(database, { configFile: "kratos.yml" }), (e: Error) => {
      assert.match(e.message, new RegExp(`${ALL.length} pending migration\\(s\\)`));
      assert.match(e.message, /tessera migrate sql up -c kratos\.yml --yes/);
      return true;
    });
  });

  test("up / status / down / down / up", async () => {
    const m = migrator(database);
    assert.deepEqual(await m.status(), ALL.map((name) => ({ name, applied: false })));
    assert.deepEqual(await m.pending(), ALL);

    assert.deepEqual(await m.up(), ALL);
    assert.deepEqual(await m.up(), [], "second up is a no-op");
    assert.deepEqual(await m.pending(), []);
    const all = await tables(database);
    for (const t of [...TABLES_1, ...TABLES_2]) assert.ok(all.includes(t), `table ${t} exists`);

    // Revert one at a time, newest first; each step leaves exactly the older ones applied.
    for (let i = ALL.length - 1; i >= 0; i--) {
      assert.equal(await m.down(), ALL[i]);
      assert.deepEqual(await m.status(), ALL.map((name, k) => ({ name, applied: k < i })));
      if (i === 1) assert.deepEqual((await tables(database)).sort(), [...TABLES_1].sort());
    }
    assert.deepEqual(await tables(database), []);
    assert.equal(await m.down(), null, "nothing left to revert");

    assert.deepEqual(await m.up(), ALL);
    assert.deepEqual(await ensureMigrated(database), [], "up to date: serve starts");
    assert.deepEqual(await unknownAppliedMigrations(database), []);
  });

  test("columns have the canonical types (varchar lengths enforced where the dialect does)", async () => {
    const cols = new Map((await database.db.introspection.getTables()).find((t) => t.name === "identities")!.columns.map((c) => [c.name, c]));
    assert.equal(cols.get("id")?.isNullable, false);
    assert.equal(cols.get("external_id")?.isNullable, true);
    assert.match(cols.get("created_at")!.dataType.toLowerCase(), /varchar/);
    if (database.dialect !== "sqlite") {
      // A 33-char timestamp does not fit varchar(32): strict mode on MySQL, always on PostgreSQL.
      await assert.rejects(database.db.insertInto("identities").values({ ...identityRow("too-long"), created_at: "x".repeat(33) }).execute());
    }
  });

  test("unique (type, identifier) rejects a duplicate; cascades delete children", async () => {
    const { db } = database;
    const now = codec.ts(new Date());
    await db.insertInto("identities").values([identityRow("00000000-0000-4000-8000-000000000001"), identityRow("00000000-0000-4000-8000-000000000002")]).execute();
    const cred = (id: string, identity: string) => ({ id, identity_id: identity, type: "password", config: codec.json({ hashed_password: "$argon2id$..." }), created_at: now, updated_at: now });
    await db.insertInto("identity_credentials").values([cred("c1", "00000000-0000-4000-8000-000000000001"), cred("c2", "00000000-0000-4000-8000-000000000002")]).execute();
    const ident = (id: string, identity: string, credential: string, identifier: string) => ({ id, identity_id: identity, credential_id: credential, type: "password", identifier, created_at: now });
    await db.insertInto("identity_credential_identifiers").values(ident("i1", "00000000-0000-4000-8000-000000000001", "c1", "alice@example.com")).execute();

    const dup = await db.insertInto("identity_credential_identifiers").values(ident("i2", "00000000-0000-4000-8000-000000000002", "c2", "alice@example.com")).execute().then(() => null, (e: unknown) => e);
    assert.ok(dup, "duplicate identifier must be rejected");
    assert.ok(codec.isUniqueViolation(dup), `unique violation recognised: ${String(dup)}`);
    // Same identifier under another credential type is fine; a different case is a different identifier everywhere.
    await db.insertInto("identity_credential_identifiers").values(ident("i3", "00000000-0000-4000-8000-000000000002", "c2", "ALICE@example.com")).execute();
    await db.insertInto("identity_credential_identifiers").values({ ...ident("i4", "00000000-0000-4000-8000-000000000002", "c2", "alice@example.com"), type: "code" }).execute();

    const dupCred = await db.insertInto("identity_credentials").values(cred("c3", "00000000-0000-4000-8000-000000000001")).execute().then(() => null, (e: unknown) => e);
    assert.ok(codec.isUniqueViolation(dupCred), "one credential per (identity, type)");

    const orphan = await db.insertInto("identity_credentials").values(cred("c4", "no-such-identity")).execute().then(() => null, (e: unknown) => e);
    assert.ok(codec.isForeignKeyViolation(orphan), `foreign key enforced: ${String(orphan)}`);

    await db.deleteFrom("identities").where("id", "=", "00000000-0000-4000-8000-000000000001").execute();
    const left = await db.selectFrom("identity_credential_identifiers").select("id").orderBy("id").execute();
    assert.deepEqual(left.map((r) => r.id), ["i3", "i4"]);
    const creds = await db.selectFrom("identity_credentials").select("id").execute();
    assert.deepEqual(creds.map((r) => r.id), ["c2"]);
  });

  test("external_id is unique but allows many NULLs; session token hashes are unique", async () => {
    const { db } = database;
    await db.insertInto("identities").values([identityRow("n1"), identityRow("n2")]).execute();
    await db.insertInto("identities").values({ ...identityRow("e1"), external_id: "ext-1" }).execute();
    const e = await db.insertInto("identities").values({ ...identityRow("e2"), external_id: "ext-1" }).execute().then(() => null, (x: unknown) => x);
    assert.ok(codec.isUniqueViolation(e));

    const now = codec.ts(new Date());
    const session = (id: string, token: string) => ({ id, identity_id: "n1", token_hash: token, active: codec.bool(true), aal: "aal1", authenticated_at: now, issued_at: now, expires_at: now, authentication_methods: "[]", devices: "[]", created_at: now, updated_at: now });
    await db.insertInto("sessions").values(session("s1", "a".repeat(64))).execute();
    const s = await db.insertInto("sessions").values(session("s2", "a".repeat(64))).execute().then(() => null, (x: unknown) => x);
    assert.ok(codec.isUniqueViolation(s));
    const count = await db.selectFrom("sessions").select(sql<unknown>`count(*)`.as("n")).executeTakeFirstOrThrow();
    assert.equal(codec.toNumber(count.n), 1);
  });

  test("a database migrated by a newer build is refused", async () => {
    await sql`insert into tessera_migration (name, timestamp) values (${"29991231000000_future"}, ${codec.ts(new Date())})`.execute(database.db);
    assert.deepEqual(await unknownAppliedMigrations(database), ["29991231000000_future"]);
    await assert.rejects(ensureMigrated(database, { dev: true }), /newer version/);
    await sql`delete from tessera_migration where name = ${"29991231000000_future"}`.execute(database.db);
  });
});

describeEachDatabase("serve --dev migrates itself", (ctx) => {
  test("ensureMigrated({ dev: true }) applies every pending migration once", async () => {
    const d = await ctx.dsn();
    const database = createDatabase(d.dsn, { poolSize: 2 });
    try {
      assert.deepEqual(await ensureMigrated(database, { dev: true }), ALL);
      assert.deepEqual(await ensureMigrated(database, { dev: true }), []);
      assert.deepEqual(await migrator(database).pending(), []);
    } finally {
      await database.destroy();
      await d.drop();
    }
  });
});
