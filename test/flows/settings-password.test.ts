import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { json, node, type Json } from "./harness.ts";
import { createSettingsApp, loginApi, settingsApiFlow, signUp, submitSettings, whoami, type SettingsApp } from "./settings-harness.ts";

const OLD = "correct horse battery staple";
const NEW = "purple monkey dishwasher 42";

describe("settings: password (HTTP)", () => {
  let s: SettingsApp;
  before(async () => {
    s = await createSettingsApp({ selfservice: { flows: { settings: { lifespan: "3h", after: { password: { hooks: [{ hook: "revoke_active_sessions" }] } } } } } });
  });
  after(() => s.close());

  it("no session: 401 session_inactive for API and JSON, 303 to the login UI for a browser", async () => {
    let res = await s.pub.inject({ method: "GET", url: "/self-service/settings/api" });
    assert.equal(res.statusCode, 401);
    assert.equal(json(res).error.id, "session_inactive");
    res = await s.pub.inject({ method: "GET", url: "/self-service/settings/browser", headers: { accept: "application/json" } });
    assert.equal(res.statusCode, 401);
    res = await s.pub.inject({ method: "GET", url: "/self-service/settings/browser" });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "http://127.0.0.1:4455/login");
    // A submit without a session changes nothing.
    const token = await signUp(s.pub, "nosession@example.com", OLD);
    const flow = await settingsApiFlow(s.pub, token);
    res = await s.pub.inject({ method: "POST", url: `/self-service/settings?flow=${flow.id}`, headers: { "content-type": "application/json" }, payload: { method: "password", password: NEW } });
    assert.equal(res.statusCode, 401);
    assert.equal(json(res).error.id, "session_inactive");
    assert.ok((await loginApi(s.pub, "nosession@example.com", OLD)).token);
  });

  it("the API flow: Kratos's settings nodes, the identity, state show_form", async () => {
    const token = await signUp(s.pub, "nodes@example.com", OLD);
    const flow = await settingsApiFlow(s.pub, token);
    assert.equal(flow.type, "api");
    assert.equal(flow.state, "show_form");
    assert.equal(flow.identity.traits.email, "nodes@example.com");
    assert.equal(flow.identity.credentials, undefined);
    assert.deepEqual(
      flow.ui.nodes.map((n: Json) => `${n.group}:${n.attributes.name}`),
      ["default:csrf_token", "profile:traits.email", "profile:traits.name.first", "profile:traits.name.last", "profile:method", "password:password", "password:method"],
    );
    assert.equal(node(flow, "traits.email").attributes.value, "nodes@example.com");
    const pw = flow.ui.nodes.find((n: Json) => n.attributes.name === "password");
    assert.equal(pw.attributes.autocomplete, "new-password");
    assert.equal(pw.meta.label.id, 1070001);
    const submits = flow.ui.nodes.filter((n: Json) => n.attributes.name === "method");
    assert.deepEqual(submits.map((n: Json) => [n.attributes.value, n.meta.label.id]), [["profile", 1070003], ["password", 1070003]]);
    // Fetch by id with the same session; another identity is refused.
    const fetched = await s.pub.inject({ method: "GET", url: `/self-service/settings/flows?id=${flow.id}`, headers: { "x-session-token": token } });
    assert.equal(fetched.statusCode, 200);
    assert.equal(json(fetched).id, flow.id);
    const other = await signUp(s.pub, "intruder@example.com", OLD);
    const stolen = await s.pub.inject({ method: "GET", url: `/self-service/settings/flows?id=${flow.id}`, headers: { "x-session-token": other } });
    assert.equal(stolen.statusCode, 403);
    assert.equal(json(stolen).error.id, "security_identity_mismatch");
    const res = await submitSettings(s.pub, flow.id, other, { method: "password", password: NEW });
    assert.equal(res.statusCode, 403);
    assert.ok((await loginApi(s.pub, "nodes@example.com", OLD)).token);
  });

  it("policy violations carry Kratos ids; 4000039 when equal to the old password; nothing changes", async () => {
    const token = await signUp(s.pub, "policy@example.com", OLD);
    const flow = await settingsApiFlow(s.pub, token);
    const cases: Array<[unknown, number]> = [
      [undefined, 4000002],
      ["", 4000003],
      [12345678, 4000026],
      ["short", 4000032],
      ["policy@example.com", 4000031],
      ["a".repeat(100_000), 4000033],
      [OLD, 4000039],
    ];
    for (const [password, id] of cases) {
      const res = await submitSettings(s.pub, flow.id, token, { method: "password", password });
      assert.equal(res.statusCode, 400, `${String(password).slice(0, 20)}: ${res.body.slice(0, 200)}`);
      const body = json(res);
      assert.equal(body.state, "show_form");
      assert.ok(
        node(body, "password").messages.some((m: Json) => m.id === id),
        `${String(password).slice(0, 20)}: expected ${id}, got ${JSON.stringify(node(body, "password").messages.map((m: Json) => m.id))}`,
      );
      assert.equal(node(body, "password").attributes.value, undefined);
    }
    assert.ok((await loginApi(s.pub, "policy@example.com", OLD)).token);
    assert.deepEqual((await s.messages()).filter(([, r]) => r === "policy@example.com"), []);
  });

  it("a change: 1050001; the old password stops working, the new one works; other sessions revoked; password_changed queued", async () => {
    const token = await signUp(s.pub, "change@example.com", OLD);
    const other = (await loginApi(s.pub, "change@example.com", OLD)).token;
    assert.ok(other);
    const flow = await settingsApiFlow(s.pub, token);
    const res = await submitSettings(s.pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.state, "success");
    assert.equal(body.active, "password");
    assert.deepEqual(body.ui.messages.map((m: Json) => m.id), [1050001]);

    const old = await loginApi(s.pub, "change@example.com", OLD);
    assert.equal(old.res.statusCode, 400);
    assert.equal(json(old.res).ui.messages[0].id, 4000006);
    assert.ok((await loginApi(s.pub, "change@example.com", NEW)).token);

    assert.equal(await whoami(s.pub, token), 200, "the session that made the change stays");
    assert.equal(await whoami(s.pub, other), 401, "the other session is revoked (revoke_active_sessions)");
    assert.deepEqual((await s.messages()).filter(([, r]) => r === "change@example.com"), [["password_changed", "change@example.com"]]);
  });

  it("privileged_session_max_age (1h): an older session gets 403 session_refresh_required; a fresh login may change it", async () => {
    const token = await signUp(s.pub, "stale@example.com", OLD);
    const flow = await settingsApiFlow(s.pub, token);
    s.t.clock.advance(61 * 60_000);
    const res = await submitSettings(s.pub, flow.id, token, { method: "password", password: NEW });
    assert.equal(res.statusCode, 403);
    const body = json(res);
    assert.equal(body.error.id, "session_refresh_required");
    const to = new URL(body.redirect_browser_to);
    assert.equal(`${to.origin}${to.pathname}`, "http://127.0.0.1:4433/self-service/login/browser");
    assert.equal(to.searchParams.get("refresh"), "true");
    assert.equal(to.searchParams.get("return_to"), `http://127.0.0.1:4455/settings?flow=${flow.id}`);
    assert.ok((await loginApi(s.pub, "stale@example.com", OLD)).token, "unchanged");

    // The refresh itself: a new login makes a privileged session that can finish the same flow.
    const fresh = (await loginApi(s.pub, "stale@example.com", OLD)).token;
    assert.ok(fresh);
    const ok = await submitSettings(s.pub, flow.id, fresh, { method: "password", password: NEW });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it("bad input never 500s: unknown/missing method, wrong types, missing flow, unknown flow, 10 MB body", async () => {
    const token = await signUp(s.pub, "bad@example.com", OLD);
    const flow = await settingsApiFlow(s.pub, token);
    for (const body of [{ method: "carrier-pigeon", password: NEW }, { password: NEW }, { method: 42 }, { method: { password: true } }]) {
      const res = await submitSettings(s.pub, flow.id, token, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.deepEqual(json(res).ui.messages.map((m: Json) => m.id), [4010004]);
    }
    for (const body of [[], "password", null, 7]) {
      const res = await submitSettings(s.pub, flow.id, token, body);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(body)} -> ${res.statusCode}`);
    }
    let res = await s.pub.inject({ method: "POST", url: "/self-service/settings", headers: { "content-type": "application/json", "x-session-token": token }, payload: "{}" });
    assert.equal(res.statusCode, 400);
    res = await submitSettings(s.pub, "00000000-0000-4000-8000-000000000000", token, { method: "password", password: NEW });
    assert.equal(res.statusCode, 404);
    res = await s.pub.inject({ method: "POST", url: `/self-service/settings?flow=${flow.id}`, headers: { "content-type": "application/json", "x-session-token": token }, payload: "{not json" });
    assert.equal(res.statusCode, 400);
    const big = JSON.stringify({ method: "password", password: "x".repeat(10 * 1024 * 1024) });
    res = await s.pub.inject({ method: "POST", url: `/self-service/settings?flow=${flow.id}`, headers: { "content-type": "application/json", "x-session-token": token }, payload: big });
    assert.equal(res.statusCode, 413);
    assert.ok((await loginApi(s.pub, "bad@example.com", OLD)).token, "unchanged");
  });
});
