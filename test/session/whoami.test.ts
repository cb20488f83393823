import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify from "fastify";
import { createSessionService, type SessionRecord, type SessionService } from "../../src/session/session-service.ts";
import { createSessionHarness, HOUR, type SessionHarness } from "./harness.ts";

let h: SessionHarness;
before(async () => {
  h = await createSessionHarness();
});
after(async () => h.close());

const INACTIVE = {
  error: {
    id: "session_inactive",
    code: 401,
    status: "Unauthorized",
    reason: "No active session was found in this request.",
    message: "request does not have a valid authentication session",
  },
};

describe("GET /sessions/whoami", () => {
  test("by X-Session-Token, cookie and Bearer, with any method", async () => {
    const identity = await h.createIdentity("whoami@example.com");
    const { token, session } = await h.login(identity, "Mozilla/5.0 test");
    const ways = [{ "x-session-token": token }, { cookie: `other=1; ory_kratos_session=${token}` }, { authorization: `Bearer ${token}` }];
    for (const headers of ways) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
        const res = await h.public.inject({ method, url: "/sessions/whoami", headers });
        assert.equal(res.statusCode, 200, `${method} ${Object.keys(headers)[0]}`);
        assert.equal(res.headers["x-kratos-authenticated-identity-id"], identity.id);
        assert.equal(res.json().id, session.id);
      }
    }
    const body = (await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": token } })).json();
    assert.deepEqual(Object.keys(body), [
      "id",
      "active",
      "expires_at",
      "authenticated_at",
      "authenticator_assurance_level",
      "authentication_methods",
      "issued_at",
      "identity",
      "devices",
    ]);
    assert.equal(body.active, true);
    assert.equal(body.expires_at, new Date(Date.parse(session.issued_at) + 24 * HOUR).toISOString());
    assert.equal(body.authenticator_assurance_level, "aal1");
    assert.deepEqual(body.authentication_methods, [{ method: "password", aal: "aal1", completed_at: session.authenticated_at }]);
    assert.deepEqual(body.devices, [{ id: session.devices[0].id, ip_address: "127.0.0.1", user_agent: "Mozilla/5.0 test", location: "" }]);
    assert.equal(body.identity.id, identity.id);
    assert.equal(body.identity.traits.email, "whoami@example.com");
    assert.equal(body.identity.verifiable_addresses[0].value, "whoami@example.com");
    assert.equal(body.identity.verifiable_addresses[0].verified, false);
    assert.equal(body.identity.recovery_addresses.length, 1);
    assert.equal(body.identity.schema_url, "http://127.0.0.1:4433/schemas/ZGVmYXVsdA");
    assert.equal("credentials" in body.identity, false);
    assert.equal("metadata_admin" in body.identity, false);
  });

  test("X-Session-Token wins over the cookie, the cookie over Bearer (no fallback)", async () => {
    const a = await h.login(await h.createIdentity());
    const b = await h.login(await h.createIdentity());
    let res = await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": a.token, cookie: `ory_kratos_session=${b.token}` } });
    assert.equal(res.json().id, a.session.id);
    res = await h.public.inject({ url: "/sessions/whoami", headers: { cookie: `ory_kratos_session=${b.token}`, authorization: `Bearer ${a.token}` } });
    assert.equal(res.json().id, b.session.id);
    res = await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": "ory_st_bogus", authorization: `Bearer ${a.token}` } });
    assert.equal(res.statusCode, 401);
  });

  test("identical 401 for missing, unknown, malformed, expired, revoked token and inactive identity", async () => {
    const identity = await h.createIdentity();
    const expiring = await h.login(identity);
    const revoked = await h.login(identity);
    await h.sessions.revoke(revoked.session.id);
    const other = await h.createIdentity();
    const disabled = await h.login(other);
    await h.repo.update({ ...other, state: "inactive" });

    const cases: Record<string, Record<string, string>> = {
      missing: {},
      unknown: { "x-session-token": "ory_st_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      malformed: { authorization: "Bearer" },
      revoked: { "x-session-token": revoked.token },
      "identity inactive": { cookie: `ory_kratos_session=${disabled.token}` },
    };
    const seen = new Set<string>();
    const check = async (name: string, headers: Record<string, string>) => {
      const res = await h.public.inject({ url: "/sessions/whoami", headers });
      assert.equal(res.statusCode, 401, name);
      assert.deepEqual(res.json(), INACTIVE, name);
      assert.equal(res.headers["x-kratos-authenticated-identity-id"], undefined);
      seen.add(res.body);
    };
    for (const [name, headers] of Object.entries(cases)) await check(name, headers);
    assert.equal((await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": expiring.token } })).statusCode, 200);
    h.clock.advance(24 * HOUR + 1);
    try {
      await check("expired", { "x-session-token": expiring.token });
    } finally {
      h.clock.advance(-(24 * HOUR + 1));
    }
    assert.equal(seen.size, 1, "byte-identical bodies");
  });

  test("identity deleted through the repository: its token gets 401", async () => {
    const identity = await h.createIdentity();
    const { token } = await h.login(identity);
    assert.equal((await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": token } })).statusCode, 200);
    await h.repo.delete(identity.id);
    const res = await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": token } });
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), INACTIVE);
  });

  test("a planted cookie is never adopted: authenticating issues a different token", async () => {
    const identity = await h.createIdentity();
    const planted = "ory_st_PlantedByAnAttacker0000000000";
    const { token } = await h.login(identity);
    assert.notEqual(token, planted);
    assert.equal((await h.public.inject({ url: "/sessions/whoami", headers: { cookie: `ory_kratos_session=${planted}` } })).statusCode, 401);
  });
});

describe("session cookie", () => {
  /** Set-Cookie headers written by a real Fastify reply through the service. */
  async function cookiesFrom(svc: SessionService, token: string, session: SessionRecord): Promise<string[]> {
    const app = Fastify();
    app.get("/set", async (_req, reply) => {
      svc.setCookie(reply, token, session);
      svc.clearCookie(reply);
      return {};
    });
    const res = await app.inject({ url: "/set" });
    await app.close();
    const v = res.headers["set-cookie"];
    return Array.isArray(v) ? v : [String(v)];
  }

  test("HttpOnly, SameSite from config, persistent, no Secure in dev; cleared with Max-Age=0", async () => {
    const { token, session } = await h.login(await h.createIdentity());
    const [set, clear] = await cookiesFrom(h.sessions, token, session);
    assert.match(set, new RegExp(`^ory_kratos_session=${token}; Expires=[^;]+ GMT; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax$`));
    assert.equal(new Date(/Expires=([^;]+)/.exec(set)?.[1] ?? "").getTime(), Math.floor(Date.parse(session.expires_at) / 1000) * 1000);
    assert.match(clear, /^ory_kratos_session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax$/);
    const res = await h.public.inject({ url: "/sessions/whoami", headers: { cookie: set.split(";")[0] } });
    assert.equal(res.statusCode, 200, "the cookie as a browser sends it back authenticates");
  });

  test("Secure over https outside dev; a session cookie when not persistent", async () => {
    const prod = await createSessionHarness({ persistent: false });
    try {
      const svc = createSessionService({ database: prod.database, repo: prod.repo, clock: prod.clock, config: prod.config, publicBaseUrl: "https://auth.example.com/", dev: false });
      const { token, session } = await prod.login(await prod.createIdentity());
      const [set] = await cookiesFrom(svc, token, session);
      assert.equal(set, `ory_kratos_session=${token}; Path=/; HttpOnly; Secure; SameSite=Lax`);
    } finally {
      await prod.close();
    }
  });
});
