import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { codec } from "../../src/persistence/codec.ts";
import { newId } from "../../src/util/ids.ts";
import { createAddressStore } from "../../src/strategies/code/addresses.ts";
import { csrfOf, Jar, json, node, type Json } from "./harness.ts";
import { createSettingsApp, loginApi, settingsApiFlow, signUp, submitSettings, type SettingsApp } from "./settings-harness.ts";

const PASSWORD = "correct horse battery staple";

/** Replaces what legitimately differs between two answers: ids, times, CSRF masks and the two submitted addresses. */
function scrub(body: string, ...values: string[]): string {
  let out = body
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>");
  for (const v of values) out = out.replaceAll(v, "<value>");
  return out;
}

async function browserLogin(pub: FastifyInstance, jar: Jar, email: string): Promise<void> {
  const init = await pub.inject({ method: "GET", url: "/self-service/login/browser", headers: { accept: "application/json", cookie: jar.header() } });
  jar.take(init);
  const flow = json(init);
  const res = await pub.inject({
    method: "POST",
    url: `/self-service/login?flow=${flow.id}`,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    payload: new URLSearchParams({ method: "password", csrf_token: csrfOf(flow), identifier: email, password: PASSWORD }).toString(),
  });
  assert.equal(res.statusCode, 303, res.body);
  jar.take(res);
}

async function browserSettings(pub: FastifyInstance, jar: Jar): Promise<Json> {
  const res = await pub.inject({ method: "GET", url: "/self-service/settings/browser", headers: { accept: "application/json", cookie: jar.header() } });
  assert.equal(res.statusCode, 200, res.body);
  jar.take(res);
  return json(res);
}

const postForm = (pub: FastifyInstance, jar: Jar, flow: Json, fields: Record<string, string>) =>
  pub.inject({
    method: "POST",
    url: `/self-service/settings?flow=${flow.id}`,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    payload: new URLSearchParams(fields).toString(),
  });

describe("settings: profile, browser forms, enumeration (HTTP)", () => {
  let s: SettingsApp;
  before(async () => {
    s = await createSettingsApp({ selfservice: { flows: { settings: { lifespan: "3h", after: { profile: { hooks: [{ hook: "show_verification_ui" }] } } }, verification: { enabled: true } } } });
  });
  after(() => s.close());

  async function markVerified(email: string): Promise<void> {
    // Through the address store, as a verification flow does (it keeps the identity's copy of its addresses current).
    const addresses = createAddressStore(s.t.app.deps.database);
    const found = await addresses.findVerifiable(email);
    assert.ok(found, email);
    await addresses.markVerified(found.id, new Date());
  }

  it("schema violations carry Kratos ids on the trait nodes; values are echoed; nothing changes", async () => {
    const token = await signUp(s.pub, "schema@example.com", PASSWORD);
    const flow = await settingsApiFlow(s.pub, token);
    let res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "not-an-email" } });
    assert.equal(res.statusCode, 400);
    let body = json(res);
    assert.deepEqual(node(body, "traits.email").messages.map((m: Json) => m.id), [4000040]);
    assert.equal(node(body, "traits.email").attributes.value, "not-an-email");
    res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "schema@example.com", name: { first: 7 } } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(node(json(res), "traits.name.first").messages.map((m: Json) => m.id), [4000026]);
    res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { name: { first: "Ann" } } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(node(json(res), "traits.email").messages.map((m: Json) => m.id), [4000002]);
    res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: "email" });
    assert.equal(res.statusCode, 400);
    body = json(res);
    assert.ok(body.ui.messages.length > 0);
    const id = await s.t.app.deps.repo.findByCredentialIdentifier("password", "schema@example.com");
    assert.deepEqual(id?.traits, { email: "schema@example.com" });
  });

  it("a plain trait changes with any session, even past privileged_session_max_age", async () => {
    const token = await signUp(s.pub, "plain@example.com", PASSWORD);
    const flow = await settingsApiFlow(s.pub, token);
    s.t.clock.advance(2 * 3600_000);
    const res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "plain@example.com", name: { first: "Ann" } } });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.state, "success");
    assert.deepEqual(body.ui.messages.map((m: Json) => m.id), [1050001]);
    assert.equal(body.identity.traits.name.first, "Ann");
    assert.equal(node(body, "traits.name.first").attributes.value, "Ann");
    // The email is protected: the same stale session may not change it.
    const again = await settingsApiFlow(s.pub, token);
    const refused = await submitSettings(s.pub, again.id, token, { method: "profile", traits: { email: "plain2@example.com" } });
    assert.equal(refused.statusCode, 403);
    assert.equal(json(refused).error.id, "session_refresh_required");
  });

  it("changing the email resets its verification and queues a verification message to the new address", async () => {
    const token = await signUp(s.pub, "mover@example.com", PASSWORD);
    await markVerified("mover@example.com");
    const flow = await settingsApiFlow(s.pub, token);
    assert.equal(flow.identity.verifiable_addresses[0].verified, true);
    const res = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "Moved@Example.com " } });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.identity.traits.email, "moved@example.com");
    assert.deepEqual(body.identity.verifiable_addresses.map((a: Json) => [a.value, a.verified, a.status]), [["moved@example.com", false, "pending"]]);
    const msgs = await s.messages();
    assert.ok(msgs.some(([t, r]) => /^verification/.test(t) && r === "moved@example.com"), JSON.stringify(msgs));
    // Until it is verified, a password login by the new address is held back (answered as a wrong password): a
    // session would tell that the address was free, since a taken one is never stored.
    const held = await loginApi(s.pub, "moved@example.com", PASSWORD);
    assert.equal(held.token, undefined);
    assert.equal(held.res.statusCode, 400);
    await markVerified("moved@example.com");
    assert.ok((await loginApi(s.pub, "moved@example.com", PASSWORD)).token, "the new address is the login identifier");
    assert.equal((await loginApi(s.pub, "mover@example.com", PASSWORD)).token, undefined);
  });

  it("an address of another account: the same answer as a free one, nothing stored, the owner is told", async () => {
    await signUp(s.pub, "owner@example.com", PASSWORD);
    const a = await signUp(s.pub, "prober-a@example.com", PASSWORD);
    const b = await signUp(s.pub, "prober-b@example.com", PASSWORD);
    const seen = await s.messages();

    const fa = await settingsApiFlow(s.pub, a);
    const taken = await submitSettings(s.pub, fa.id, a, { method: "profile", traits: { email: "owner@example.com" } });
    const fb = await settingsApiFlow(s.pub, b);
    const free = await submitSettings(s.pub, fb.id, b, { method: "profile", traits: { email: "nobody-yet@example.com" } });

    assert.equal(taken.statusCode, 200, taken.body);
    assert.equal(free.statusCode, taken.statusCode);
    assert.equal(
      scrub(taken.body, "owner@example.com", "prober-a@example.com"),
      scrub(free.body, "nobody-yet@example.com", "prober-b@example.com"),
    );
    // Not stored: A still signs in with its own address, the owner keeps theirs.
    assert.ok((await loginApi(s.pub, "prober-a@example.com", PASSWORD)).token);
    const owner = await s.t.app.deps.repo.findByCredentialIdentifier("password", "owner@example.com");
    assert.equal(owner?.traits.email, "owner@example.com");
    // One message to each submitted address: a notice to the owner, a verification to the free address.
    // A multiset difference: the manual clock gives rows of one test the same created_at, so no order is reliable.
    const queued = [...(await s.messages())];
    for (const m of seen) queued.splice(queued.findIndex(([t, r]) => t === m[0] && r === m[1]), 1);
    assert.deepEqual(queued.filter(([, r]) => r === "owner@example.com").map(([t]) => t), ["registration_attempt"]);
    assert.equal(queued.filter(([, r]) => r === "nobody-yet@example.com").length, 1);
  });

  it("browser: form posts 303 back to the UI; CSRF refused; stale session sent to login refresh=true and back", async () => {
    await signUp(s.pub, "browser@example.com", PASSWORD);
    const jar = new Jar();
    await browserLogin(s.pub, jar, "browser@example.com");
    const flow = await browserSettings(s.pub, jar);
    assert.equal(flow.type, "browser");

    const forged = await postForm(s.pub, jar, flow, { method: "profile", csrf_token: "x".repeat(64), "traits.email": "browser@example.com", "traits.name.first": "Eve" });
    assert.equal(forged.statusCode, 303);
    assert.match(String(forged.headers.location), /^http:\/\/127\.0\.0\.1:4455\/error\?id=/);
    const noCookie = await s.pub.inject({
      method: "POST",
      url: `/self-service/settings?flow=${flow.id}`,
      headers: { "content-type": "application/json", accept: "application/json", cookie: `ory_kratos_session=${jar.cookies.get("ory_kratos_session")}` },
      payload: { method: "profile", csrf_token: csrfOf(flow), traits: { email: "browser@example.com", name: { first: "Eve" } } },
    });
    assert.equal(noCookie.statusCode, 403);
    assert.equal(json(noCookie).error.id, "security_csrf_violation");

    const ok = await postForm(s.pub, jar, flow, { method: "profile", csrf_token: csrfOf(flow), "traits.email": "browser@example.com", "traits.name.first": "Bea" });
    assert.equal(ok.statusCode, 303, ok.body);
    assert.equal(ok.headers.location, `http://127.0.0.1:4455/settings?flow=${flow.id}`);
    const id = await s.t.app.deps.repo.findByCredentialIdentifier("password", "browser@example.com");
    assert.equal((id?.traits.name as Json).first, "Bea", "only the CSRF-valid post changed anything");

    s.t.clock.advance(61 * 60_000);
    const fresh = await browserSettings(s.pub, jar);
    const stale = await postForm(s.pub, jar, fresh, { method: "password", csrf_token: csrfOf(fresh), password: "another long passphrase 9" });
    assert.equal(stale.statusCode, 303);
    const to = new URL(String(stale.headers.location));
    assert.equal(`${to.origin}${to.pathname}`, "http://127.0.0.1:4433/self-service/login/browser");
    assert.equal(to.searchParams.get("refresh"), "true");
    assert.equal(to.searchParams.get("return_to"), `http://127.0.0.1:4455/settings?flow=${fresh.id}`);
    // Following it: the refresh login flow accepts the return_to and sends the browser back to the settings flow.
    const refresh = await s.pub.inject({ method: "GET", url: to.pathname + to.search, headers: { accept: "application/json", cookie: jar.header() } });
    assert.equal(refresh.statusCode, 200, refresh.body);
    const lf = json(refresh);
    const back = await s.pub.inject({
      method: "POST",
      url: `/self-service/login?flow=${lf.id}`,
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
      payload: new URLSearchParams({ method: "password", csrf_token: csrfOf(lf), identifier: "browser@example.com", password: PASSWORD }).toString(),
    });
    assert.equal(back.statusCode, 303, back.body);
    assert.equal(back.headers.location, `http://127.0.0.1:4455/settings?flow=${fresh.id}`);
    jar.take(back);
    const done = await postForm(s.pub, jar, fresh, { method: "password", csrf_token: csrfOf(fresh), password: "another long passphrase 9" });
    assert.equal(done.statusCode, 303, done.body);
    assert.equal(done.headers.location, `http://127.0.0.1:4455/settings?flow=${fresh.id}`);
  });

  it("an expired flow: 410 with use_flow_id, and the replacement flow carries 4050001", async () => {
    const token = await signUp(s.pub, "late@example.com", PASSWORD);
    const flow = await settingsApiFlow(s.pub, token);
    s.t.clock.advance(3 * 3600_000 + 1000);
    const fresh = await loginApi(s.pub, "late@example.com", PASSWORD);
    assert.ok(fresh.token);
    const res = await submitSettings(s.pub, flow.id, fresh.token, { method: "profile", traits: { email: "late@example.com", name: { first: "L" } } });
    assert.equal(res.statusCode, 410);
    const body = json(res);
    assert.equal(body.error.id, "self_service_flow_expired");
    const next = await s.pub.inject({ method: "GET", url: `/self-service/settings/flows?id=${body.use_flow_id}`, headers: { "x-session-token": fresh.token } });
    assert.equal(next.statusCode, 200);
    assert.deepEqual(json(next).ui.messages.map((m: Json) => m.id), [4050001]);
  });

  it("required_aal highest_available: a second factor on the identity makes an aal1 session step up (403 / redirect)", async () => {
    const token = await signUp(s.pub, "mfa@example.com", PASSWORD);
    const identity = await s.t.app.deps.repo.findByCredentialIdentifier("password", "mfa@example.com");
    assert.ok(identity);
    const now = new Date().toISOString();
    await s.t.app.deps.database.db
      .insertInto("identity_credentials")
      .values({ id: newId(), identity_id: identity.id, type: "totp", config: codec.json({ totp_url: "otpauth://totp/x" }), version: 0, created_at: now, updated_at: now })
      .execute();
    const res = await s.pub.inject({ method: "GET", url: "/self-service/settings/api", headers: { "x-session-token": token } });
    assert.equal(res.statusCode, 403);
    const body = json(res);
    assert.equal(body.error.id, "session_aal2_required");
    assert.equal(new URL(body.redirect_browser_to).searchParams.get("aal"), "aal2");
  });
});

describe("settings: profile without enumeration mitigation (Kratos's answers)", () => {
  let s: SettingsApp;
  before(async () => {
    s = await createSettingsApp({
      security: { account_enumeration: { mitigate: false } },
      selfservice: { flows: { settings: { after: { profile: { hooks: [{ hook: "show_verification_ui" }] } } }, verification: { enabled: true } } },
    });
  });
  after(() => s.close());

  it("a taken address answers 4000007; a free one continues with show_verification_ui", async () => {
    await signUp(s.pub, "taken@example.com", PASSWORD);
    const token = await signUp(s.pub, "asker@example.com", PASSWORD);
    const flow = await settingsApiFlow(s.pub, token);
    const taken = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "taken@example.com" } });
    assert.equal(taken.statusCode, 400);
    assert.deepEqual(json(taken).ui.messages.map((m: Json) => m.id), [4000007]);
    const free = await submitSettings(s.pub, flow.id, token, { method: "profile", traits: { email: "free@example.com" } });
    assert.equal(free.statusCode, 200, free.body);
    const cw = json(free).continue_with as Json[];
    assert.equal(cw.length, 1);
    assert.equal(cw[0].action, "show_verification_ui");
    assert.equal(cw[0].flow.verifiable_address, "free@example.com");
    const vf = await s.pub.inject({ method: "GET", url: `/self-service/verification/flows?id=${cw[0].flow.id}` });
    assert.equal(vf.statusCode, 200, vf.body);
    assert.ok((await s.messages()).some(([t, r]) => t.startsWith("verification_code") && r === "free@example.com"));
  });
});
