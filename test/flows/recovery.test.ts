import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { json, registerApi } from "./harness.ts";
import { createMailHarness, digitsIn, initFlow, messagesOf, post, type MailHarness } from "./recovery-harness.ts";

const PW = "correct horse battery staple 42";

describe("recovery with a code (API flows, real SMTP)", () => {
  let h: MailHarness;
  before(async () => {
    // The per-address brute-force throttle of code guesses is tested in test/security/code-throttle.test.ts; here
    // the per-flow `max_submissions` alone is under test.
    h = await createMailHarness({ security: { brute_force: { identifier: { free_attempts: 20 } } } });
  });
  after(() => h.close());

  it("sends a code, a correct code gives a session, a settings flow and revokes the old sessions", async () => {
    const reg = await registerApi(h.pub, "alice@example.com", PW);
    await h.mail("alice@example.com"); // the verification message sent after registration
    const oldToken = reg.session_token as string;
    const { flow } = await initFlow(h.pub, "recovery", "api");
    assert.equal(flow.state, "choose_method");
    assert.ok((flow.ui.nodes as { attributes: { name?: string } }[]).some((n) => n.attributes.name === "email"));

    const sent = await post(h.pub, "recovery", flow.id, { method: "code", email: "Alice@Example.com" });
    assert.equal(sent.statusCode, 200, sent.body);
    const sentFlow = json(sent);
    assert.equal(sentFlow.state, "sent_email");
    assert.deepEqual(messagesOf(sentFlow), [1060003]);

    const code = digitsIn(await h.mail("alice@example.com"), 8);
    const ok = await post(h.pub, "recovery", flow.id, { method: "code", code });
    assert.equal(ok.statusCode, 200, ok.body);
    const done = json(ok);
    assert.equal(done.state, "passed_challenge");
    const [setToken, showSettings] = done.continue_with as { action: string; ory_session_token?: string; flow?: { id: string; url: string } }[];
    assert.equal(setToken.action, "set_ory_session_token");
    assert.equal(showSettings.action, "show_settings_ui");
    assert.match(showSettings.flow?.url ?? "", /\/settings\?flow=/);

    const who = await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": setToken.ory_session_token ?? "" } });
    assert.equal(who.statusCode, 200, who.body);
    const whoOld = await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": oldToken } });
    assert.equal(whoOld.statusCode, 401, "revoke_active_sessions revoked the earlier session");
    assert.match(await h.mail("alice@example.com"), /recovered/i, "recovery_used notice");

    const again = await post(h.pub, "recovery", flow.id, { method: "code", code });
    assert.equal(again.statusCode, 400);
    assert.deepEqual(messagesOf(json(again)), [4060001], "a finished flow cannot be replayed");
  });

  it("refuses a used code, a code of another flow, an expired code; max_submissions invalidates the flow", async () => {
    await registerApi(h.pub, "bob@example.com", PW);
    await h.mail("bob@example.com"); // the verification message sent after registration
    const a = (await initFlow(h.pub, "recovery", "api")).flow;
    const b = (await initFlow(h.pub, "recovery", "api")).flow;
    await post(h.pub, "recovery", a.id, { method: "code", email: "bob@example.com" });
    const codeA = digitsIn(await h.mail("bob@example.com"), 8);
    await post(h.pub, "recovery", b.id, { method: "code", email: "bob@example.com" });
    await h.mail("bob@example.com");

    const foreign = await post(h.pub, "recovery", b.id, { method: "code", code: codeA });
    assert.equal(foreign.statusCode, 400);
    assert.deepEqual(messagesOf(json(foreign)), [4060006]);

    // Expiry: a new code on flow a, then the clock moves past the code lifespan (1h) but the flow is renewed.
    const c = (await initFlow(h.pub, "recovery", "api")).flow;
    await post(h.pub, "recovery", c.id, { method: "code", email: "bob@example.com" });
    const codeC = digitsIn(await h.mail("bob@example.com"), 8);
    h.t.clock.advance(3_600_001);
    const expired = await post(h.pub, "recovery", c.id, { method: "code", code: codeC });
    assert.ok([400, 410].includes(expired.statusCode), expired.body);
    assert.notEqual(expired.statusCode, 200);

    // max_submissions: 5 wrong codes (a resend in between does not reset the count), then even the right code fails.
    const d = (await initFlow(h.pub, "recovery", "api")).flow;
    await post(h.pub, "recovery", d.id, { method: "code", email: "bob@example.com" });
    await h.mail("bob@example.com");
    for (let i = 0; i < 3; i++) assert.equal((await post(h.pub, "recovery", d.id, { method: "code", code: "00000000" })).statusCode, 400);
    await post(h.pub, "recovery", d.id, { method: "code", email: "bob@example.com" });
    const fresh = digitsIn(await h.mail("bob@example.com"), 8);
    for (let i = 0; i < 2; i++) assert.equal((await post(h.pub, "recovery", d.id, { method: "code", code: "00000001" })).statusCode, 400);
    const locked = await post(h.pub, "recovery", d.id, { method: "code", code: fresh });
    assert.equal(locked.statusCode, 400);
    assert.equal(json(locked).error?.id, "bad_request");
  });

  it("answers a known and an unknown address identically", async () => {
    await registerApi(h.pub, "carol@example.com", PW);
    await h.mail("carol@example.com"); // the verification message sent after registration
    const norm = (s: string, ids: string[]) => ids.reduce((acc, id) => acc.split(id).join("<id>"), s).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<ts>");
    const one = async (email: string) => {
      const { flow } = await initFlow(h.pub, "recovery", "api");
      const res = await post(h.pub, "recovery", flow.id, { method: "code", email });
      const headers = { ...res.headers };
      delete headers.date;
      delete headers["content-length"];
      return { status: res.statusCode, headers: JSON.stringify(headers), body: norm(res.body.replace(email, "<email>"), [flow.id]) };
    };
    const known = await one("carol@example.com");
    const unknown = await one("nobody@example.com");
    assert.deepEqual(unknown, known);
  });

  it("bad input never causes a 500", async () => {
    const { flow } = await initFlow(h.pub, "recovery", "api");
    const cases: [string, unknown][] = [
      ["00000000-0000-4000-8000-000000000000", { method: "code", email: "x@example.com" }],
      ["not-a-uuid", { method: "code", email: "x@example.com" }],
      [flow.id, { method: "password", email: "x@example.com" }],
      [flow.id, { method: "code" }],
      [flow.id, { method: "code", email: ["a"] }],
      [flow.id, { method: "code", email: "not an email" }],
      [flow.id, "{not json"],
    ];
    for (const [id, body] of cases) {
      const res = await post(h.pub, "recovery", id, body);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(body)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    await post(h.pub, "recovery", flow.id, { method: "code", email: "x@example.com" });
    for (const code of [undefined, "", "abc", { a: 1 }, "1".repeat(65), "9".repeat(10 * 1024 * 1024)]) {
      const res = await post(h.pub, "recovery", flow.id, { method: "code", code });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `code ${String(code).slice(0, 20)} -> ${res.statusCode}`);
    }
  });
});

describe("recovery with a link (browser flow)", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness({ selfservice: { flows: { recovery: { use: "link" } } } });
  });
  after(() => h.close());

  it("sends a link; opening it signs in and hands over a settings flow; a second use is refused", async () => {
    await registerApi(h.pub, "dave@example.com", PW);
    await h.mail("dave@example.com"); // the verification message sent after registration
    const { flow, res } = await initFlow(h.pub, "recovery", "browser");
    const cookie = String(res.headers["set-cookie"]).split(";")[0];
    const csrf = (flow.ui.nodes as { attributes: { name?: string; value?: string } }[]).find((n) => n.attributes.name === "csrf_token")?.attributes.value;
    const sent = await post(h.pub, "recovery", flow.id, { method: "link", email: "dave@example.com", csrf_token: csrf }, { cookie });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(messagesOf(json(sent)), [1060002]);
    const text = await h.mail("dave@example.com");
    const link = /(http:\/\/\S+token=[A-Za-z0-9]+)/.exec(text)?.[1];
    assert.ok(link, text);
    const u = new URL(link);
    assert.ok((u.searchParams.get("token") ?? "").length >= 22, "at least 128 bits");
    const open = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(open.statusCode, 303, open.body);
    assert.match(String(open.headers.location), /\/settings\?flow=/);
    assert.match(String(open.headers["set-cookie"]), /ory_kratos_session=/);
    const reuse = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(reuse.statusCode, 303);
    assert.match(String(reuse.headers.location), /\/recovery\?flow=/);
  });
});
