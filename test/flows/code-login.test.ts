/**
 * Passwordless code login over HTTP (`selfservice.methods.code.passwordless_enabled: true`) with the real SMTP sink:
 * API and browser sign-in, wrong / expired / reused / foreign codes, max_submissions and the brute-force throttle,
 * enumeration-safe answers (identical answers, exactly one queued message per send), and bad input.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { apiFlow, browserFlow, csrfOf, flowIdFrom, Jar, json, node, submitForm, type Json } from "./harness.ts";
import { createMailHarness, digitsIn, messagesOf, post, type MailHarness } from "./recovery-harness.ts";
import { compareTiming, formatReport } from "../security/timing.ts";

const PASSWORDLESS = {
  selfservice: {
    methods: { code: { passwordless_enabled: true, config: { lifespan: "15m" } } },
    flows: { registration: { after: { code: { hooks: [{ hook: "session" }] } } } },
  },
  // Many codes go to a handful of addresses from one test client: lift the message cap, keep the guess throttle.
  security: { brute_force: { messages: { per_address: 1000 } } },
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d\d-\d\dT[\d:.]+Z/g;

/** Status, header names and body with ids, timestamps and the address replaced. */
function shape(res: LightMyRequestResponse, address: string): { status: number; headers: string[]; body: string } {
  return {
    status: res.statusCode,
    headers: Object.keys(res.headers).sort(),
    body: res.body.split(address).join("<address>").replace(UUID, "<id>").replace(TIME, "<time>"),
  };
}

describe("code login (passwordless, real SMTP)", () => {
  let h: MailHarness;

  const createIdentity = async (email: string, state = "active"): Promise<Json> => {
    const res = await h.t.app.admin.inject({ method: "POST", url: "/admin/identities", payload: { schema_id: "default", traits: { email }, state } });
    assert.equal(res.statusCode, 201, res.body);
    return json(res);
  };
  const queued = async (recipient: string): Promise<string[]> =>
    (await h.t.app.deps.database.db.selectFrom("courier_messages").select("template_type").where("recipient", "=", recipient).execute()).map((r) => r.template_type);
  const send = (flow: Json, identifier: unknown) => post(h.pub, "login", flow.id as string, { method: "code", identifier });
  const redeem = (flow: Json, code: unknown, identifier?: string) => post(h.pub, "login", flow.id as string, { method: "code", identifier, code });
  /** An API flow in state sent_email for `email`, and the code mailed for it. */
  const sentFlow = async (email: string): Promise<{ flow: Json; code: string }> => {
    const flow = await apiFlow(h.pub, "login");
    const res = await send(flow, email);
    assert.equal(res.statusCode, 400, res.body);
    return { flow, code: digitsIn(await h.mail(email), 6) };
  };

  before(async () => {
    h = await createMailHarness(PASSWORDLESS);
  });
  after(() => h.close());

  it("API: identifier -> sent_email with 1010014 and the code form; the mailed code gives a session and verifies the address", async () => {
    const id = await createIdentity("ann@example.com");
    const flow = await apiFlow(h.pub, "login");
    const offer = (flow.ui.nodes as Json[]).find((n) => n.attributes.name === "method" && n.attributes.value === "code");
    assert.equal(offer?.meta.label.id, 1010015);
    assert.equal(node(flow, "identifier").group, "default");

    const sent = await send(flow, " Ann@Example.com");
    assert.equal(sent.statusCode, 400, "Kratos answers the sent_email flow with 400");
    const f = json(sent);
    assert.equal(f.state, "sent_email");
    assert.equal(f.active, "code");
    assert.deepEqual(messagesOf(f), [1010014]);
    assert.deepEqual(
      (f.ui.nodes as Json[]).map((n) => `${n.group}:${n.attributes.name}:${n.attributes.type}:${n.attributes.value ?? ""}`),
      ["default:csrf_token:hidden:", "default:identifier:hidden:ann@example.com", "code:method:hidden:code", "code:code:text:", "code:method:submit:code", "code:resend:submit:code"],
    );
    assert.equal(node(f, "code").meta.label.id, 1070013);
    assert.equal(node(f, "resend").meta.label.id, 1070008);
    assert.deepEqual(await queued("ann@example.com"), ["login_code_valid"]);

    const code = digitsIn(await h.mail("ann@example.com"), 6);
    const ok = await redeem(f, code, "ann@example.com");
    assert.equal(ok.statusCode, 200, ok.body);
    const body = json(ok);
    assert.match(body.session_token as string, /^ory_st_[A-Za-z0-9]{32}$/);
    assert.equal(body.session.identity.id, id.id);
    assert.equal(body.session.authentication_methods[0].method, "code");
    const who = await h.pub.inject({ url: "/sessions/whoami", headers: { "x-session-token": body.session_token as string } });
    assert.equal(who.statusCode, 200, who.body);
    const after = json(await h.t.app.admin.inject({ url: `/admin/identities/${id.id as string}` }));
    assert.equal(after.verifiable_addresses[0].verified, true, "the code proved the address");
    assert.equal(after.verifiable_addresses[0].status, "completed");
  });

  it("browser: form posts with CSRF, 303s to the UI, then the session cookie", async () => {
    await createIdentity("bea@example.com");
    const jar = new Jar();
    const flow = await browserFlow(h.pub, "login", jar);
    const noCsrf = await submitForm(h.pub, flow, { method: "code", identifier: "bea@example.com" }, { cookie: jar.header() });
    assert.equal(noCsrf.statusCode, 303, "forms get the error UI");
    assert.equal(await queued("bea@example.com").then((q) => q.length), 0, "nothing sent without CSRF");

    const sent = await submitForm(h.pub, flow, { method: "code", identifier: "bea@example.com", csrf_token: csrfOf(flow) }, { cookie: jar.header() });
    assert.equal(sent.statusCode, 303, sent.body);
    assert.equal(flowIdFrom(String(sent.headers.location)), flow.id);
    assert.match(String(sent.headers.location), /^http:\/\/127\.0\.0\.1:4455\/login\?flow=/);
    jar.take(sent);
    const fetched = await h.pub.inject({ url: `/self-service/login/flows?id=${flow.id as string}`, headers: { cookie: jar.header() } });
    const f = json(fetched);
    assert.equal(f.state, "sent_email");
    assert.deepEqual(messagesOf(f), [1010014]);

    const code = digitsIn(await h.mail("bea@example.com"), 6);
    const done = await submitForm(h.pub, f, { method: "code", identifier: "bea@example.com", code, csrf_token: csrfOf(f) }, { cookie: jar.header() });
    assert.equal(done.statusCode, 303, done.body);
    assert.equal(done.headers.location, "http://127.0.0.1:4455/welcome");
    jar.take(done);
    assert.ok(jar.cookies.has("ory_kratos_session"));
    const who = await h.pub.inject({ url: "/sessions/whoami", headers: { cookie: jar.header() } });
    assert.equal(who.statusCode, 200, who.body);
  });

  it("a wrong code answers 4010008 and counts: after max_submissions even the right code is refused", async () => {
    await createIdentity("cid@example.com");
    const { flow, code } = await sentFlow("cid@example.com");
    const wrong = code === "000000" ? "000001" : "000000";
    for (let i = 0; i < 5; i++) {
      const res = await redeem(flow, wrong);
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(messagesOf(json(res)), [4010008]);
    }
    const refused = await redeem(flow, code);
    assert.equal(refused.statusCode, 400);
    assert.equal(json(refused).error?.id, "bad_request", "the flow used up its allowance");
    const resend = await post(h.pub, "login", flow.id as string, { method: "code", identifier: "cid@example.com", resend: "code" });
    assert.equal(json(resend).error?.id, "bad_request", "a resend does not reset it");

    // The throttle counts per address across flows: a fresh flow is refused (429) before any code is compared.
    const next = await sentFlow("cid@example.com");
    const throttled = await redeem(next.flow, next.code);
    assert.equal(throttled.statusCode, 429, throttled.body);
    assert.ok(Number(throttled.headers["retry-after"]) >= 1);
    h.t.clock.advance(3_000);
    const ok = await redeem(next.flow, next.code);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it("refuses an expired code, a code of another flow, a resent-over code and a reused code", async () => {
    await createIdentity("dan@example.com");
    // Expired: the code lives 15 minutes, the flow an hour.
    const a = await sentFlow("dan@example.com");
    h.t.clock.advance(15 * 60_000 + 1);
    const expired = await redeem(a.flow, a.code);
    assert.equal(expired.statusCode, 400, expired.body);
    assert.deepEqual(messagesOf(json(expired)), [4010008]);

    // Another flow's code is worthless here (the code's HMAC covers the flow id).
    const b = await sentFlow("dan@example.com");
    const c = await sentFlow("dan@example.com");
    const foreign = await redeem(c.flow, b.code);
    assert.deepEqual(messagesOf(json(foreign)), [4010008]);

    // A resend replaces the code: the earlier one stops working, the new one works.
    const resent = await post(h.pub, "login", c.flow.id as string, { method: "code", identifier: "dan@example.com", resend: "code" });
    assert.equal(resent.statusCode, 400);
    assert.deepEqual(messagesOf(json(resent)), [1010014]);
    const fresh = digitsIn(await h.mail("dan@example.com"), 6);
    if (fresh !== c.code) assert.deepEqual(messagesOf(json(await redeem(c.flow, c.code))), [4010008]);

    // Reuse: two concurrent submissions of one code give exactly one session; afterwards the flow is done.
    const both = await Promise.all([redeem(c.flow, fresh), redeem(c.flow, fresh)]);
    assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 400], both.map((r) => r.body.slice(0, 120)).join("\n"));
    const again = await redeem(c.flow, fresh);
    assert.equal(again.statusCode, 400);
    assert.notEqual(again.statusCode, 200);
  });

  it("known and unknown addresses: identical answers, exactly one message each (login_code vs login_unknown)", async () => {
    await createIdentity("known1@example.com");
    const known = await apiFlow(h.pub, "login");
    const unknown = await apiFlow(h.pub, "login");
    const k = await send(known, "known1@example.com");
    const u = await send(unknown, "nobody@example.com");
    assert.deepEqual(shape(u, "nobody@example.com"), shape(k, "known1@example.com"));
    assert.deepEqual(await queued("known1@example.com"), ["login_code_valid"]);
    assert.deepEqual(await queued("nobody@example.com"), ["login_code_invalid"]);
    assert.match(await h.mail("nobody@example.com"), /tried to sign in with this address, but no account uses it/);
    await h.mail("known1@example.com");

    // A guessed code on the unknown branch answers exactly like a wrong one on the known branch.
    const kw = await redeem(known, "123456");
    const uw = await redeem(unknown, "123456");
    assert.deepEqual(shape(uw, "nobody@example.com"), shape(kw, "known1@example.com"));
    assert.deepEqual(messagesOf(json(uw)), [4010008]);

    // An inactive identity is treated as known (a code is sent) and learns it is disabled only after a right code.
    await createIdentity("off@example.com", "inactive");
    const { flow, code } = await sentFlow("off@example.com");
    const disabled = await redeem(flow, code);
    assert.equal(disabled.statusCode, 401, disabled.body);
    assert.equal(json(disabled).error.id, "identity_disabled");
  });

  it("bad input answers 4xx, never 500", async () => {
    const flow = await apiFlow(h.pub, "login");
    const missing = await post(h.pub, "login", flow.id as string, { method: "code" });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(node(json(missing), "identifier").messages.map((m: Json) => m.id), [4000002]);
    for (const identifier of ["", "not an email", ["a@example.com"], { a: 1 }, 42, `${"a".repeat(300)}@example.com`]) {
      const res = await send(flow, identifier);
      assert.equal(res.statusCode, 400, `${JSON.stringify(identifier).slice(0, 40)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    await createIdentity("eve@example.com");
    const { flow: sent } = await sentFlow("eve@example.com");
    for (const code of ["", "abc", "12 34", { a: 1 }, ["123456"], -1, "1".repeat(65)]) {
      const res = await redeem(sent, code);
      assert.equal(res.statusCode, 400, `code ${JSON.stringify(code)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const huge = await post(h.pub, "login", sent.id as string, { method: "code", code: "9".repeat(10 * 1024 * 1024) });
    assert.ok(huge.statusCode >= 400 && huge.statusCode < 500, `10 MB code -> ${huge.statusCode}`);
    for (const body of ["{not json", "null", "[]"]) {
      const res = await post(h.pub, "login", sent.id as string, body);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${body} -> ${res.statusCode}`);
    }
  });

  it("timing over a real socket: sending to a known vs an unknown address (TESTING.md criteria)", async () => {
    await createIdentity("tim@example.com");
    const base = await h.pub.listen({ port: 0, host: "127.0.0.1" });
    const flows = { known: await apiFlow(h.pub, "login"), unknown: await apiFlow(h.pub, "login") };
    // Each sample is a resend on one flow per class: the same work as a first send (delete, insert, enqueue).
    const submit = async (flow: Json, identifier: string) => {
      const res = await fetch(`${base}/self-service/login?flow=${flow.id as string}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ method: "code", identifier, resend: "code" }),
      });
      await res.text();
      assert.equal(res.status, 400);
    };
    const report = await compareTiming(
      "code login send",
      () => submit(flows.known, "tim@example.com"),
      () => submit(flows.unknown, "nob@example.com"),
      // Half of TESTING.md's 200 samples: each send is a write transaction (~5-10 ms on SQLite), keep the file fast.
      { samples: 100, warmup: 10 },
    );
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});
