import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { apiFlow, browserFlow, createFlowsHarness, csrfOf, Jar, json, registerApi, submitForm, submitJson, UI, type FlowsHarness } from "./harness.ts";

const PASSWORD = "correct horse battery staple";

describe("flow engine: expiry, CSRF, API-flow binding, bad requests, error UI, CORS", () => {
  let h: FlowsHarness;
  before(async () => {
    h = await createFlowsHarness({
      serve: { public: { cors: { enabled: true, allowed_origins: ["http://spa.example.com:5173", "https://*.example.org"] } } },
      selfservice: { flows: { login: { lifespan: "10m" } } },
    });
  });
  after(() => h.close());

  it("an expired flow: fetch 410 with where to restart; JSON submit 410 + use_flow_id; form submit 303 to a new flow", async () => {
    const flow = await apiFlow(h.pub, "login");
    assert.equal(new Date(flow.expires_at).getTime() - new Date(flow.issued_at).getTime(), 600_000);
    h.t.clock.advance(11 * 60_000);
    const fetched = await h.pub.inject({ method: "GET", url: `/self-service/login/flows?id=${flow.id}` });
    assert.equal(fetched.statusCode, 410);
    assert.equal(json(fetched).error.id, "self_service_flow_expired");
    const res = await submitJson(h.pub, flow, { method: "password", identifier: "x@example.com", password: PASSWORD });
    assert.equal(res.statusCode, 410);
    const body = json(res);
    assert.equal(body.error.id, "self_service_flow_expired");
    assert.equal(body.expired_at, flow.expires_at);
    assert.equal(body.since, 60_000 * 1_000_000);
    const fresh = json(await h.pub.inject({ method: "GET", url: `/self-service/login/flows?id=${body.use_flow_id}` }));
    assert.equal(fresh.type, "api");
    assert.equal(fresh.ui.messages[0].id, 4010001);
    assert.deepEqual(Object.keys(fresh.ui.messages[0].context).sort(), ["expired_at", "expired_at_unix"]);

    const jar = new Jar();
    const reg = await browserFlow(h.pub, "registration", jar);
    h.t.clock.advance(2 * 3_600_000);
    const form = await submitForm(h.pub, reg, { method: "password", csrf_token: csrfOf(reg), "traits.email": "late@example.com", password: PASSWORD }, { cookie: jar.header() });
    assert.equal(form.statusCode, 303);
    const loc = new URL(String(form.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, `${UI}registration`);
    assert.notEqual(loc.searchParams.get("flow"), reg.id);
    assert.equal(await h.t.app.deps.repo.findByCredentialIdentifier("password", "late@example.com"), undefined);
  });

  it("CSRF: a browser submit without a matching token is 403 security_csrf_violation and creates nothing", async () => {
    const jar = new Jar();
    const flow = await browserFlow(h.pub, "registration", jar);
    const other = new Jar();
    await browserFlow(h.pub, "registration", other);
    const body = { method: "password", password: PASSWORD, traits: { email: "csrf@example.com" } };
    const attempts = [
      submitJson(h.pub, flow, body, { cookie: jar.header() }),
      submitJson(h.pub, flow, { ...body, csrf_token: "x".repeat(64) }, { cookie: jar.header() }),
      submitJson(h.pub, flow, { ...body, csrf_token: csrfOf(flow) }),
      submitJson(h.pub, flow, { ...body, csrf_token: csrfOf(flow) }, { cookie: other.header() }),
    ];
    for (const res of await Promise.all(attempts)) {
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(json(res).error.id, "security_csrf_violation");
    }
    // A form post goes to the error UI instead.
    const form = await submitForm(h.pub, flow, { method: "password", password: PASSWORD, "traits.email": "csrf@example.com" }, { cookie: jar.header() });
    assert.equal(form.statusCode, 303);
    const stored = await h.pub.inject({ method: "GET", url: `/self-service/errors?id=${new URL(String(form.headers.location)).searchParams.get("id")}` });
    assert.equal(json(stored).error.id, "security_csrf_violation");
    assert.equal(await h.t.app.deps.repo.findByCredentialIdentifier("password", "csrf@example.com"), undefined);
    // Fetching a browser flow needs its CSRF cookie.
    const noCookie = await h.pub.inject({ method: "GET", url: `/self-service/registration/flows?id=${flow.id}` });
    assert.equal(noCookie.statusCode, 403);
    const wrongCookie = await h.pub.inject({ method: "GET", url: `/self-service/registration/flows?id=${flow.id}`, headers: { cookie: other.header() } });
    assert.equal(wrongCookie.statusCode, 403);
  });

  it("API flows refuse requests carrying cookies or an Origin header", async () => {
    const flow = await apiFlow(h.pub, "registration");
    const body = { method: "password", password: PASSWORD, traits: { email: "api@example.com" } };
    const variants: Array<Record<string, string>> = [{ cookie: "a=b" }, { origin: "http://evil.example.com" }];
    for (const headers of variants) {
      const res = await submitJson(h.pub, flow, body, headers);
      assert.equal(res.statusCode, 400);
      assert.equal(json(res).error.id, "bad_request");
    }
    assert.equal(await h.t.app.deps.repo.findByCredentialIdentifier("password", "api@example.com"), undefined);
  });

  it("unknown, malformed or missing flow ids, a flow of another kind, a wrong content type: 4xx in Kratos's shape, never 500", async () => {
    const reg = await apiFlow(h.pub, "registration");
    const cases: Array<[string, string, number]> = [
      ["POST", "/self-service/login?flow=5b0bd5c5-3f1d-4b5b-9e0e-2d8f2b8c8f00", 404],
      ["POST", "/self-service/login?flow=not-a-uuid", 404],
      ["POST", "/self-service/login?flow='%20OR%201=1--", 404],
      ["POST", "/self-service/login", 400],
      ["POST", `/self-service/login?flow=${reg.id}`, 404],
      ["GET", `/self-service/login/flows?id=${reg.id}`, 404],
      ["GET", "/self-service/login/flows?id=zzz", 404],
      ["GET", "/self-service/login/flows", 400],
      ["GET", "/self-service/errors?id=nope", 404],
    ];
    for (const [method, url, code] of cases) {
      const res = await h.pub.inject({ method: method as "GET" | "POST", url, headers: { "content-type": "application/json", accept: "application/json" }, payload: method === "POST" ? "{}" : undefined });
      assert.equal(res.statusCode, code, `${method} ${url}: ${res.body}`);
      const body = json(res);
      assert.equal(typeof body.error.id, "string");
      assert.equal(body.error.code, code);
    }
    const flow = await apiFlow(h.pub, "login");
    const wrongType = await h.pub.inject({ method: "POST", url: `/self-service/login?flow=${flow.id}`, headers: { "content-type": "text/plain" }, payload: "method=password" });
    assert.ok(wrongType.statusCode >= 400 && wrongType.statusCode < 500, wrongType.body);
    assert.equal(typeof json(wrongType).error.id, "string");
    const badJson = await h.pub.inject({ method: "POST", url: `/self-service/login?flow=${flow.id}`, headers: { "content-type": "application/json" }, payload: "{nope" });
    assert.equal(badJson.statusCode, 400);
    const arrayBody = await submitJson(h.pub, flow, ["x"] as unknown as Record<string, unknown>);
    assert.equal(arrayBody.statusCode, 400);
    const typed = await submitJson(h.pub, flow, { method: "password", identifier: { $ne: 1 }, password: ["a"] });
    assert.equal(typed.statusCode, 400);
    assert.equal(json(typed).ui.nodes.find((n: { attributes: { name: string } }) => n.attributes.name === "identifier").messages[0].id, 4000026);
  });

  it("init endpoints accept the reference UI's empty parameters; aal2 without a session is refused", async () => {
    for (const kind of ["login", "registration"]) {
      const res = await h.pub.inject({ method: "GET", url: `/self-service/${kind}/browser?aal=&refresh=&return_to=`, headers: { accept: "application/json" } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(json(res).return_to, undefined);
    }
    const aal2 = await h.pub.inject({ method: "GET", url: "/self-service/login/api?aal=aal2" });
    assert.equal(aal2.statusCode, 401);
  });

  it("webauthn.js is a 200 JavaScript no-op", async () => {
    const res = await h.pub.inject({ method: "GET", url: "/.well-known/ory/webauthn.js" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /javascript/);
    assert.doesNotThrow(() => new Function("window", res.body)({}));
  });

  it("CORS: exact origin echoed with credentials, on success, errors and preflight; other origins get nothing", async () => {
    const ok = await h.pub.inject({ method: "GET", url: "/self-service/login/api", headers: { origin: "http://spa.example.com:5173" } });
    assert.equal(ok.headers["access-control-allow-origin"], "http://spa.example.com:5173");
    assert.equal(ok.headers["access-control-allow-credentials"], "true");
    const err = await h.pub.inject({ method: "GET", url: "/self-service/login/flows?id=nope", headers: { origin: "https://app.example.org" } });
    assert.equal(err.statusCode, 404);
    assert.equal(err.headers["access-control-allow-origin"], "https://app.example.org");
    const pre = await h.pub.inject({ method: "OPTIONS", url: "/self-service/login", headers: { origin: "http://spa.example.com:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    assert.ok(pre.statusCode === 204 || pre.statusCode === 200, String(pre.statusCode));
    assert.equal(pre.headers["access-control-allow-origin"], "http://spa.example.com:5173");
    const evil = await h.pub.inject({ method: "GET", url: "/self-service/login/api", headers: { origin: "http://evil.example.com" } });
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
  });
});

describe("CORS is off by default", () => {
  it("sends no CORS headers", async () => {
    const h = await createFlowsHarness();
    try {
      const res = await h.pub.inject({ method: "GET", url: "/self-service/login/api", headers: { origin: "http://spa.example.com:5173" } });
      assert.equal(res.headers["access-control-allow-origin"], undefined);
    } finally {
      await h.close();
    }
  });
});

describe("CORS with the configured lists, and on the per-IP 429", () => {
  it("allowed_methods, allowed_headers, exposed_headers and max_age shape the answers; a 429 carries CORS too; preflights are not counted", async () => {
    const origin = "http://spa.example.com:5173";
    const h = await createFlowsHarness({
      serve: { public: { cors: { enabled: true, allowed_origins: [origin], allowed_methods: ["GET", "POST"], allowed_headers: ["Content-Type", "X-Session-Token"], exposed_headers: ["Content-Type", "Set-Cookie"], max_age: 600 } } },
      security: { brute_force: { ip: { max_requests: 3 } } },
    });
    try {
      const pre = () => h.pub.inject({ method: "OPTIONS", url: "/self-service/login", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
      for (let i = 0; i < 5; i++) {
        const p = await pre();
        assert.ok(p.statusCode === 204 || p.statusCode === 200, `preflight ${i}: ${p.statusCode}`);
        assert.equal(String(p.headers["access-control-allow-methods"]).replace(/\s/g, ""), "GET,POST");
        assert.equal(String(p.headers["access-control-allow-headers"]).replace(/\s/g, ""), "Content-Type,X-Session-Token");
        assert.equal(p.headers["access-control-max-age"], "600");
      }
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await h.pub.inject({ method: "GET", url: "/self-service/login/api", headers: { origin } });
        statuses.push(last.statusCode);
        assert.equal(last.headers["access-control-allow-origin"], origin, `answer ${i} (${last.statusCode}) carries CORS`);
        assert.equal(last.headers["access-control-allow-credentials"], "true");
        assert.equal(String(last.headers["access-control-expose-headers"]).replace(/\s/g, ""), "Content-Type,Set-Cookie");
      }
      assert.deepEqual(statuses, [200, 200, 200, 429], "the five preflights were not counted");
      assert.ok(last?.headers["retry-after"]);
    } finally {
      await h.close();
    }
  });
});

describe("logout link errors in a browser go to the error UI", () => {
  it("a missing or wrong logout token: 303 to selfservice.flows.error.ui_url?id=, the stored error is served; JSON clients get the error", async () => {
    const h = await createFlowsHarness();
    try {
      const reg = await registerApi(h.pub, "leaver@example.com", PASSWORD);
      const cookie = `ory_kratos_session=${String(reg.session_token)}`;
      for (const [url, status, id] of [["/self-service/logout", 400, "bad_request"], ["/self-service/logout?token=ory_lo_wrong", 403, "forbidden"]] as const) {
        const browser = await h.pub.inject({ method: "GET", url, headers: { cookie } });
        assert.equal(browser.statusCode, 303, browser.body);
        const location = new URL(String(browser.headers.location));
        assert.equal(`${location.origin}${location.pathname}`, `${UI}error`);
        const stored = await h.pub.inject({ method: "GET", url: `/self-service/errors?id=${location.searchParams.get("id")}` });
        assert.equal(stored.statusCode, 200);
        assert.equal(json(stored).error.code, status);
        const api = await h.pub.inject({ method: "GET", url, headers: { cookie, accept: "application/json" } });
        assert.equal(api.statusCode, status);
        assert.equal(json(api).error.id, id);
      }
      const who = await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { cookie } });
      assert.equal(who.statusCode, 200, "a bad logout link logs nobody out");
    } finally {
      await h.close();
    }
  });
});
