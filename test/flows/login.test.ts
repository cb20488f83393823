import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { apiFlow, browserFlow, createFlowsHarness, csrfOf, Jar, json, node, registerApi, submitForm, submitJson, type FlowsHarness, type Json } from "./harness.ts";

const PASSWORD = "correct horse battery staple";

/** Replaces what legitimately differs between two answers (ids, times, CSRF masks, the typed identifier). */
function scrub(body: string, identifier: string): string {
  return body
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replaceAll(JSON.stringify(identifier), '"<identifier>"');
}

describe("login with password (HTTP)", () => {
  let h: FlowsHarness;
  before(async () => {
    h = await createFlowsHarness({ selfservice: { allowed_return_urls: ["http://127.0.0.1:4455/dash", "https://app.example.com"] } });
    await registerApi(h.pub, "erin@example.com", PASSWORD);
    await registerApi(h.pub, "frank@example.com", PASSWORD);
    const frank = await h.t.app.deps.repo.findByCredentialIdentifier("password", "frank@example.com");
    assert.ok(frank);
    await h.t.app.deps.identities.update(frank.id, { schema_id: frank.schema_id, traits: frank.traits, state: "inactive" });
  });
  after(() => h.close());

  it("API flow: Kratos's nodes; identifier normalized like registration; session token on success", async () => {
    const flow = await apiFlow(h.pub, "login");
    assert.equal(flow.refresh, false);
    assert.equal(flow.requested_aal, "aal1");
    assert.deepEqual(flow.ui.nodes.map((n: Json) => `${n.group}:${n.attributes.name}`), ["default:csrf_token", "default:identifier", "password:password", "password:method"]);
    assert.deepEqual(node(flow, "identifier").meta.label, { id: 1070002, text: "E-Mail", type: "info", context: { title: "E-Mail", name: "traits.email" } });
    assert.equal(node(flow, "password").attributes.autocomplete, "current-password");
    assert.equal(node(flow, "method").meta.label.id, 1010022);
    const res = await submitJson(h.pub, flow, { method: "password", identifier: "  ERIN@Example.com\u3000", password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.match(body.session_token, /^ory_st_/);
    assert.equal(body.session.identity.traits.email, "erin@example.com");
    // The flow is spent.
    const again = await submitJson(h.pub, flow, { method: "password", identifier: "erin@example.com", password: PASSWORD });
    assert.equal(again.statusCode, 400);
    assert.equal(json(again).ui.messages[0].id, 4010007);
  });

  it("unknown identifier, wrong password and inactive identity give byte-identical answers (4000006)", async () => {
    const answers: string[] = [];
    for (const [identifier, password] of [["nobody@example.com", PASSWORD], ["erin@example.com", "wrong password here"], ["frank@example.com", "wrong password here"]]) {
      const flow = await apiFlow(h.pub, "login");
      const res = await submitJson(h.pub, flow, { method: "password", identifier, password });
      assert.equal(res.statusCode, 400);
      const body = json(res);
      assert.deepEqual(body.ui.messages.map((m: Json) => m.id), [4000006]);
      assert.equal(node(body, "identifier").attributes.value, identifier);
      assert.equal(node(body, "password").attributes.value, undefined);
      answers.push(scrub(res.body, identifier));
    }
    assert.equal(answers[0], answers[1]);
    assert.equal(answers[1], answers[2]);
  });

  it("an inactive identity with the right password learns identity_disabled, and gets no session", async () => {
    const flow = await apiFlow(h.pub, "login");
    const res = await submitJson(h.pub, flow, { method: "password", identifier: "frank@example.com", password: PASSWORD });
    assert.equal(res.statusCode, 401);
    assert.equal(json(res).error.id, "identity_disabled");
  });

  it("missing fields, unknown method, and a 1,000,000-character password (fast 400, nothing hashed)", async () => {
    const flow = await apiFlow(h.pub, "login");
    let res = await submitJson(h.pub, flow, { method: "password" });
    assert.equal(res.statusCode, 400);
    assert.equal(node(json(res), "identifier").messages[0].id, 4000002);
    assert.equal(node(json(res), "password").messages[0].id, 4000002);
    res = await submitJson(h.pub, flow, { method: "carrier-pigeon", identifier: "erin@example.com", password: PASSWORD });
    assert.equal(res.statusCode, 400);
    assert.equal(json(res).ui.messages[0].id, 4010002);
    res = await submitJson(h.pub, flow, { identifier: "erin@example.com", password: PASSWORD });
    assert.equal(json(res).ui.messages[0].id, 4010002);

    const hasher = h.t.app.deps.hasher;
    const verify = hasher.verify;
    const verifyDummy = hasher.verifyDummy;
    let hashed = 0;
    hasher.verify = async (p, e) => ((hashed += 1), verify(p, e));
    hasher.verifyDummy = async (p) => ((hashed += 1), verifyDummy(p));
    try {
      const started = performance.now();
      res = await submitJson(h.pub, flow, { method: "password", identifier: "erin@example.com", password: "a".repeat(1_000_000) });
      const ms = performance.now() - started;
      assert.equal(res.statusCode, 400);
      assert.deepEqual(node(json(res), "password").messages.map((m: Json) => m.id), [4000033]);
      assert.equal(hashed, 0);
      assert.ok(ms < 1000, `took ${ms} ms`);
    } finally {
      hasher.verify = verify;
      hasher.verifyDummy = verifyDummy;
    }
  });

  it("return_to: allowed by whole path segments or relative; /dash does not allow /dashboard-evil", async () => {
    const ok = await h.pub.inject({ method: "GET", url: `/self-service/login/api?return_to=${encodeURIComponent("http://127.0.0.1:4455/dash/settings")}` });
    assert.equal(ok.statusCode, 200);
    assert.equal(json(ok).return_to, "http://127.0.0.1:4455/dash/settings");
    const rel = await h.pub.inject({ method: "GET", url: "/self-service/login/api?return_to=/welcome/next" });
    assert.equal(json(rel).return_to, "http://127.0.0.1:4455/welcome/next");
    for (const bad of ["http://127.0.0.1:4455/dashboard-evil", "https://app.example.com.evil.net/", "http://app.example.com/", "//evil.net/x", "javascript:alert(1)"]) {
      const res = await h.pub.inject({ method: "GET", url: `/self-service/login/api?return_to=${encodeURIComponent(bad)}` });
      assert.equal(res.statusCode, 400, bad);
      assert.equal(json(res).error.id, "self_service_flow_return_to_forbidden", bad);
    }
    // A browser (no JSON) is sent to the error UI, where the stored error can be fetched.
    const res = await h.pub.inject({ method: "GET", url: `/self-service/login/browser?return_to=${encodeURIComponent("http://127.0.0.1:4455/dashboard-evil")}` });
    assert.equal(res.statusCode, 303);
    const loc = new URL(String(res.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, "http://127.0.0.1:4455/error");
    const stored = await h.pub.inject({ method: "GET", url: `/self-service/errors?id=${loc.searchParams.get("id")}` });
    assert.equal(stored.statusCode, 200);
    assert.equal(json(stored).error.id, "self_service_flow_return_to_forbidden");
  });

  it("browser login: form post 303s to return_to with a session cookie; then init is session_already_available unless refresh", async () => {
    const jar = new Jar();
    const flow = await browserFlow(h.pub, "login", jar, `?return_to=${encodeURIComponent("http://127.0.0.1:4455/dash")}`);
    const res = await submitForm(h.pub, flow, { method: "password", csrf_token: csrfOf(flow), identifier: "erin@example.com", password: PASSWORD }, { cookie: jar.header() });
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, "http://127.0.0.1:4455/dash");
    jar.take(res);
    assert.ok(jar.cookies.has("ory_kratos_session"));

    const redirect = await h.pub.inject({ method: "GET", url: "/self-service/login/browser", headers: { cookie: jar.header() } });
    assert.equal(redirect.statusCode, 303);
    assert.equal(redirect.headers.location, "http://127.0.0.1:4455/welcome");
    const refused = await h.pub.inject({ method: "GET", url: "/self-service/login/browser", headers: { cookie: jar.header(), accept: "application/json" } });
    assert.equal(refused.statusCode, 400);
    assert.equal(json(refused).error.id, "session_already_available");

    const refresh = await browserFlow(h.pub, "login", jar, "?refresh=true");
    assert.equal(refresh.refresh, true);
    assert.equal(refresh.ui.messages[0].id, 1010003);
    const again = await submitJson(h.pub, refresh, { method: "password", csrf_token: csrfOf(refresh), identifier: "erin@example.com", password: PASSWORD }, { cookie: jar.header() });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(json(again).continue_with[0].action, "redirect_browser_to");
    // The refreshed session replaces the old one: a new cookie, both methods recorded, the old cookie no longer works.
    const oldCookie = jar.header();
    jar.take(again);
    assert.notEqual(jar.header(), oldCookie);
    assert.deepEqual(json(again).session.authentication_methods.map((m: Json) => m.method), ["password", "password"]);
    assert.equal((await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { cookie: oldCookie } })).statusCode, 401);
    assert.equal((await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { cookie: jar.header() } })).statusCode, 200);

    // Another account's credentials cannot refresh this session.
    await h.t.app.deps.identities.create({ schema_id: "default", state: "active", traits: { email: "other@example.com" }, credentials: { password: { config: { password: PASSWORD } } } });
    const refresh2 = await browserFlow(h.pub, "login", jar, "?refresh=true");
    const other = await submitJson(h.pub, refresh2, { method: "password", csrf_token: csrfOf(refresh2), identifier: "other@example.com", password: PASSWORD }, { cookie: jar.header() });
    assert.equal(other.statusCode, 400, other.body);
    assert.equal(json(other).error.id, "session_identity_mismatch");
    assert.equal((await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { cookie: jar.header() } })).statusCode, 200, "the session stays");
  });

  it("rehashes an outdated hash after the response, never on the response path", async () => {
    const { repo, hasher } = h.t.app.deps;
    const erin = await repo.findByCredentialIdentifier("password", "erin@example.com");
    assert.ok(erin?.credentials.password);
    // A bcrypt hash (cost 4) is valid but not the configured argon2id: it must be replaced after a login.
    const { bcryptHashPassword } = await import("../../src/security/hash/bcrypt.ts");
    const legacy = await bcryptHashPassword(Buffer.from(PASSWORD), 4);
    await repo.updateCredentialConfig(erin.credentials.password.id, { hashed_password: legacy }, new Date().toISOString());
    assert.equal(hasher.needsRehash(legacy), true);

    const flow = await apiFlow(h.pub, "login");
    const res = await submitJson(h.pub, flow, { method: "password", identifier: "erin@example.com", password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    let stored = "";
    for (let i = 0; i < 100; i++) {
      const now = await repo.findByCredentialIdentifier("password", "erin@example.com");
      stored = String(now?.credentials.password?.config.hashed_password);
      if (stored !== legacy) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(stored, /^\$argon2id\$/);
    assert.equal(await hasher.verify(PASSWORD, stored), true);
  });
});

describe("login never applies the password policy", () => {
  it("after max_password_length is lowered, a longer password set before still signs in; megabytes are still refused", async () => {
    const h = await createFlowsHarness({ selfservice: { methods: { password: { config: { max_password_length: 64 } } } } });
    try {
      const long = "a long passphrase from before the policy changed, ".repeat(2).trim(); // 101 code points
      await h.t.app.deps.identities.create({ schema_id: "default", state: "active", traits: { email: "longtimer@example.com" }, credentials: { password: { config: { password: long } } } });
      const ok = await submitJson(h.pub, await apiFlow(h.pub, "login"), { method: "password", identifier: "longtimer@example.com", password: long });
      assert.equal(ok.statusCode, 200, ok.body);
      const huge = await submitJson(h.pub, await apiFlow(h.pub, "login"), { method: "password", identifier: "longtimer@example.com", password: "x".repeat(1_000_000) });
      assert.equal(huge.statusCode, 400);
      assert.equal(node(json(huge), "password").messages[0].id, 4000033);
    } finally {
      await h.close();
    }
  });
});
