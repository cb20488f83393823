import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { describeEachDatabase } from "../helpers/databases.ts";
import { createDatabase, type Database } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createIdentityRepo } from "../../src/identity/identity-repo.ts";
import { createSessionService } from "../../src/session/session-service.ts";
import { loadConfig } from "../../src/config/load.ts";
import { baseTestConfig } from "../helpers/create-test-app.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";
import type { Identity } from "../../src/identity/identity.ts";

/**
 * The session repository and service contract on every database: the whoami read (one statement joining the session,
 * its identity and the identity's addresses), revocation, listing, and identity deactivation.
 */
describeEachDatabase("session repository contract", (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let sessions: ReturnType<typeof createSessionService>;
  let repo: ReturnType<typeof createIdentityRepo>;
  const clock = createManualClock();

  before(async () => {
    const d = await target.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn);
    await migrator(database).up();
    repo = createIdentityRepo(database);
    const { config } = await loadConfig({ overrides: baseTestConfig(d.dsn), env: {} });
    sessions = createSessionService({ database, repo, clock, config, publicBaseUrl: "http://127.0.0.1:4433/", dev: true });
  });
  after(async () => {
    await database.destroy();
    await drop();
  });

  async function identity(email: string): Promise<Identity> {
    const now = clock.now().toISOString();
    const i: Identity = {
      id: newId(),
      schema_id: "default",
      state: "active",
      traits: { email },
      metadata_public: { n: 1 },
      metadata_admin: { secret: true },
      organization_id: null,
      verifiable_addresses: [
        { id: newId(), value: email, via: "email", verified: true, status: "completed", verified_at: now, created_at: now, updated_at: now },
        { id: newId(), value: `b.${email}`, via: "email", verified: false, status: "pending", created_at: now, updated_at: now },
      ],
      recovery_addresses: [{ id: newId(), value: email, via: "email", created_at: now, updated_at: now }],
      credentials: {},
      created_at: now,
      updated_at: now,
    };
    await repo.insert(i);
    return i;
  }

  test("whoami read returns the session with its identity and addresses, never admin metadata", async () => {
    const i = await identity("s1@example.com");
    const { token, session } = await sessions.issue(i, { method: "password", ip: "127.0.0.1", user_agent: "test" });
    const found = await sessions.fromToken(token);
    assert.equal(found?.session.id, session.id);
    assert.equal(found?.identity.id, i.id);
    assert.deepEqual(found?.identity.traits, { email: "s1@example.com" });
    assert.deepEqual(found?.identity.metadata_public, { n: 1 });
    assert.equal(found?.identity.metadata_admin, null);
    assert.equal(found?.identity.verifiable_addresses.length, 2);
    assert.equal(found?.identity.verifiable_addresses.find((a) => a.verified)?.value, "s1@example.com");
    assert.equal(found?.identity.recovery_addresses[0].value, "s1@example.com");
    assert.equal(await sessions.fromToken(`${token}x`), undefined);
  });

  test("revoked, expired and deactivated sessions are gone", async () => {
    const i = await identity("s2@example.com");
    const a = await sessions.issue(i, { method: "password", ip: "127.0.0.1", user_agent: "t" });
    const b = await sessions.issue(i, { method: "password", ip: "127.0.0.1", user_agent: "t" });
    await sessions.revoke(a.session.id);
    assert.equal(await sessions.fromToken(a.token), undefined);
    assert.ok(await sessions.fromToken(b.token));
    assert.equal(await sessions.revokeAllForIdentity(i.id), 1);
    assert.equal(await sessions.fromToken(b.token), undefined);
    const c = await sessions.issue(i, { method: "password", ip: "127.0.0.1", user_agent: "t" });
    clock.advance(25 * 3600 * 1000);
    assert.equal(await sessions.fromToken(c.token), undefined, "expired after session.lifespan (24h)");
  });

  test("an identity made inactive loses its sessions", async () => {
    const i = await identity("s3@example.com");
    const { token } = await sessions.issue(i, { method: "password", ip: "127.0.0.1", user_agent: "t" });
    assert.ok(await repo.update({ ...i, state: "inactive", updated_at: clock.now().toISOString() }));
    assert.equal(await sessions.fromToken(token), undefined);
  });
});
