import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FrontendApi, Session } from "@ory/kratos-client";
import { killAll, startMigratedServer, type MigratedServer } from "./helpers.ts";
import { CookieJar, csrfTokenOf, frontendApi, httpError, inputNode, kratosError, messageIds, postForm, rejected, startBrowserFlow, UI } from "./frontend-helpers.ts";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/**
 * Black box: the self-service API of a real `tessera serve` (child process, SQLite file, free ports) driven by Ory's
 * own `@ory/kratos-client` 26.2.0 `FrontendApi`, plus `fetch` with a cookie jar where a browser itself acts. Asserts
 * status codes, Kratos error ids and UI message ids. The expiry suite runs the same app in-process on a listening
 * port with the manual clock, so flows expire without sleeping.
 */

const PASSWORD = "correct horse battery staple";
const SESSION_COOKIE = "ory_kratos_session";
const newEmail = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}@example.com`;

const SELF_SERVICE = {
  default_browser_return_url: `${UI}/welcome`,
  allowed_return_urls: [`${UI}/dashboard`],
  methods: { password: { enabled: true, config: { haveibeenpwned_enabled: false } } },
  flows: {
    error: { ui_url: `${UI}/error` },
    login: { ui_url: `${UI}/login` },
    registration: { ui_url: `${UI}/registration`, after: { password: { hooks: [{ hook: "session" }] } } },
    logout: { after: { default_browser_return_url: `${UI}/logged-out` } },
    // Kratos's default. Tessera enables verification by default so that registration can hide existing accounts,
    // which defers the session until the address is verified (test/security/enumeration-registration.test.ts);
    // this suite checks the Kratos-compatible immediate sign-in.
    verification: { enabled: false },
  },
};

async function registerApi(sdk: FrontendApi, email: string, password: string): Promise<{ token: string; session: Session }> {
  const { data: flow } = await sdk.createNativeRegistrationFlow();
  const { data } = await sdk.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: "password", password, traits: { email } } });
  assert.equal(data.identity.traits.email, email);
  assert.match(data.session_token ?? "", /^ory_st_[A-Za-z0-9]{32}$/);
  assert.deepEqual(data.continue_with, [{ action: "set_ory_session_token", ory_session_token: data.session_token }]);
  return { token: data.session_token!, session: data.session! };
}

async function loginApi(sdk: FrontendApi, identifier: string, password: string): Promise<{ token: string; session: Session }> {
  const { data: flow } = await sdk.createNativeLoginFlow();
  const { data } = await sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: "password", identifier, password } });
  assert.match(data.session_token ?? "", /^ory_st_[A-Za-z0-9]{32}$/);
  return { token: data.session_token!, session: data.session };
}

/** Submits a login through the API flow and returns the 400 flow's message ids. */
async function failedLoginIds(sdk: FrontendApi, identifier: string, password: string): Promise<number[]> {
  const { data: flow } = await sdk.createNativeLoginFlow();
  const e = httpError(await rejected(sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: "password", identifier, password } })));
  assert.equal(e.status, 400);
  return messageIds(e.data as typeof flow);
}

/** A browser signs in the way the reference UI makes it: 303 init, flow fetched by the SDK, plain form post. */
async function browserLogin(sdk: FrontendApi, publicUrl: string, email: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const { id } = await startBrowserFlow(publicUrl, "login", jar);
  const { data: flow } = await sdk.getLoginFlow({ id, cookie: jar.header() });
  const res = await postForm(flow.ui.action, jar, { csrf_token: csrfTokenOf(flow), method: "password", identifier: email, password: PASSWORD });
  assert.equal(res.status, 303, await res.text());
  assert.equal(res.headers.get("location"), `${UI}/welcome`);
  assert.ok(jar.get(SESSION_COOKIE));
  return jar;
}

async function expectSessionInactive(p: Promise<unknown>): Promise<void> {
  const { status, error } = kratosError(await rejected(p));
  assert.equal(status, 401);
  assert.equal(error.id, "session_inactive");
}

describe("self-service flows and sessions through FrontendApi against `tessera serve`", { timeout: 90_000 }, () => {
  let server: MigratedServer;
  let sdk: FrontendApi;

  before(async () => {
    server = await startMigratedServer({ selfservice: SELF_SERVICE });
    sdk = frontendApi(server.publicUrl);
  });
  after(async () => {
    await killAll();
    await server?.dir.remove();
  });

  test("API registration and login; whoami by token (all three places Kratos reads it); wrong password and duplicate", async () => {
    const email = newEmail("api");
    const reg = await registerApi(sdk, email, PASSWORD);
    const login = await loginApi(sdk, email.toUpperCase(), PASSWORD);
    assert.notEqual(login.token, reg.token);
    assert.equal(login.session.identity?.id, reg.session.identity?.id);
    assert.equal(login.session.authenticator_assurance_level, "aal1");
    assert.equal(login.session.authentication_methods?.[0]?.method, "password");

    const who = await sdk.toSession({ xSessionToken: login.token });
    assert.equal(who.status, 200);
    assert.equal(who.data.id, login.session.id);
    assert.equal(who.headers["x-kratos-authenticated-identity-id"], reg.session.identity?.id);
    const bearer = await sdk.toSession({}, { headers: { authorization: `Bearer ${login.token}` } });
    assert.equal(bearer.data.id, login.session.id);
    await expectSessionInactive(sdk.toSession({ xSessionToken: "ory_st_invalidinvalidinvalidinvalid00" }));
    await expectSessionInactive(sdk.toSession());

    assert.deepEqual(await failedLoginIds(sdk, email, "wrong password entirely"), [4000006]);
    assert.deepEqual(await failedLoginIds(sdk, newEmail("nobody"), PASSWORD), [4000006]);
    const { data: flow } = await sdk.createNativeRegistrationFlow();
    const dup = httpError(await rejected(sdk.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: "password", password: PASSWORD, traits: { email } } })));
    assert.equal(dup.status, 400);
    assert.deepEqual(messageIds(dup.data as typeof flow), [4000007]);
    const short = httpError(await rejected(sdk.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: "password", password: "short", traits: { email: newEmail("s") } } })));
    assert.equal(short.status, 400);
    assert.ok(messageIds(short.data as typeof flow).includes(4000032));
    // An API flow refuses a request that looks like a browser's (carries cookies).
    const { data: lf } = await sdk.createNativeLoginFlow();
    const withCookie = kratosError(await rejected(sdk.updateLoginFlow({ flow: lf.id, cookie: "a=b", updateLoginFlowBody: { method: "password", identifier: email, password: PASSWORD } })));
    assert.equal(withCookie.status, 400);
    assert.equal(withCookie.error.id, "bad_request");
  });

  test("browser registration by form post (303 + cookie), browser login by SDK JSON; whoami by cookie", async () => {
    const email = newEmail("browser");
    const jar = new CookieJar();
    const reg = await startBrowserFlow(server.publicUrl, "registration", jar);
    assert.ok(reg.location.startsWith(`${UI}/registration?flow=`));
    assert.ok([...jar.cookies.keys()].some((k) => k.startsWith("csrf_token_")), "the CSRF cookie is set by the 303");
    const { data: regFlow } = await sdk.getRegistrationFlow({ id: reg.id, cookie: jar.header() });
    assert.equal(regFlow.type, "browser");
    const posted = await postForm(regFlow.ui.action, jar, { csrf_token: csrfTokenOf(regFlow), method: "password", password: PASSWORD, "traits.email": email });
    assert.equal(posted.status, 303, await posted.text());
    assert.equal(posted.headers.get("location"), `${UI}/welcome`);
    assert.ok(jar.get(SESSION_COOKIE), "the session hook set the session cookie");
    const who = await sdk.toSession({ cookie: jar.header() });
    assert.equal(who.data.identity?.traits.email, email);

    // A second browser logs in with the SDK as a server-side UI would (JSON, forwarding the browser's cookies).
    const jar2 = new CookieJar();
    const init = await sdk.createBrowserLoginFlow({ cookie: jar2.header() });
    jar2.take(init);
    assert.equal(init.data.type, "browser");
    assert.equal(inputNode(init.data, "identifier").meta.label?.id, 1070002);
    const done = await sdk.updateLoginFlow({ flow: init.data.id, cookie: jar2.header(), updateLoginFlowBody: { method: "password", identifier: email, password: PASSWORD, csrf_token: csrfTokenOf(init.data) } });
    jar2.take(done);
    assert.equal(done.data.session_token, undefined, "browser flows never answer a session token");
    assert.deepEqual(done.data.continue_with, [{ action: "redirect_browser_to", redirect_browser_to: `${UI}/welcome` }]);
    const who2 = await sdk.toSession({ cookie: jar2.header() });
    assert.equal(who2.data.id, done.data.session.id);
    assert.notEqual(who2.data.id, who.data.id);
    // Signed in: a new login flow is refused for JSON clients (browsers are sent on).
    const again = kratosError(await rejected(sdk.createBrowserLoginFlow({ cookie: jar2.header() })));
    assert.equal(again.status, 400);
    assert.equal(again.error.id, "session_already_available");
  });

  test("list and revoke sessions", async () => {
    const email = newEmail("sessions");
    const first = await registerApi(sdk, email, PASSWORD);
    const second = await loginApi(sdk, email, PASSWORD);
    const third = await loginApi(sdk, email, PASSWORD);
    const stranger = await registerApi(sdk, newEmail("stranger"), PASSWORD);

    const listed = await sdk.listMySessions({ xSessionToken: first.token });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.data.map((s) => s.id).sort(), [second.session.id, third.session.id].sort(), "the other sessions, not the current one");
    assert.ok(listed.data.every((s) => s.active && s.identity?.id === first.session.identity?.id));

    assert.equal((await sdk.disableMySession({ id: second.session.id, xSessionToken: first.token })).status, 204);
    await expectSessionInactive(sdk.toSession({ xSessionToken: second.token }));
    const own = kratosError(await rejected(sdk.disableMySession({ id: first.session.id, xSessionToken: first.token })));
    assert.equal(own.status, 400);
    assert.equal(own.error.id, "bad_request");
    const foreign = kratosError(await rejected(sdk.disableMySession({ id: stranger.session.id, xSessionToken: first.token })));
    assert.equal(foreign.status, 404);
    assert.equal(foreign.error.id, "not_found");
    assert.equal((await sdk.toSession({ xSessionToken: stranger.token })).status, 200, "another identity's session is untouched");

    const others = await sdk.disableMyOtherSessions({ xSessionToken: first.token });
    assert.deepEqual(others.data, { count: 1 });
    await expectSessionInactive(sdk.toSession({ xSessionToken: third.token }));
    assert.equal((await sdk.toSession({ xSessionToken: first.token })).data.id, first.session.id);
    assert.deepEqual((await sdk.listMySessions({ xSessionToken: first.token })).data, []);
    await expectSessionInactive(sdk.listMySessions({ xSessionToken: third.token }));
  });

  test("logout both ways: API (session token) and browser (logout URL by SDK and by following it)", async () => {
    const email = newEmail("logout");
    const api = await registerApi(sdk, email, PASSWORD);
    assert.equal((await sdk.performNativeLogout({ performNativeLogoutBody: { session_token: api.token } })).status, 204);
    await expectSessionInactive(sdk.toSession({ xSessionToken: api.token }));
    // A revoked token is still a known token: 204 again (Kratos's UPDATE matches the row on SQLite and PostgreSQL).
    assert.equal((await sdk.performNativeLogout({ performNativeLogoutBody: { session_token: api.token } })).status, 204);
    const unknown = kratosError(await rejected(sdk.performNativeLogout({ performNativeLogoutBody: { session_token: "ory_st_unknownunknownunknownunknown0" } })));
    assert.equal(unknown.status, 403);
    assert.equal(unknown.error.id, "forbidden");

    // The SDK (Accept: application/json) gets 204 and the cookie cleared.
    const jar = await browserLogin(sdk, server.publicUrl, email);
    await expectSessionInactive(sdk.createBrowserLogoutFlow());
    const { data: logout } = await sdk.createBrowserLogoutFlow({ cookie: jar.header() });
    assert.match(logout.logout_token, /^ory_lo_[A-Za-z0-9]{32}$/);
    assert.equal(logout.logout_url, `${server.publicUrl}/self-service/logout?token=${logout.logout_token}`);
    const wrong = kratosError(await rejected(sdk.updateLogoutFlow({ token: "ory_lo_wrongwrongwrongwrongwrongwrong", cookie: jar.header() })));
    assert.equal(wrong.status, 403);
    assert.equal(wrong.error.id, "forbidden");
    const out = await sdk.updateLogoutFlow({ token: logout.logout_token, cookie: jar.header() });
    assert.equal(out.status, 204);
    const before = jar.header();
    jar.take(out);
    assert.equal(jar.get(SESSION_COOKIE), undefined, "the session cookie is cleared");
    await expectSessionInactive(sdk.toSession({ cookie: before }));

    // A browser follows the logout URL (with an allowed return_to): 303 there, session revoked.
    const jar2 = await browserLogin(sdk, server.publicUrl, email);
    const { data: logout2 } = await sdk.createBrowserLogoutFlow({ cookie: jar2.header(), returnTo: `${UI}/dashboard/bye` });
    const cookie2 = jar2.header();
    const followed = await fetch(logout2.logout_url, { redirect: "manual", headers: { cookie: cookie2, accept: "text/html" } });
    assert.equal(followed.status, 303);
    assert.equal(followed.headers.get("location"), `${UI}/dashboard/bye`);
    jar2.take(followed);
    assert.equal(jar2.get(SESSION_COOKIE), undefined);
    await expectSessionInactive(sdk.toSession({ cookie: cookie2 }));
  });

  test("CSRF refused: missing token, token of another browser, cookie of another browser (403 security_csrf_violation)", async () => {
    const email = newEmail("csrf");
    await registerApi(sdk, email, PASSWORD);
    const victim = new CookieJar();
    const attacker = new CookieJar();
    const victimInit = await sdk.createBrowserLoginFlow();
    victim.take(victimInit);
    const flow = victimInit.data;
    const attackerInit = await sdk.createBrowserLoginFlow();
    attacker.take(attackerInit);
    const attackerFlow = attackerInit.data;
    const body = { method: "password" as const, identifier: email, password: PASSWORD };
    const attempts = [
      sdk.updateLoginFlow({ flow: flow.id, cookie: victim.header(), updateLoginFlowBody: body }),
      sdk.updateLoginFlow({ flow: flow.id, cookie: victim.header(), updateLoginFlowBody: { ...body, csrf_token: csrfTokenOf(attackerFlow) } }),
      sdk.updateLoginFlow({ flow: flow.id, cookie: attacker.header(), updateLoginFlowBody: { ...body, csrf_token: csrfTokenOf(attackerFlow) } }),
      sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { ...body, csrf_token: csrfTokenOf(flow) } }),
    ];
    for (const p of attempts) {
      const { status, error } = kratosError(await rejected(p));
      assert.equal(status, 403);
      assert.equal(error.id, "security_csrf_violation");
    }
    // Another browser cannot even read the flow.
    const read = kratosError(await rejected(sdk.getLoginFlow({ id: flow.id, cookie: attacker.header() })));
    assert.equal(read.status, 403);
    assert.equal(read.error.id, "security_csrf_violation");
    // The refused attempts changed nothing: the right browser still signs in with that flow.
    const ok = await sdk.updateLoginFlow({ flow: flow.id, cookie: victim.header(), updateLoginFlowBody: { ...body, csrf_token: csrfTokenOf(flow) } });
    assert.equal(ok.status, 200);
  });

  test("return_to refused unless allowed by whole path segments (400 self_service_flow_return_to_forbidden)", async () => {
    for (const returnTo of ["https://evil.example.com/", `${UI}/dashboard-evil`, "//evil.example.com/x", `http://127.0.0.1:4456/dashboard`]) {
      // Each call is handed to `rejected` as it starts: a rejection waiting unobserved would be an unhandled one.
      const calls = [sdk.createBrowserLoginFlow({ returnTo }), sdk.createNativeLoginFlow({ returnTo }), sdk.createBrowserRegistrationFlow({ returnTo })].map(rejected);
      for (const e of await Promise.all(calls)) {
        const { status, error } = kratosError(e);
        assert.equal(status, 400, returnTo);
        assert.equal(error.id, "self_service_flow_return_to_forbidden", returnTo);
      }
    }
    const allowed = await sdk.createBrowserLoginFlow({ returnTo: `${UI}/dashboard/settings` });
    assert.equal(allowed.data.return_to, `${UI}/dashboard/settings`);
    const email = newEmail("rt");
    await registerApi(sdk, email, PASSWORD);
    const jar = await browserLogin(sdk, server.publicUrl, email);
    const logoutRefused = kratosError(await rejected(sdk.createBrowserLogoutFlow({ cookie: jar.header(), returnTo: `${UI}/dashboard-evil` })));
    assert.equal(logoutRefused.status, 400);
    assert.equal(logoutRefused.error.id, "self_service_flow_return_to_forbidden");
  });

  test("passwords: 64 characters, a passphrase with spaces, emoji; é precomposed = decomposed; case matters", async () => {
    const cases = [
      "Aa1-".repeat(16),
      "  the quick brown fox   jumps over the lazy dog  ",
      "🦄🌈🔐🎉🍕🚀🐙🌵👩‍👩‍👧🏽",
    ];
    assert.equal(cases[0].length, 64);
    for (const password of cases) {
      const email = newEmail("pw");
      const reg = await registerApi(sdk, email, password);
      const login = await loginApi(sdk, email, password);
      assert.equal(login.session.identity?.id, reg.session.identity?.id, JSON.stringify(password));
      assert.deepEqual(await failedLoginIds(sdk, email, `${password}x`), [4000006]);
    }
    const nfc = "Caf\u00e9 au lait, s'il vous pla\u00eet";
    const nfd = nfc.normalize("NFD");
    assert.notEqual(nfc, nfd);
    assert.ok(nfd.includes("e\u0301"));
    const email = newEmail("unicode");
    await registerApi(sdk, email, nfc);
    await loginApi(sdk, email, nfd);
    await loginApi(sdk, email, nfc);
    const email2 = newEmail("unicode2");
    await registerApi(sdk, email2, nfd);
    await loginApi(sdk, email2, nfc);

    const mixed = "Horse Battery Staple Correct";
    const email3 = newEmail("case");
    await registerApi(sdk, email3, mixed);
    for (const variant of [mixed.toUpperCase(), mixed.toLowerCase(), "hORSE bATTERY sTAPLE cORRECT"]) {
      assert.deepEqual(await failedLoginIds(sdk, email3, variant), [4000006], variant);
    }
    await loginApi(sdk, email3, mixed);
  });
});

describe("expired flows through FrontendApi (in-process server, manual clock, lifespan 1s)", { timeout: 30_000 }, () => {
  let t: TestApp;
  let sdk: FrontendApi;
  let base: string;
  const email = newEmail("expiry");

  before(async () => {
    t = await createTestApp({ config: { selfservice: { flows: { login: { lifespan: "1s" }, registration: { lifespan: "1s" } } } } });
    await t.app.public.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(t.app.public.server.address() as AddressInfo).port}`;
    sdk = frontendApi(base);
    await registerApi(sdk, email, PASSWORD);
  });
  after(() => t?.close());

  test("API login: 410 self_service_flow_expired with use_flow_id; the new flow says 4010001 and works", async () => {
    const { data: flow } = await sdk.createNativeLoginFlow();
    t.clock.advance(1001);
    const gone = kratosError(await rejected(sdk.getLoginFlow({ id: flow.id })));
    assert.equal(gone.status, 410);
    assert.equal(gone.error.id, "self_service_flow_expired");
    const e = kratosError(await rejected(sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: "password", identifier: email, password: PASSWORD } })));
    assert.equal(e.status, 410);
    assert.equal(e.error.id, "self_service_flow_expired");
    const useFlowId = String(e.body.use_flow_id ?? "");
    assert.ok(useFlowId && useFlowId !== flow.id);
    assert.equal(e.body.expired_at, flow.expires_at);
    const { data: fresh } = await sdk.getLoginFlow({ id: useFlowId });
    assert.deepEqual(fresh.ui.messages?.map((m) => m.id), [4010001]);
    const ok = await sdk.updateLoginFlow({ flow: fresh.id, updateLoginFlowBody: { method: "password", identifier: email, password: PASSWORD } });
    assert.match(ok.data.session_token ?? "", /^ory_st_/);
  });

  test("API registration: 410 with use_flow_id; the new flow says 4040001", async () => {
    const { data: flow } = await sdk.createNativeRegistrationFlow();
    t.clock.advance(1001);
    const e = kratosError(await rejected(sdk.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: "password", password: PASSWORD, traits: { email: newEmail("late") } } })));
    assert.equal(e.status, 410);
    assert.equal(e.error.id, "self_service_flow_expired");
    const { data: fresh } = await sdk.getRegistrationFlow({ id: String(e.body.use_flow_id) });
    assert.deepEqual(fresh.ui.messages?.map((m) => m.id), [4040001]);
  });

  test("browser login: the SDK gets 410 with use_flow_id; a form post is sent (303) to the new flow", async () => {
    const jar = new CookieJar();
    const { id } = await startBrowserFlow(base, "login", jar);
    const { data: flow } = await sdk.getLoginFlow({ id, cookie: jar.header() });
    t.clock.advance(1001);
    const fields = { method: "password", identifier: email, password: PASSWORD, csrf_token: csrfTokenOf(flow) };
    const e = kratosError(await rejected(sdk.updateLoginFlow({ flow: id, cookie: jar.header(), updateLoginFlowBody: { ...fields, method: "password" } })));
    assert.equal(e.status, 410);
    assert.equal(e.error.id, "self_service_flow_expired");
    const res = await postForm(`${base}/self-service/login?flow=${id}`, jar, fields);
    assert.equal(res.status, 303);
    const next = new URL(res.headers.get("location") ?? "");
    assert.equal(`${next.origin}${next.pathname}`, `${UI}/login`);
    const newId = next.searchParams.get("flow") ?? "";
    assert.ok(newId && newId !== id);
    const { data: fresh } = await sdk.getLoginFlow({ id: newId, cookie: jar.header() });
    assert.deepEqual(fresh.ui.messages?.map((m) => m.id), [4010001]);
    assert.equal(jar.get(SESSION_COOKIE), undefined, "an expired flow signs nobody in");
  });
});
