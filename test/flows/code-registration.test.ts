/**
 * Passwordless code registration over HTTP with the real SMTP sink: the code creates the identity with its address
 * verified and signs in (`after.code` session hook); a taken address is answered exactly like a free one while its
 * owner is mailed and nothing is created; wrong / mismatched / expired / reused codes; bad input; the method is not
 * offered when `passwordless_enabled` is off; Kratos's answers when enumeration mitigation is off.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { noStrategyFound } from "../../src/ui/messages.ts";
import { apiFlow, browserFlow, createFlowsHarness, csrfOf, flowIdFrom, Jar, json, node, submitForm, type FlowsHarness, type Json } from "./harness.ts";
import { createMailHarness, digitsIn, messagesOf, post, type MailHarness } from "./recovery-harness.ts";
import type { LightMyRequestResponse } from "fastify";

// As in code-login.test.ts (importing it would run its suite here too).
const PASSWORDLESS = {
  selfservice: {
    methods: { code: { passwordless_enabled: true, config: { lifespan: "15m" } } },
    flows: { registration: { after: { code: { hooks: [{ hook: "session" }] } } } },
  },
  security: { brute_force: { messages: { per_address: 1000 } } },
};

/** Status, header names and body with ids, timestamps and the address replaced. */
const shape = (res: LightMyRequestResponse, address: string) => ({
  status: res.statusCode,
  headers: Object.keys(res.headers).sort(),
  body: res.body
    .split(address)
    .join("<address>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>"),
});

const codeSubmit = (flow: Json): Json | undefined => (flow.ui.nodes as Json[]).find((n) => n.attributes.name === "method" && n.attributes.value === "code");

describe("code registration (passwordless, real SMTP)", () => {
  let h: MailHarness;
  const queued = async (recipient: string): Promise<string[]> =>
    (await h.t.app.deps.database.db.selectFrom("courier_messages").select("template_type").where("recipient", "=", recipient).execute()).map((r) => r.template_type);
  const identities = async (): Promise<number> => h.t.app.deps.repo.count();
  const send = (flow: Json, traits: unknown) => post(h.pub, "registration", flow.id as string, { method: "code", traits });
  const redeem = (flow: Json, traits: unknown, code: unknown) => post(h.pub, "registration", flow.id as string, { method: "code", traits, code });
  const sentFlow = async (email: string, traits: Json = { email }): Promise<{ flow: Json; code: string }> => {
    const flow = await apiFlow(h.pub, "registration");
    const res = await send(flow, traits);
    assert.equal(res.statusCode, 400, res.body);
    return { flow, code: digitsIn(await h.mail(email), 6) };
  };

  before(async () => {
    h = await createMailHarness(PASSWORDLESS);
  });
  after(() => h.close());

  it("API: traits -> sent_email with 1040005; the code creates the identity (address verified) and signs in", async () => {
    const flow = await apiFlow(h.pub, "registration");
    assert.equal(codeSubmit(flow)?.meta.label.id, 1040006);
    const traits = { email: "Newbie@Example.com", name: { first: "New", last: "Bie" } };
    const sent = await send(flow, traits);
    assert.equal(sent.statusCode, 400, sent.body);
    const f = json(sent);
    assert.equal(f.state, "sent_email");
    assert.deepEqual(messagesOf(f), [1040005]);
    assert.equal(node(f, "traits.email").attributes.type, "hidden");
    assert.equal(node(f, "traits.email").attributes.value, "newbie@example.com");
    assert.equal(node(f, "traits.name.first").attributes.value, "New");
    assert.equal(node(f, "code").meta.label.id, 1070012);
    assert.equal(node(f, "resend").attributes.value, "code");
    assert.ok(!(f.ui.nodes as Json[]).some((n) => n.attributes.name === "password"), "the password form is gone");
    assert.deepEqual(await queued("newbie@example.com"), ["registration_code_valid"]);
    const before = await identities();

    const code = digitsIn(await h.mail("newbie@example.com"), 6);
    const ok = await redeem(f, traits, code);
    assert.equal(ok.statusCode, 200, ok.body);
    const body = json(ok);
    assert.equal(await identities(), before + 1);
    assert.equal(body.identity.traits.email, "newbie@example.com");
    assert.equal(body.identity.verifiable_addresses[0].verified, true);
    assert.equal(body.identity.verifiable_addresses[0].status, "completed");
    assert.match(body.session_token as string, /^ory_st_/);
    assert.equal(body.continue_with[0].action, "set_ory_session_token");
    const who = await h.pub.inject({ url: "/sessions/whoami", headers: { "x-session-token": body.session_token as string } });
    assert.equal(who.statusCode, 200, who.body);
    assert.deepEqual(await queued("newbie@example.com"), ["registration_code_valid"], "no verification mail: the code verified the address");

    // The new identity can sign in with a code.
    const login = await apiFlow(h.pub, "login");
    const ls = await post(h.pub, "login", login.id as string, { method: "code", identifier: "newbie@example.com" });
    assert.deepEqual(messagesOf(json(ls)), [1010014]);
    const lc = digitsIn(await h.mail("newbie@example.com"), 6);
    assert.equal((await post(h.pub, "login", login.id as string, { method: "code", code: lc })).statusCode, 200);
  });

  it("browser: form posts carry traits.* fields; 303 to the UI, then to the return URL with a session cookie", async () => {
    const jar = new Jar();
    const flow = await browserFlow(h.pub, "registration", jar);
    const sent = await submitForm(h.pub, flow, { method: "code", "traits.email": "formy@example.com", csrf_token: csrfOf(flow) }, { cookie: jar.header() });
    assert.equal(sent.statusCode, 303, sent.body);
    assert.equal(flowIdFrom(String(sent.headers.location)), flow.id);
    jar.take(sent);
    const f = json(await h.pub.inject({ url: `/self-service/registration/flows?id=${flow.id as string}`, headers: { cookie: jar.header() } }));
    assert.equal(f.state, "sent_email");
    const code = digitsIn(await h.mail("formy@example.com"), 6);
    const done = await submitForm(h.pub, f, { method: "code", "traits.email": "formy@example.com", code, csrf_token: csrfOf(f) }, { cookie: jar.header() });
    assert.equal(done.statusCode, 303, done.body);
    jar.take(done);
    assert.ok(jar.cookies.has("ory_kratos_session"));
    assert.equal((await h.pub.inject({ url: "/sessions/whoami", headers: { cookie: jar.header() } })).statusCode, 200);
  });

  it("a taken address is answered exactly like a free one; the owner is mailed; nothing is created or changed", async () => {
    const owner = json(await h.t.app.admin.inject({ method: "POST", url: "/admin/identities", payload: { schema_id: "default", traits: { email: "owner1@example.com" } } }));
    const count = await identities();
    const taken = await apiFlow(h.pub, "registration");
    const free = await apiFlow(h.pub, "registration");
    const t = await send(taken, { email: "owner1@example.com" });
    const f = await send(free, { email: "fresh1@example.com" });
    assert.deepEqual(shape(t, "owner1@example.com"), shape(f, "fresh1@example.com"));
    assert.deepEqual(await queued("owner1@example.com"), ["registration_attempt"]);
    assert.deepEqual(await queued("fresh1@example.com"), ["registration_code_valid"]);
    assert.match(await h.mail("owner1@example.com"), /Someone tried to create an account with this address/);
    await h.mail("fresh1@example.com");

    // No code exists for the taken address: every guess answers like a wrong code on the free flow.
    const tw = await redeem(taken, { email: "owner1@example.com" }, "123456");
    const fw = await redeem(free, { email: "fresh1@example.com" }, "123456");
    assert.deepEqual(shape(tw, "owner1@example.com"), shape(fw, "fresh1@example.com"));
    assert.deepEqual(messagesOf(json(tw)), [4040003]);
    assert.equal(await identities(), count, "nothing created");
    const still = json(await h.t.app.admin.inject({ url: `/admin/identities/${owner.id as string}` }));
    assert.equal(still.updated_at, owner.updated_at, "the owner's identity is unchanged");
    assert.equal(still.verifiable_addresses[0].verified, false);
  });

  it("wrong code 4040003 (counted), traits changed after the send 4000036, expired and reused codes refused", async () => {
    const a = await sentFlow("wrong@example.com");
    const bad = await redeem(a.flow, { email: "wrong@example.com" }, a.code === "000000" ? "000001" : "000000");
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(messagesOf(json(bad)), [4040003]);
    const swapped = await redeem(a.flow, { email: "other@example.com" }, a.code);
    assert.deepEqual(messagesOf(json(swapped)), [4000036], "the code is bound to the traits it was sent for");
    for (let i = 0; i < 4; i++) await redeem(a.flow, { email: "wrong@example.com" }, "999999x");
    const exhausted = await redeem(a.flow, { email: "wrong@example.com" }, a.code);
    assert.equal(json(exhausted).error?.id, "bad_request", "max_submissions used up");

    const b = await sentFlow("late@example.com");
    h.t.clock.advance(15 * 60_000 + 1);
    assert.deepEqual(messagesOf(json(await redeem(b.flow, { email: "late@example.com" }, b.code))), [4040003], "expired");

    const c = await sentFlow("twice@example.com");
    const d = await sentFlow("twice@example.com");
    assert.deepEqual(messagesOf(json(await redeem(d.flow, { email: "twice@example.com" }, c.code))), [4040003], "another flow's code");
    const both = await Promise.all([redeem(d.flow, { email: "twice@example.com" }, d.code), redeem(d.flow, { email: "twice@example.com" }, d.code)]);
    assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 400]);
    // The other flow's own code now meets an existing account: refused, nothing created twice.
    const dup = await redeem(c.flow, { email: "twice@example.com" }, c.code);
    assert.equal(dup.statusCode, 400, dup.body);
    assert.equal((await h.t.app.deps.repo.list({ pageSize: 5, credentialsIdentifier: "twice@example.com" })).length, 1);
  });

  it("bad input answers 4xx, never 500", async () => {
    const flow = await apiFlow(h.pub, "registration");
    const missing = await post(h.pub, "registration", flow.id as string, { method: "code" });
    assert.equal(missing.statusCode, 400, missing.body);
    assert.deepEqual(node(json(missing), "traits.email").messages.map((m: Json) => m.id), [4000002]);
    for (const traits of [{ email: "not an email" }, { email: 42 }, "x", [1], { email: "a@example.com", extra: 1 }]) {
      const res = await send(flow, traits);
      assert.equal(res.statusCode, 400, `${JSON.stringify(traits)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const { flow: sent } = await sentFlow("input@example.com");
    for (const code of ["", "abc", { a: 1 }, "1".repeat(65)]) {
      const res = await redeem(sent, { email: "input@example.com" }, code);
      assert.equal(res.statusCode, 400, `code ${JSON.stringify(code)} -> ${res.statusCode}`);
    }
    const huge = await redeem(sent, { email: "input@example.com" }, "9".repeat(10 * 1024 * 1024));
    assert.ok(huge.statusCode >= 400 && huge.statusCode < 500, `10 MB code -> ${huge.statusCode}`);
  });
});

describe("code method switched off, and enumeration mitigation off", () => {
  let off: FlowsHarness;
  let open: FlowsHarness;
  before(async () => {
    [off, open] = await Promise.all([
      createFlowsHarness(),
      createFlowsHarness({ ...PASSWORDLESS, security: { ...PASSWORDLESS.security, account_enumeration: { mitigate: false } } }),
    ]);
  });
  after(async () => {
    await Promise.all([off.close(), open.close()]);
  });

  it("passwordless_enabled false (default): not offered, and method=code is refused", async () => {
    for (const kind of ["login", "registration"] as const) {
      const flow = await apiFlow(off.pub, kind);
      assert.equal(codeSubmit(flow), undefined, `${kind} offers no code method`);
      const res = await post(off.pub, kind, flow.id as string, { method: "code", identifier: "a@example.com", traits: { email: "a@example.com" } });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(messagesOf(json(res)), [noStrategyFound(kind).id]);
    }
  });

  it("mitigation off: Kratos's answers (4000035 unknown login address, 4000007 taken address) and nothing is sent", async () => {
    const admin = await open.t.app.admin.inject({ method: "POST", url: "/admin/identities", payload: { schema_id: "default", traits: { email: "taken@example.com" } } });
    assert.equal(admin.statusCode, 201);
    const login = await apiFlow(open.pub, "login");
    const unknown = await post(open.pub, "login", login.id as string, { method: "code", identifier: "ghost@example.com" });
    assert.deepEqual(messagesOf(json(unknown)), [4000035]);
    const reg = await apiFlow(open.pub, "registration");
    const dup = await post(open.pub, "registration", reg.id as string, { method: "code", traits: { email: "taken@example.com" } });
    assert.deepEqual(messagesOf(json(dup)), [4000007]);
    const rows = await open.t.app.deps.database.db.selectFrom("courier_messages").select("recipient").execute();
    assert.deepEqual(rows, []);
  });
});
