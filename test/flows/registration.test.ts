import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { apiFlow, browserFlow, createFlowsHarness, csrfOf, flowIdFrom, Jar, json, node, submitForm, submitJson, UI, type FlowsHarness } from "./harness.ts";

describe("registration with password (HTTP)", () => {
  let h: FlowsHarness;
  before(async () => {
    h = await createFlowsHarness();
  });
  after(() => h.close());

  it("API flow: nodes from the schema, then sign-up signs in (session hook) with a token", async () => {
    const flow = await apiFlow(h.pub, "registration");
    assert.equal(flow.type, "api");
    assert.equal(flow.state, "choose_method");
    assert.equal(flow.ui.method, "POST");
    assert.equal(flow.ui.action, `http://127.0.0.1:4433/self-service/registration?flow=${flow.id}`);
    assert.deepEqual(
      flow.ui.nodes.map((n: { attributes: { name: string } }) => n.attributes.name),
      ["csrf_token", "traits.email", "traits.name.first", "traits.name.last", "password", "method"],
    );
    const email = node(flow, "traits.email");
    assert.equal(email.attributes.type, "email");
    assert.equal(email.attributes.required, true);
    assert.equal(email.attributes.autocomplete, "email");
    assert.deepEqual(email.meta.label, { id: 1070002, text: "E-Mail", type: "info", context: { title: "E-Mail", name: "traits.email" } });
    const pw = node(flow, "password");
    assert.equal(pw.attributes.autocomplete, "new-password");
    assert.equal(pw.meta.label.id, 1070001);
    assert.equal(node(flow, "method").meta.label.id, 1040001);
    assert.equal(csrfOf(flow), "");

    const res = await submitJson(h.pub, flow, { method: "password", password: "correct horse battery staple", traits: { email: " Alice@Example.COM " } });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.identity.traits.email, "alice@example.com");
    assert.match(body.session_token, /^ory_st_[A-Za-z0-9]{32}$/);
    assert.equal(body.session.identity.id, body.identity.id);
    assert.deepEqual(body.continue_with, [{ action: "set_ory_session_token", ory_session_token: body.session_token }]);
    assert.equal(res.headers["set-cookie"], undefined);
    const who = await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": body.session_token } });
    if (who.statusCode !== 404) assert.equal(json(who).identity.id, body.identity.id);
  });

  it("validation: required, format, lengths and password policy, with Kratos ids on the nodes; nothing created", async () => {
    const before = await h.t.app.deps.repo.count();
    const flow = await apiFlow(h.pub, "registration");
    let res = await submitJson(h.pub, flow, { method: "password", traits: {} });
    assert.equal(res.statusCode, 400);
    let f = json(res);
    assert.equal(f.id, flow.id);
    assert.equal(node(f, "traits.email").messages[0].id, 4000002);
    assert.equal(node(f, "password").messages[0].id, 4000002);

    res = await submitJson(h.pub, flow, { method: "password", password: "correct horse battery staple", traits: { email: "not-an-email", name: { first: "x".repeat(300) } } });
    f = json(res);
    assert.equal(res.statusCode, 400);
    assert.equal(node(f, "traits.email").messages[0].id, 4000040);
    assert.equal(node(f, "traits.email").attributes.value, "not-an-email");
    assert.equal(node(f, "traits.name.first").messages[0].id, 4000017);
    assert.equal(node(f, "password").attributes.value, undefined);

    res = await submitJson(h.pub, flow, { method: "password", password: "short", traits: { email: "bob@example.com" } });
    f = json(res);
    assert.equal(res.statusCode, 400);
    assert.equal(node(f, "password").messages[0].id, 4000032);

    // The password policy over HTTP: similar to the email (4000031), a common password (4000005, with its reason).
    res = await submitJson(h.pub, flow, { method: "password", password: "bob@example.com1", traits: { email: "bob@example.com" } });
    assert.equal(res.statusCode, 400);
    assert.equal(node(json(res), "password").messages[0].id, 4000031);
    res = await submitJson(h.pub, flow, { method: "password", password: "password123", traits: { email: "bob@example.com" } });
    assert.equal(res.statusCode, 400);
    assert.ok([4000005, 4000034].includes(node(json(res), "password").messages[0].id), JSON.stringify(node(json(res), "password").messages));

    // A 1,000,000-character password: a fast 400 (4000033), no NFKC or hashing of megabytes.
    const calls = { n: 0 };
    const { hasher } = h.t.app.deps;
    const hash = hasher.hash.bind(hasher);
    hasher.hash = (async (p: string) => {
      calls.n++;
      return hash(p);
    }) as typeof hasher.hash;
    const t0 = performance.now();
    try {
      res = await submitJson(h.pub, flow, { method: "password", password: "x".repeat(1_000_000), traits: { email: "bob@example.com" } });
    } finally {
      hasher.hash = hash;
    }
    assert.equal(res.statusCode, 400);
    assert.equal(node(json(res), "password").messages[0].id, 4000033);
    assert.equal(calls.n, 0, "not hashed");
    assert.ok(performance.now() - t0 < 1000, "answered fast");

    // An unknown method: 4010003 on the form.
    res = await submitJson(h.pub, flow, { method: "carrier-pigeon", password: "correct horse battery staple", traits: { email: "bob@example.com" } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(json(res).ui.messages.map((m: { id: number }) => m.id), [4010003]);
    assert.equal(await h.t.app.deps.repo.count(), before);
  });

  it("duplicate identifier answers 4000007 and creates nothing", async () => {
    const flow = await apiFlow(h.pub, "registration");
    const ok = await submitJson(h.pub, flow, { method: "password", password: "correct horse battery staple", traits: { email: "dup@example.com" } });
    assert.equal(ok.statusCode, 200);
    const n = await h.t.app.deps.repo.count();
    const again = await apiFlow(h.pub, "registration");
    const res = await submitJson(h.pub, again, { method: "password", password: "another long passphrase", traits: { email: "DUP@example.com" } });
    assert.equal(res.statusCode, 400);
    assert.equal(json(res).ui.messages[0].id, 4000007);
    assert.equal(await h.t.app.deps.repo.count(), n);
  });

  it("browser flow with a form post: 303 to the UI on errors, 303 with a session cookie on success", async () => {
    const jar = new Jar();
    const init = await h.pub.inject({ method: "GET", url: "/self-service/registration/browser?aal=&refresh=&return_to=" });
    assert.equal(init.statusCode, 303);
    const loc = String(init.headers.location);
    assert.ok(loc.startsWith(`${UI}registration?flow=`), loc);
    jar.take(init);
    const csrfCookie = [...jar.cookies.keys()].find((k) => k.startsWith("csrf_token_"));
    assert.ok(csrfCookie && /^csrf_token_[0-9a-f]{64}$/.test(csrfCookie));
    assert.match(String(init.headers["set-cookie"]), /HttpOnly/);

    const fetched = await h.pub.inject({ method: "GET", url: `/self-service/registration/flows?id=${flowIdFrom(loc)}`, headers: { cookie: jar.header() } });
    assert.equal(fetched.statusCode, 200);
    const flow = json(fetched);
    assert.equal(flow.type, "browser");
    assert.ok(csrfOf(flow).length > 0);

    const bad = await submitForm(h.pub, flow, { method: "password", csrf_token: csrfOf(flow), "traits.email": "carol@example.com", password: "" }, { cookie: jar.header() });
    assert.equal(bad.statusCode, 303);
    assert.equal(bad.headers.location, `${UI}registration?flow=${flow.id}`);

    const good = await submitForm(
      h.pub,
      flow,
      { method: "password", csrf_token: csrfOf(flow), "traits.email": "carol@example.com", "traits.name.first": "Carol", "traits.name.last": "", password: "correct horse battery staple" },
      { cookie: jar.header() },
    );
    assert.equal(good.statusCode, 303, good.body);
    assert.equal(good.headers.location, "http://127.0.0.1:4455/welcome");
    jar.take(good);
    assert.ok(jar.cookies.has("ory_kratos_session"), String(good.headers["set-cookie"]));
    const found = await h.t.app.deps.repo.findByCredentialIdentifier("password", "carol@example.com");
    assert.equal(found?.traits.name && (found.traits.name as Record<string, unknown>).first, "Carol");

    // Signed in now: a new registration flow is refused (redirect for browsers, 400 for JSON).
    const again = await h.pub.inject({ method: "GET", url: "/self-service/registration/browser", headers: { cookie: jar.header() } });
    assert.equal(again.statusCode, 303);
    const againJson = await h.pub.inject({ method: "GET", url: "/self-service/registration/browser", headers: { cookie: jar.header(), accept: "application/json" } });
    assert.equal(againJson.statusCode, 400);
    assert.equal(json(againJson).error.id, "session_already_available");
  });

  it("a browser flow submitted as JSON answers JSON and still sets the session cookie", async () => {
    const jar = new Jar();
    const flow = await browserFlow(h.pub, "registration", jar);
    const res = await submitJson(h.pub, flow, { method: "password", csrf_token: csrfOf(flow), password: "correct horse battery staple", traits: { email: "dave@example.com" } }, { cookie: jar.header() });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.session_token, undefined);
    assert.equal(body.identity.traits.email, "dave@example.com");
    assert.deepEqual(body.continue_with, [{ action: "redirect_browser_to", redirect_browser_to: "http://127.0.0.1:4455/welcome" }]);
    assert.match(String(res.headers["set-cookie"]), /ory_kratos_session=/);
  });
});
