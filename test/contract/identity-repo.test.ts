import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { describeEachDatabase } from "../helpers/databases.ts";
import { REPO_ROOT } from "../helpers/create-test-app.ts";
import { createDatabase, type Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createIdentityRepo } from "../../src/identity/identity-repo.ts";
import { createIdentityService, type IdentityService } from "../../src/identity/identity-service.ts";
import { loadIdentitySchemas } from "../../src/identity/schema/registry.ts";
import { createPasswordHasher, defaultHasherConfig } from "../../src/security/hash/hasher.ts";
import { systemClock } from "../../src/util/clock.ts";
import { AppError } from "../../src/util/app-error.ts";

/**
 * The identity repository contract, run against every database we support (SQLite always; PostgreSQL and MariaDB
 * when TEST_POSTGRES_DSN / TEST_MYSQL_DSN are set). It goes through the identity service so the derived rows
 * (identifiers, addresses, credentials) are the real ones.
 */
describeEachDatabase("identity repository contract", (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let service: IdentityService;
  let repo: ReturnType<typeof createIdentityRepo>;

  before(async () => {
    const d = await target.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn);
    await migrator(database).up();
    repo = createIdentityRepo(database);
    const schemas = await loadIdentitySchemas({
      schemas: [{ id: "default", url: `file://${join(REPO_ROOT, "config/identity.schema.json")}` }],
      defaultId: "default",
      baseDir: REPO_ROOT,
    });
    const hasher = await createPasswordHasher({ ...defaultHasherConfig, argon2: { ...defaultHasherConfig.argon2, memory: 1024 * 1024, iterations: 1 } });
    service = createIdentityService({ repo, schemas, hasher, clock: systemClock });
  });
  after(async () => {
    await database.destroy();
    await drop();
  });

  const body = (email: string, extra: Record<string, unknown> = {}) => ({ schema_id: "default", traits: { email }, ...extra });

  test("create, read back, identifiers normalized", async () => {
    const created = await service.create(body("  Alice@Example.COM ", { credentials: { password: { config: { password: "correct horse battery" } } }, metadata_public: { plan: "pro" } }));
    const got = await repo.get(created.id);
    assert.ok(got);
    assert.equal(got.traits.email, "alice@example.com");
    assert.deepEqual(got.credentials.password?.identifiers, ["alice@example.com"]);
    assert.match(String(got.credentials.password?.config.hashed_password), /^\$argon2id\$/);
    assert.deepEqual(got.metadata_public, { plan: "pro" });
    assert.equal(got.verifiable_addresses[0]?.value, "alice@example.com");
    assert.equal(got.verifiable_addresses[0]?.verified, false);
    assert.equal(got.verifiable_addresses[0]?.status, "pending");
    const found = await repo.findByCredentialIdentifier("password", "alice@example.com");
    assert.equal(found?.id, created.id);
  });

  test("duplicate identifier is a 409, whatever the case or spacing", async () => {
    await service.create(body("bob@example.com"));
    await assert.rejects(service.create(body("BOB@example.com ")), (e: unknown) => e instanceof AppError && e.code === 409);
  });

  test("20 parallel creates of the same email: exactly one succeeds, nineteen conflict", async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => service.create(body("race@example.com"))));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const conflicts = results.filter((r) => r.status === "rejected" && r.reason instanceof AppError && r.reason.code === 409).length;
    assert.equal(ok, 1);
    assert.equal(conflicts, 19);
    const listed = await repo.list({ pageSize: 500, credentialsIdentifier: "race@example.com" });
    assert.equal(listed.length, 1);
  });

  test("update keeps verification state and credentials, patch validates", async () => {
    const created = await service.create(
      body("carol@example.com", { verifiable_addresses: [{ value: "carol@example.com", via: "email", verified: true, status: "completed" }] }),
    );
    assert.equal(created.verifiable_addresses[0].verified, true);
    const updated = await service.update(created.id, { schema_id: "default", state: "inactive", traits: { email: "carol@example.com", name: { first: "Carol" } } });
    assert.equal(updated.state, "inactive");
    const got = await repo.get(created.id);
    assert.equal(got?.verifiable_addresses[0].verified, true);
    assert.equal(got?.verifiable_addresses[0].id, created.verifiable_addresses[0].id);
    const patched = await service.patch(created.id, [{ op: "replace", path: "/traits/email", value: "carol2@example.com" }]);
    assert.equal(patched.traits.email, "carol2@example.com");
    assert.equal(patched.verifiable_addresses[0].verified, false, "a new address starts unverified");
    assert.ok(await repo.findByCredentialIdentifier("password", "carol2@example.com"));
    assert.equal(await repo.findByCredentialIdentifier("password", "carol@example.com"), undefined);
    await assert.rejects(service.patch(created.id, [{ op: "replace", path: "/id", value: "x" }]), (e: unknown) => e instanceof AppError && e.code === 400);
    await assert.rejects(service.patch(created.id, [{ op: "remove", path: "/traits/email" }]), (e: unknown) => e instanceof AppError && e.code === 400);
  });

  test("keyset pagination walks every identity exactly once, in id order", async () => {
    const made = new Set<string>();
    for (let i = 0; i < 23; i++) made.add((await service.create(body(`page${i}@example.com`))).id);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await repo.list({ pageSize: 5, after });
      seen.push(...page.map((p) => p.id));
      if (page.length < 5) break;
      after = page[page.length - 1].id;
    }
    assert.deepEqual([...seen].sort(), seen, "ordered by id");
    assert.equal(new Set(seen).size, seen.length, "no duplicates");
    for (const id of made) assert.ok(seen.includes(id));
  });

  test("external id is unique; delete removes everything", async () => {
    const a = await service.create(body("ext1@example.com", { external_id: "crm-1" }));
    await assert.rejects(service.create(body("ext2@example.com", { external_id: "crm-1" })), (e: unknown) => e instanceof AppError && e.code === 409);
    assert.equal((await repo.getByExternalId("crm-1"))?.id, a.id);
    await service.delete(a.id);
    assert.equal(await repo.get(a.id), undefined);
    assert.equal(await repo.findByCredentialIdentifier("password", "ext1@example.com"), undefined);
    await service.create(body("ext1@example.com"));
    await assert.rejects(service.delete(a.id), (e: unknown) => e instanceof AppError && e.code === 404);
  });
});
