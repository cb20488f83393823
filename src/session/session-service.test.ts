import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from "kysely";
import { createSessionHarness, HOUR, type SessionHarness } from "../../test/session/harness.ts";
import { createSessionService, readCookie } from "./session-service.ts";
import { hashToken, logoutTokenFor } from "./session.ts";

let h: SessionHarness;
before(async () => {
  h = await createSessionHarness({ lifespan: 24 * HOUR, earliestPossibleExtend: HOUR });
});
after(async () => h.close());

describe("session tokens", () => {
  test("ory_st_ + 32 alphanumerics, a new one at every authentication, only the hash stored, no logout token", async () => {
    const identity = await h.createIdentity();
    const a = await h.login(identity);
    const b = await h.login(identity);
    assert.match(a.token, /^ory_st_[A-Za-z0-9]{32}$/);
    assert.notEqual(a.token, b.token);
    assert.notEqual(a.session.id, b.session.id);
    const rows = await h.database.db.selectFrom("sessions").selectAll().where("identity_id", "=", identity.id).execute();
    assert.equal(rows.length, 2);
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(a.token) && !dump.includes(a.token.slice(7)), "the token itself never reaches the database");
    assert.ok(!dump.includes(logoutTokenFor(a.token)), "nor the logout token");
    assert.ok(!dump.includes(hashToken(logoutTokenFor(a.token))), "nor its hash: logout recomputes the token");
    assert.equal(rows.find((r) => r.id === a.session.id)?.token_hash, hashToken(a.token));
    assert.ok(!("logout_token_hash" in rows[0]), "the column is gone (20261213000001)");
  });

  test("logout token: ory_lo_ + 32, stable per session token, different across sessions", () => {
    const t = logoutTokenFor("ory_st_abc");
    assert.match(t, /^ory_lo_[A-Za-z0-9]{32}$/);
    assert.equal(logoutTokenFor("ory_st_abc"), t);
    assert.notEqual(logoutTokenFor("ory_st_abd"), t);
  });

  test("readCookie finds the session cookie among others", () => {
    assert.equal(readCookie("a=1; ory_kratos_session=ory_st_x; b=2", "ory_kratos_session"), "ory_st_x");
    assert.equal(readCookie('ory_kratos_session="q%20"', "ory_kratos_session"), "q ");
    assert.equal(readCookie("xory_kratos_session=1", "ory_kratos_session"), undefined);
    assert.equal(readCookie(undefined, "ory_kratos_session"), undefined);
  });
});

describe("session lookup", () => {
  test("a valid token gives the session and its identity without credentials or admin metadata", async () => {
    const identity = await h.createIdentity("Lookup@Example.com");
    const { token, session } = await h.login(identity, "ua/lookup");
    const found = await h.sessions.fromToken(token);
    assert.ok(found);
    assert.equal(found.session.id, session.id);
    assert.deepEqual(found.session.devices, session.devices);
    assert.equal(found.session.devices[0].user_agent, "ua/lookup");
    assert.equal(found.identity.id, identity.id);
    assert.deepEqual(found.identity.traits, identity.traits);
    assert.deepEqual(found.identity.verifiable_addresses, identity.verifiable_addresses);
    assert.deepEqual(found.identity.recovery_addresses, identity.recovery_addresses);
    assert.deepEqual(found.identity.metadata_public, { plan: "free" });
    assert.deepEqual(found.identity.credentials, {});
    assert.equal(found.identity.metadata_admin, null);
    const json = h.sessions.toJson(found.session, found.identity);
    assert.equal(json.authenticator_assurance_level, "aal1");
    assert.deepEqual(json.authentication_methods, [{ method: "password", aal: "aal1", completed_at: session.authenticated_at }]);
    assert.equal(json.identity?.credentials, undefined);
    assert.equal(json.identity?.metadata_admin, undefined);
  });

  test("the lookup is exactly one database statement", async () => {
    let statements = 0;
    const counter: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
        statements++;
        return args.result;
      },
    };
    // On SQLite files the lookup runs on the read connection (database.readConnection): count its statements too.
    const reader = h.database.readConnection?.();
    const readConnection = reader
      ? () =>
          ({
            prepare: (sql: string) => {
              const stmt = reader.prepare(sql);
              return { get: (...params: unknown[]) => (statements++, stmt.get(...params)) };
            },
          }) as unknown as typeof reader
      : undefined;
    const database = { ...h.database, db: h.database.db.withPlugin(counter), readConnection };
    const svc = createSessionService({ database, repo: h.repo, clock: h.clock, config: h.config, publicBaseUrl: "http://x/", dev: true });
    const { token } = await h.login(await h.createIdentity());
    statements = 0;
    assert.ok(await svc.fromToken(token));
    assert.equal(statements, 1);
    statements = 0;
    assert.equal(await svc.fromToken("ory_st_unknown"), undefined);
    assert.equal(statements, 1);
  });

  test("expired, revoked, unknown: undefined", async () => {
    const identity = await h.createIdentity();
    const a = await h.login(identity);
    const b = await h.login(identity);
    assert.ok(await h.sessions.fromToken(a.token));
    assert.equal(await h.sessions.revoke(a.session.id), true);
    assert.equal(await h.sessions.fromToken(a.token), undefined);
    assert.equal(await h.sessions.fromToken(`${b.token}x`), undefined);
    h.clock.advance(24 * HOUR);
    assert.equal(await h.sessions.fromToken(b.token), undefined, "expired exactly at expires_at");
    h.clock.advance(-24 * HOUR);
    assert.ok(await h.sessions.fromToken(b.token));
  });

  test("an inactive identity's sessions are unusable, revokeAllForIdentity ends them, deletion removes them", async () => {
    const identity = await h.createIdentity();
    const a = await h.login(identity);
    const b = await h.login(identity);
    const c = await h.login(identity);
    // A state flipped behind the repository's back: the lookup itself refuses an inactive identity.
    await h.database.db.updateTable("identities").set({ state: "inactive" }).where("id", "=", identity.id).execute();
    assert.equal(await h.sessions.fromToken(a.token), undefined);
    await h.database.db.updateTable("identities").set({ state: "active" }).where("id", "=", identity.id).execute();
    assert.ok(await h.sessions.fromToken(a.token));
    assert.equal(await h.sessions.revokeAllForIdentity(identity.id, c.session.id), 2);
    assert.equal(await h.sessions.fromToken(a.token), undefined);
    assert.equal(await h.sessions.fromToken(b.token), undefined);
    assert.ok(await h.sessions.fromToken(c.token));
    await h.repo.delete(identity.id);
    assert.equal(await h.sessions.fromToken(c.token), undefined);
    assert.equal(await h.sessions.sessions.get(c.session.id), undefined);
  });

  test("the identity repository ends every session when the identity becomes inactive; reactivation revives none", async () => {
    const identity = await h.createIdentity();
    const a = await h.login(identity);
    await h.repo.update({ ...identity, state: "inactive" });
    assert.equal(await h.sessions.fromToken(a.token), undefined);
    await h.repo.update({ ...identity, state: "active" });
    assert.equal(await h.sessions.fromToken(a.token), undefined);
  });

  test("issue with previous: new id and token, previous revoked, methods carried over", async () => {
    const identity = await h.createIdentity();
    const first = await h.login(identity);
    h.clock.advance(1000);
    const second = await h.sessions.issue(identity, { method: "code", ip: "10.0.0.1", user_agent: "ua", previous: first.session });
    assert.notEqual(second.session.id, first.session.id);
    assert.deepEqual(second.session.authentication_methods.map((m) => m.method), ["password", "code"]);
    assert.equal(await h.sessions.fromToken(first.token), undefined);
    assert.ok(await h.sessions.fromToken(second.token));
  });
});

describe("extend", () => {
  test("too early: unchanged; within earliest_possible_extend of expiry: now + lifespan", async () => {
    const { session } = await h.login(await h.createIdentity());
    const unchanged = await h.sessions.extend(session.id);
    assert.equal(unchanged?.expires_at, session.expires_at);
    h.clock.advance(23.5 * HOUR);
    const extended = await h.sessions.extend(session.id);
    assert.equal(extended?.expires_at, new Date(h.clock.now().getTime() + 24 * HOUR).toISOString());
    assert.equal((await h.sessions.sessions.get(session.id))?.expires_at, extended?.expires_at);
    h.clock.advance(-23.5 * HOUR);
    assert.equal(await h.sessions.extend("00000000-0000-4000-8000-000000000000"), undefined);
  });
});
