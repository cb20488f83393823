import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { json, registerApi, type Json } from "./harness.ts";
import { createMailHarness, digitsIn, initFlow, messagesOf, post, type MailHarness } from "./recovery-harness.ts";

const PW = "correct horse battery staple 42";

const addressOf = async (h: MailHarness, token: string): Promise<Json> => {
  const who = await h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": token } });
  return (json(who).identity.verifiable_addresses as Json[])[0];
};

describe("verification (code)", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness();
  });
  after(() => h.close());

  it("after registration: continue_with show_verification_ui, a code by mail, the address becomes verified", async () => {
    const reg = await registerApi(h.pub, "erin@example.com", PW);
    const show = (reg.continue_with as Json[]).find((c) => c.action === "show_verification_ui");
    assert.ok(show, JSON.stringify(reg.continue_with));
    assert.equal(show.flow.verifiable_address, "erin@example.com");
    assert.match(show.flow.url, /\/verification\?flow=/);
    assert.equal((await addressOf(h, reg.session_token)).status, "sent");

    const code = digitsIn(await h.mail("erin@example.com"), 6);
    const fetched = await h.pub.inject({ method: "GET", url: `/self-service/verification/flows?id=${show.flow.id}` });
    assert.equal(json(fetched).state, "sent_email");
    const wrong = await post(h.pub, "verification", show.flow.id, { method: "code", code: "000000" === code ? "111111" : "000000" });
    assert.equal(wrong.statusCode, 400);
    assert.deepEqual(messagesOf(json(wrong)), [4070006]);
    const ok = await post(h.pub, "verification", show.flow.id, { method: "code", code });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(json(ok).state, "passed_challenge");
    assert.deepEqual(messagesOf(json(ok)), [1080002]);
    const addr = await addressOf(h, reg.session_token);
    assert.equal(addr.verified, true);
    assert.equal(addr.status, "completed");
    assert.ok(addr.verified_at);
    const reuse = await post(h.pub, "verification", show.flow.id, { method: "code", code });
    assert.equal(reuse.statusCode, 400);
  });

  it("a verification flow started by hand; the link in the mail (GET ?code=) verifies too", async () => {
    const reg = await registerApi(h.pub, "frank@example.com", PW);
    await h.mail("frank@example.com");
    const { flow } = await initFlow(h.pub, "verification", "api");
    const sent = await post(h.pub, "verification", flow.id, { method: "code", email: "frank@example.com" });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(messagesOf(json(sent)), [1080003]);
    const text = await h.mail("frank@example.com");
    const link = new URL(/(http:\/\/\S+code=\d+)/.exec(text)?.[1] ?? "");
    const open = await h.pub.inject({ method: "GET", url: link.pathname + link.search, headers: { accept: "application/json" } });
    assert.equal(open.statusCode, 200, open.body);
    assert.equal((await addressOf(h, reg.session_token)).verified, true);
  });

  it("known and unknown addresses get the same answer; bad input is a 4xx", async () => {
    await registerApi(h.pub, "gina@example.com", PW);
    await h.mail("gina@example.com");
    const answer = async (email: string) => {
      const { flow } = await initFlow(h.pub, "verification", "api");
      const res = await post(h.pub, "verification", flow.id, { method: "code", email });
      return { status: res.statusCode, body: res.body.split(flow.id).join("<id>").split(email).join("<e>").replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<ts>") };
    };
    assert.deepEqual(await answer("nobody@example.com"), await answer("gina@example.com"));

    const { flow } = await initFlow(h.pub, "verification", "api");
    for (const body of [{ method: "link", email: "a@b.co" }, { method: "code" }, { method: "code", email: 5 }, { method: "code", code: "12" }]) {
      const res = await post(h.pub, "verification", flow.id, body);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(body)} -> ${res.statusCode}`);
    }
    const unknownFlow = await post(h.pub, "verification", "7d4b5a8e-0000-4000-8000-000000000000", { method: "code", email: "a@b.co" });
    assert.equal(unknownFlow.statusCode, 404);
    const noToken = await h.pub.inject({ method: "GET", url: "/self-service/verification", headers: { accept: "application/json" } });
    assert.ok(noToken.statusCode >= 400 && noToken.statusCode < 500);
  });
});

describe("login with require_verified_address", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness({ selfservice: { flows: { login: { after: { password: { hooks: [{ hook: "require_verified_address" }] } } } } } });
  });
  after(() => h.close());

  it("an unverified identity gets 403 with a verification flow; once verified it signs in", async () => {
    await registerApi(h.pub, "hank@example.com", PW, { signIn: false });
    await h.mail("hank@example.com");
    const login = async () => {
      const f = json(await h.pub.inject({ method: "GET", url: "/self-service/login/api" }));
      return post(h.pub, "login", f.id, { method: "password", identifier: "hank@example.com", password: PW });
    };
    const blocked = await login();
    assert.equal(blocked.statusCode, 403, blocked.body);
    const err = json(blocked).error;
    assert.equal(err.id, "session_verified_address_required");
    const show = err.details.continue_with[0];
    assert.equal(show.action, "show_verification_ui");
    const code = digitsIn(await h.mail("hank@example.com"), 6);
    assert.equal((await post(h.pub, "verification", show.flow.id, { method: "code", code })).statusCode, 200);
    const ok = await login();
    assert.equal(ok.statusCode, 200, ok.body);
    assert.ok(json(ok).session_token);
  });
});
