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
import { readAddresses } from "../../src/identity/addresses-json.ts";
import { createAddressStore } from "../../src/strategies/code/addresses.ts";

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
    assert.equal(await sessions.whoami({ headers: { "x-session-token": token } } as never), undefined);
  });

  test("whoami's answer is byte for byte the session JSON, however the database renders it", async () => {
    const t = (ms: number) => new Date(Date.parse("2026-12-01T10:00:00.000Z") + ms).toISOString();
    const email = "Ünïcødé.who@example.com";
    // Addresses created out of id order, one verified with verified_at, traits with nesting, numbers and unicode.
    const i: Identity = {
      id: newId(),
      schema_id: "default",
      state: "active",
      traits: { email, name: { first: "Zoë \"Q\" 😀", last: "O'Brien\\n" }, age: 42, ratio: 0.125, tags: ["a", "b"], ok: false, nothing: null },
      metadata_public: { plan: "pro", n: [1, 2.5, { deep: true }] },
      metadata_admin: { secret: "never shown" },
      organization_id: newId(),
      external_id: "ext-Ω-1",
      verifiable_addresses: [
        { id: "ffffffff-0000-4000-8000-000000000001", value: `z.${email}`, via: "email", verified: false, status: "sent", created_at: t(2000), updated_at: t(2000) },
        { id: "00000000-0000-4000-8000-000000000002", value: email, via: "email", verified: true, status: "completed", verified_at: t(5000), created_at: t(1000), updated_at: t(5000) },
        { id: "00000000-0000-4000-8000-000000000001", value: `a.${email}`, via: "email", verified: false, status: "pending", created_at: t(2000), updated_at: t(2000) },
      ],
      recovery_addresses: [
        { id: "ffffffff-0000-4000-8000-000000000009", value: email, via: "email", created_at: t(3000), updated_at: t(3000) },
        { id: "00000000-0000-4000-8000-000000000009", value: `r.${email}`, via: "email", created_at: t(4000), updated_at: t(4000) },
      ],
      credentials: {},
      created_at: t(0),
      updated_at: t(6000),
    };
    await repo.insert(i);
    // A SQLite file renders the answer in the database; the other dialects build it from the read rows.
    assert.equal(sessions.sessions.renderedByTokenHash("0".repeat(64)), target.name === "sqlite" ? undefined : null);
    const plain: Identity = { ...i, id: newId(), external_id: undefined, organization_id: null, metadata_public: null, verifiable_addresses: [], recovery_addresses: [], traits: { email: "plain.who@example.com" } };
    delete plain.external_id;
    await repo.insert(plain);
    for (const who of [i, plain]) {
      const { token } = await sessions.issue(who, { method: "password", ip: "2001:db8::1", user_agent: "Mozilla/5.0 \"quoted\" ü" });
      const request = { headers: { "x-session-token": token } } as unknown as Parameters<typeof sessions.whoami>[0];
      const answer = await sessions.whoami(request);
      const found = await sessions.fromToken(token);
      assert.ok(answer && found);
      assert.equal(answer.identity_id, who.id);
      assert.equal(answer.body, JSON.stringify(sessions.toJson(found.session, found.identity)));
      const body = JSON.parse(answer.body) as { identity: Record<string, unknown> };
      assert.equal(body.identity.metadata_admin, undefined);
      assert.equal(body.identity.credentials, undefined);
    }
    const v = (JSON.parse((await sessions.whoami({ headers: { "x-session-token": (await sessions.issue(i, { method: "password", ip: "::1", user_agent: "t" })).token } } as never))!.body) as {
      identity: { verifiable_addresses: Array<{ id: string; verified_at?: string }> };
    }).identity.verifiable_addresses;
    assert.deepEqual(v.map((a) => a.id), ["00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000001", "ffffffff-0000-4000-8000-000000000001"]);
    assert.deepEqual(v.map((a) => a.verified_at), [t(5000), undefined, undefined]);
    // Unusable sessions: revoked, expired, identity inactive, unknown token, no token.
    const a = await sessions.issue(i, { method: "password", ip: "::1", user_agent: "t" });
    await sessions.revoke(a.session.id);
    const asReq = (token?: string) => ({ headers: token ? { "x-session-token": token } : {} }) as never;
    assert.equal(await sessions.whoami(asReq(a.token)), undefined);
    assert.equal(await sessions.whoami(asReq(`${a.token}x`)), undefined);
    assert.equal(await sessions.whoami(asReq()), undefined);
    const b = await sessions.issue(plain, { method: "password", ip: "::1", user_agent: "t" });
    clock.advance(48 * 3_600_000);
    assert.equal(await sessions.whoami(asReq(b.token)), undefined);
  });

  test("the identity's copy of its addresses follows every address change; whoami and reads answer with it", async () => {
    const addresses = createAddressStore(database);
    const i = await identity("copy.who@example.com");
    const { token } = await sessions.issue(i, { method: "password", ip: "::1", user_agent: "t" });
    const asReq = { headers: { "x-session-token": token } } as never;
    /** The stored copy equals the address tables, and whoami and a repo read answer exactly that. */
    const check = async (label: string) => {
      const row = await database.db.selectFrom("identities").select("addresses").where("id", "=", i.id).executeTakeFirstOrThrow();
      const fromTables = JSON.stringify((await readAddresses(database.db, database.dialect, [i.id])).get(i.id));
      assert.equal(String(row.addresses), fromTables, `${label}: copy equals the tables`);
      const answer = await sessions.whoami(asReq);
      assert.ok(answer, label);
      const found = await sessions.fromToken(token);
      assert.ok(found);
      assert.equal(answer.body, JSON.stringify(sessions.toJson(found.session, found.identity)), `${label}: whoami byte for byte`);
      const shown = JSON.parse(answer.body) as { identity: { verifiable_addresses: unknown; recovery_addresses: unknown } };
      assert.equal(JSON.stringify({ verifiable_addresses: shown.identity.verifiable_addresses, recovery_addresses: shown.identity.recovery_addresses }), fromTables, `${label}: whoami shows the tables`);
      const read = await repo.get(i.id);
      assert.equal(JSON.stringify({ verifiable_addresses: read?.verifiable_addresses, recovery_addresses: read?.recovery_addresses }), fromTables, `${label}: repo read`);
      return JSON.parse(fromTables) as { verifiable_addresses: Array<{ id: string; value: string; status: string; verified: boolean }> };
    };
    await check("after insert");
    const pending = i.verifiable_addresses.find((a) => !a.verified)!;
    clock.advance(1000);
    await addresses.markSent(pending.id, clock.now());
    assert.equal((await check("after markSent")).verifiable_addresses.find((a) => a.id === pending.id)?.status, "sent");
    clock.advance(1000);
    await database.db.transaction().execute((trx) => addresses.markVerified(pending.id, clock.now(), trx));
    assert.equal((await check("after markVerified in a transaction")).verifiable_addresses.find((a) => a.id === pending.id)?.verified, true);
    clock.advance(1000);
    const now = clock.now().toISOString();
    const extra = { id: newId(), value: "extra.copy.who@example.com", via: "email" as const, verified: false, status: "pending" as const, created_at: now, updated_at: now };
    const current = (await repo.get(i.id))!;
    assert.ok(await repo.update({ ...current, verifiable_addresses: [...current.verifiable_addresses, extra], updated_at: now }));
    await check("after update");
    await addresses.markVerifiedByValue(i.id, extra.value, clock.now());
    assert.equal((await check("after markVerifiedByValue")).verifiable_addresses.find((a) => a.value === extra.value)?.verified, true);
    // A change that matches nothing (already verified) leaves everything as it was.
    await addresses.markSent(pending.id, clock.now());
    await check("after a no-op markSent");

    // Concurrent changes to the same identity's addresses: every one is in the copy at the end (the identity lock).
    const now2 = clock.now().toISOString();
    const many = Array.from({ length: 6 }, (_, k) => ({ id: newId(), value: `many${k}.copy.who@example.com`, via: "email" as const, verified: false, status: "pending" as const, created_at: now2, updated_at: now2 }));
    const before = (await repo.get(i.id))!;
    assert.ok(await repo.update({ ...before, verifiable_addresses: [...before.verifiable_addresses, ...many], updated_at: now2 }));
    await Promise.all(many.map((a, k) => (k % 2 ? addresses.markSent(a.id, clock.now()) : addresses.markVerifiedByValue(i.id, a.value, clock.now()))));
    const final = await check("after concurrent changes");
    for (const [k, a] of many.entries()) {
      const got = final.verifiable_addresses.find((x) => x.id === a.id)!;
      assert.equal(k % 2 ? got.status : String(got.verified), k % 2 ? "sent" : "true", a.value);
    }

    // A row without the copy (written by an older release): reads and whoami fall back to the address tables.
    await database.db.updateTable("identities").set({ addresses: null }).where("id", "=", i.id).execute();
    const answer = await sessions.whoami(asReq);
    const found = await sessions.fromToken(token);
    assert.ok(answer && found);
    assert.equal(answer.body, JSON.stringify(sessions.toJson(found.session, found.identity)));
    assert.deepEqual(found.identity.verifiable_addresses.map((a) => a.id), final.verifiable_addresses.map((a) => a.id));
    assert.deepEqual((await repo.get(i.id))?.verifiable_addresses, final.verifiable_addresses);
    assert.deepEqual((await repo.list({ pageSize: 1000 })).find((x) => x.id === i.id)?.verifiable_addresses, final.verifiable_addresses);

    // The migration that adds the copy backfills rows written before it, exactly as the app renders them. Revert the
    // later migrations first, newest first (sessions survive each down and up: 20261213000001).
    const m = migrator(database);
    const reverted: string[] = [];
    for (let name = await m.down(); name !== null; name = await m.down()) {
      reverted.push(name);
      if (name === "20261212000001_identity_addresses_json") break;
    }
    assert.deepEqual(reverted, ["20261213000001_drop_session_logout_token_hash", "20261212000002_drop_address_order_indexes", "20261212000001_identity_addresses_json"]);
    await m.up();
    await check("after the migration's backfill");
  });
});
