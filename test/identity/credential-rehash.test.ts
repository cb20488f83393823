import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { describeEachDatabase } from "../helpers/databases.ts";
import { REPO_ROOT } from "../helpers/create-test-app.ts";
import { createDatabase, type Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createIdentityRepo, type IdentityRepo } from "../../src/identity/identity-repo.ts";
import { createIdentityService, type IdentityService } from "../../src/identity/identity-service.ts";
import { loadIdentitySchemas } from "../../src/identity/schema/registry.ts";
import { createPasswordHasher, defaultHasherConfig, type PasswordHasher } from "../../src/security/hash/hasher.ts";
import { systemClock } from "../../src/util/clock.ts";

/**
 * The conditional credential update behind the rehash after login, on every database: a rehash computed from the
 * old password must never overwrite a password changed in the meantime.
 */
describeEachDatabase("identity repo: rehash is a compare-and-swap on the old hash", (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let repo: IdentityRepo;
  let service: IdentityService;
  let hasher: PasswordHasher;

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
    hasher = await createPasswordHasher({ ...defaultHasherConfig, argon2: { ...defaultHasherConfig.argon2, memory: 1024 * 1024, iterations: 1 } });
    service = createIdentityService({ repo, schemas, hasher, clock: systemClock });
  });
  after(async () => {
    await database.destroy();
    await drop();
  });

  const storedHash = async (id: string): Promise<string> => String((await repo.get(id))?.credentials.password?.config.hashed_password);
  const withPassword = (email: string, password: string) => ({
    schema_id: "default",
    traits: { email },
    credentials: { password: { config: { password } } },
  });

  test("the swap is refused once the password changed, and done while the hash is unchanged", async () => {
    const created = await service.create(withPassword("rehash-a@example.com", "the old password 1"));
    const cred = created.credentials.password;
    assert.ok(cred);
    const oldHash = String(cred.config.hashed_password);
    const rehashOfOld = await hasher.hash("the old password 1");

    // The password changes (settings / recovery / admin PUT) while the login's rehash is still computing.
    await service.update(created.id, { ...withPassword("rehash-a@example.com", "the new password 2"), state: "active" });
    const newHash = await storedHash(created.id);
    assert.notEqual(newHash, oldHash);

    const written = await repo.updateCredentialConfig(cred.id, { ...cred.config, hashed_password: rehashOfOld }, new Date().toISOString(), oldHash);
    assert.equal(written, false, "a stale rehash is not written");
    assert.equal(await storedHash(created.id), newHash, "the new password survives");
    assert.ok(await hasher.verify("the new password 2", await storedHash(created.id)));

    // A rehash of the current hash goes through.
    const rehashOfNew = await hasher.hash("the new password 2");
    const current = (await repo.get(created.id))?.credentials.password;
    assert.ok(current);
    assert.equal(current.id, cred.id, "the credential keeps its id across the update");
    const swapped = await repo.updateCredentialConfig(current.id, { ...current.config, hashed_password: rehashOfNew }, new Date().toISOString(), newHash);
    assert.equal(swapped, true);
    assert.equal(await storedHash(created.id), rehashOfNew);

    // Unknown credential: nothing written, no error.
    assert.equal(await repo.updateCredentialConfig("00000000-0000-4000-8000-000000000000", { hashed_password: "x" }, new Date().toISOString(), "y"), false);
    // Without an expected hash it stays an unconditional write (kept for callers that own the row).
    assert.equal(await repo.updateCredentialConfig(current.id, { hashed_password: oldHash }, new Date().toISOString()), true);
    assert.equal(await storedHash(created.id), oldHash);
  });

  test("racing a password change: whatever the order, the changed password is the one that stays", async () => {
    const created = await service.create(withPassword("rehash-race@example.com", "race password 0"));
    for (let i = 1; i <= 8; i++) {
      const before = await repo.get(created.id);
      const cred = before?.credentials.password;
      assert.ok(before && cred);
      const oldHash = String(cred.config.hashed_password);
      const [rehash, changed] = await Promise.all([hasher.hash(`race password ${i - 1}`), hasher.hash(`race password ${i}`)]);
      const next = structuredClone(before);
      next.credentials.password = { ...cred, config: { hashed_password: changed }, updated_at: new Date().toISOString() };
      const [, swapped] = await Promise.all([
        repo.update(next),
        repo.updateCredentialConfig(cred.id, { ...cred.config, hashed_password: rehash }, new Date().toISOString(), oldHash),
      ]);
      const final = await storedHash(created.id);
      assert.equal(final, changed, `round ${i}: the password change wins (rehash written first: ${swapped})`);
    }
  });
});
