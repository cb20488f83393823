import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { csrfOf, json, PUBLIC, registerApi, UI, type Json } from "./harness.ts";
import { Browser, createMailHarness, initFlow, messagesOf, post, type MailHarness } from "./recovery-harness.ts";

const PW = "correct horse battery staple 42";
const JSON_ACCEPT = { accept: "application/json" };

describe("admin recovery code and link", () => {
  let h: MailHarness;
  let admin: FastifyInstance;
  const identities = new Map<string, string>();
  const identityId = async (email: string): Promise<string> => {
    if (!identities.has(email)) {
      const reg = await registerApi(h.pub, email, PW, { signIn: false });
      await h.mail(email); // the verification message sent after registration
      identities.set(email, reg.identity.id as string);
    }
    return identities.get(email) as string;
  };
  const adminCode = async (email: string, extra: Record<string, unknown> = {}): Promise<Json> => {
    const res = await admin.inject({ method: "POST", url: "/admin/recovery/code", payload: { identity_id: await identityId(email), ...extra } });
    assert.equal(res.statusCode, 201, res.body);
    return json(res);
  };
  const flowIdOf = (link: string): string => new URL(link).searchParams.get("flow") ?? "";

  before(async () => {
    h = await createMailHarness();
    admin = h.t.app.admin;
  });
  after(() => h.close());

  it("a code for an API flow recovers the account; bad bodies are 4xx", async () => {
    const out = await adminCode("ivy@example.com", { flow_type: "api", expires_in: "15m" });
    assert.match(out.recovery_code, /^\d{8}$/);
    assert.ok(out.recovery_link.startsWith(`${UI}recovery?flow=`), out.recovery_link);
    const flowId = flowIdOf(out.recovery_link);
    const wrong = await post(h.pub, "recovery", flowId, { method: "code", code: "12345678" === out.recovery_code ? "87654321" : "12345678" });
    assert.deepEqual(messagesOf(json(wrong)), [4060006]);
    const ok = await post(h.pub, "recovery", flowId, { method: "code", code: out.recovery_code });
    assert.equal(ok.statusCode, 200, ok.body);
    const id = await identityId("ivy@example.com");
    for (const payload of [{}, { identity_id: "x" }, { identity_id: id, expires_in: "-1h" }, { identity_id: "7d4b5a8e-0000-4000-8000-000000000000" }, { identity_id: id, flow_type: "native" }]) {
      const r = await admin.inject({ method: "POST", url: "/admin/recovery/code", payload });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${JSON.stringify(payload)} -> ${r.statusCode}`);
    }
    const link = json(await admin.inject({ method: "POST", url: "/admin/recovery/link", payload: { identity_id: id } }));
    const u = new URL(link.recovery_link);
    const open = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(open.statusCode, 303);
    assert.match(String(open.headers.location), /settings\?flow=/);
  });

  it("a browser flow (the default): a fresh browser opens the link, fetches the flow and submits the code", async () => {
    const out = await adminCode("jo@example.com");
    assert.ok(out.recovery_link.startsWith(`${PUBLIC}self-service/recovery?flow=`), out.recovery_link);
    const flowId = flowIdOf(out.recovery_link);

    const user = new Browser(h.pub);
    const opened = await user.get(out.recovery_link);
    assert.equal(opened.statusCode, 303, opened.body);
    assert.equal(opened.headers.location, `${UI}recovery?flow=${flowId}`);
    assert.ok([...user.jar.cookies.keys()].some((k) => k.startsWith("csrf_token_")), "the CSRF cookie is set in the user's browser");

    // The UI fetches the flow with the browser's cookies, as for any browser flow.
    const fetched = await user.get(`/self-service/recovery/flows?id=${flowId}`, JSON_ACCEPT);
    assert.equal(fetched.statusCode, 200, fetched.body);
    const flow = json(fetched);
    assert.equal(flow.state, "sent_email");
    const token = csrfOf(flow);
    assert.ok(token.length > 0);

    // The flow now belongs to that browser: another one cannot fetch it, nor use it with the user's token.
    const other = new Browser(h.pub);
    await other.get(out.recovery_link);
    const otherFetch = await other.get(`/self-service/recovery/flows?id=${flowId}`, JSON_ACCEPT);
    assert.equal(otherFetch.statusCode, 403);
    assert.equal(json(otherFetch).error.id, "security_csrf_violation");
    const stolen = await other.post("recovery", flowId, { method: "code", code: out.recovery_code, csrf_token: token });
    assert.equal(stolen.statusCode, 403);
    const noToken = await user.post("recovery", flowId, { method: "code", code: out.recovery_code });
    assert.equal(noToken.statusCode, 403, "the user's own browser still needs the CSRF token");

    const done = await user.post("recovery", flowId, { method: "code", code: out.recovery_code, csrf_token: token });
    assert.equal(done.statusCode, 200, done.body);
    const body = json(done);
    assert.equal(body.state, "passed_challenge");
    assert.equal((body.continue_with as Json[])[0].action, "show_settings_ui");
    assert.ok(user.jar.cookies.has("ory_kratos_session"), "signed in");
    const who = await user.get("/sessions/whoami", JSON_ACCEPT);
    assert.equal(who.statusCode, 200, who.body);
    assert.equal(json(who).identity.id, await identityId("jo@example.com"));
  });

  it("a single-page app fetching the flow first (no cookie yet) gets the CSRF cookie with it and can submit", async () => {
    const out = await adminCode("kim@example.com");
    const flowId = flowIdOf(out.recovery_link);
    const spa = new Browser(h.pub);
    const fetched = await spa.get(`/self-service/recovery/flows?id=${flowId}`, JSON_ACCEPT);
    assert.equal(fetched.statusCode, 200, fetched.body);
    assert.ok([...spa.jar.cookies.keys()].some((k) => k.startsWith("csrf_token_")));
    const again = await spa.get(`/self-service/recovery/flows?id=${flowId}`, JSON_ACCEPT);
    assert.equal(again.statusCode, 200, "a second fetch by the same browser still works");
    const done = await spa.post("recovery", flowId, { method: "code", code: out.recovery_code, csrf_token: csrfOf(json(again)) });
    assert.equal(done.statusCode, 200, done.body);
  });

  it("an admin flow that no browser opened refuses a submit; self-service browser flows keep their CSRF checks", async () => {
    const out = await adminCode("lou@example.com");
    const flowId = flowIdOf(out.recovery_link);
    const direct = await post(h.pub, "recovery", flowId, { method: "code", code: out.recovery_code });
    assert.equal(direct.statusCode, 403, direct.body);
    const stranger = new Browser(h.pub);
    await initFlow(h.pub, "recovery", "browser").then(({ res }) => stranger.jar.take(res));
    const withOwnCookie = await stranger.post("recovery", flowId, { method: "code", code: out.recovery_code, csrf_token: "x".repeat(64) });
    assert.equal(withOwnCookie.statusCode, 403, "a CSRF cookie alone does not bind the flow: only opening or fetching it does");

    const owner = new Browser(h.pub);
    const started = await owner.get("/self-service/recovery/browser", JSON_ACCEPT);
    assert.equal(started.statusCode, 200);
    const own = json(started);
    const otherFetch = await new Browser(h.pub).get(`/self-service/recovery/flows?id=${own.id}`, JSON_ACCEPT);
    assert.equal(otherFetch.statusCode, 403, "a self-service browser flow is only shown to the browser that started it");
    const opened = await new Browser(h.pub).get(`/self-service/recovery?flow=${own.id}`, JSON_ACCEPT);
    assert.equal(opened.statusCode, 403, "opening does not bind a self-service flow to another browser");
    assert.equal((await owner.get(`/self-service/recovery/flows?id=${own.id}`, JSON_ACCEPT)).statusCode, 200);
  });

  it("an admin flow past expires_in answers its first fetch with 410, not with a bound flow", async () => {
    const out = await adminCode("max@example.com", { expires_in: "5m" });
    h.t.clock.advance(5 * 60_000 + 1000);
    const user = new Browser(h.pub);
    const fetched = await user.get(`/self-service/recovery/flows?id=${flowIdOf(out.recovery_link)}`, JSON_ACCEPT);
    assert.equal(fetched.statusCode, 410, fetched.body);
    assert.equal(json(fetched).error.id, "self_service_flow_expired");
  });
});
