/**
 * Verification codes and links beyond the happy path of verification.test.ts: `max_submissions` (also under
 * concurrency), code expiry on a live flow, a code of one flow refused on another, the link method (`?token=`), and
 * malformed codes, all through the public API with the codes read from real mail.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { json, registerApi, type Json } from "./harness.ts";
import { adminIdentity, createMailHarness, digitsIn, initFlow, messagesOf, post, type MailHarness } from "./recovery-harness.ts";

const PW = "correct horse battery staple 42";
const MIN = 60_000;

/** Registers `email` (unverified; the registration's own verification mail is consumed) and returns its identity id. */
async function register(h: MailHarness, email: string): Promise<string> {
  const reg = await registerApi(h.pub, email, PW, { signIn: false });
  await h.mail(email);
  return reg.identity.id as string;
}

/** A verification flow (API) in `sent_email` for `email`, with the code from the mail. */
async function codeFlow(h: MailHarness, email: string): Promise<{ flow: Json; code: string }> {
  const { flow } = await initFlow(h.pub, "verification", "api");
  const sent = await post(h.pub, "verification", flow.id, { method: "code", email });
  assert.equal(sent.statusCode, 200, sent.body);
  assert.deepEqual(messagesOf(json(sent)), [1080003]);
  return { flow, code: digitsIn(await h.mail(email), 6) };
}

const verifiedOf = async (h: MailHarness, identityId: string): Promise<boolean> => (await adminIdentity(h, identityId)).verifiable_addresses[0].verified === true;

describe("verification codes: limits, expiry, other flows, bad input", () => {
  let h: MailHarness;
  before(async () => {
    // Codes live 10 minutes on flows that live 2 hours. Brute-force protection off: `max_submissions` alone counts.
    // Every query yields, so the concurrent submits below really interleave.
    h = await createMailHarness(
      {
        security: { brute_force: { enabled: false } },
        selfservice: { methods: { code: { config: { lifespan: "10m", max_submissions: 5 } } }, flows: { verification: { lifespan: "2h" } } },
      },
      { queryLatency: true },
    );
  });
  after(() => h.close());

  it("max_submissions wrong codes invalidate the flow: the right code is refused after them, a resend too", async () => {
    const id = await register(h, "nia@example.com");
    const { flow, code } = await codeFlow(h, "nia@example.com");
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      const res = await post(h.pub, "verification", flow.id, { method: "code", code: wrong });
      assert.equal(res.statusCode, 200, "a wrong code answers the flow with 200, as Kratos");
      assert.deepEqual(messagesOf(json(res)), [4070006], `attempt ${i + 1}`);
    }
    const right = await post(h.pub, "verification", flow.id, { method: "code", code });
    assert.equal(right.statusCode, 400);
    assert.equal(json(right).error?.id, "bad_request");
    const resend = await post(h.pub, "verification", flow.id, { method: "code", email: "nia@example.com" });
    assert.equal(json(resend).error?.id, "bad_request");
    assert.equal(await verifiedOf(h, id), false);
  });

  it("20 concurrent wrong codes: exactly max_submissions are compared", async () => {
    await register(h, "oli@example.com");
    const { flow, code } = await codeFlow(h, "oli@example.com");
    const wrong = code === "000000" ? "111111" : "000000";
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(h.pub, "verification", flow.id, { method: "code", code: wrong })));
    const evaluated = answers.filter((a) => a.statusCode === 200 && messagesOf(json(a)).includes(4070006)).length;
    assert.equal(evaluated, 5, `${evaluated} codes were compared`);
    assert.equal(answers.filter((a) => a.statusCode === 400 && json(a).error?.id === "bad_request").length, 15, "the rest are refused unevaluated");
    assert.equal(json(await post(h.pub, "verification", flow.id, { method: "code", code })).error?.id, "bad_request");
  });

  it("a code past its lifespan is refused on a live flow (4070006, not 410); a code of another flow is refused", async () => {
    const id = await register(h, "pia@example.com");
    const a = await codeFlow(h, "pia@example.com");
    const b = await codeFlow(h, "pia@example.com");
    const foreign = await post(h.pub, "verification", b.flow.id, { method: "code", code: a.code });
    assert.equal(foreign.statusCode, 200);
    assert.deepEqual(messagesOf(json(foreign)), [4070006], "a's code is worthless on b");
    const foreignLink = await h.pub.inject({ method: "GET", url: `/self-service/verification?flow=${b.flow.id}&code=${a.code}`, headers: { accept: "application/json" } });
    assert.deepEqual(messagesOf(json(foreignLink)), [4070006], "also through the link form");

    h.t.clock.advance(10 * MIN + 1000);
    const fetched = await h.pub.inject({ method: "GET", url: `/self-service/verification/flows?id=${a.flow.id}` });
    assert.equal(fetched.statusCode, 200, "the flow is still live");
    const expired = await post(h.pub, "verification", a.flow.id, { method: "code", code: a.code });
    assert.equal(expired.statusCode, 200, expired.body.slice(0, 300));
    assert.deepEqual(messagesOf(json(expired)), [4070006]);
    assert.equal(await verifiedOf(h, id), false);

    // A new code on the same flow (the failures so far are kept) works within its lifespan.
    const resent = await post(h.pub, "verification", a.flow.id, { method: "code", email: "pia@example.com" });
    assert.equal(resent.statusCode, 200, resent.body);
    const fresh = digitsIn(await h.mail("pia@example.com"), 6);
    h.t.clock.advance(9 * MIN);
    const ok = await post(h.pub, "verification", a.flow.id, { method: "code", code: fresh });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(await verifiedOf(h, id), true);
  });

  it("non-numeric, over-long and 10 MB codes are a 4xx, never a 500", async () => {
    await register(h, "quin@example.com");
    const { flow } = await codeFlow(h, "quin@example.com");
    for (const code of ["abc", "12 34 56", "１２３４５６", { a: 1 }, [1], -1, "1".repeat(65), "9".repeat(10 * 1024 * 1024)]) {
      const res = await post(h.pub, "verification", flow.id, { method: "code", code });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `code ${JSON.stringify(code).slice(0, 20)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    for (const q of ["code=abc", `code=${"1".repeat(5000)}`, "code=%00", "token=", `token=${"a".repeat(5000)}`]) {
      const res = await h.pub.inject({ method: "GET", url: `/self-service/verification?flow=${flow.id}&${q}`, headers: { accept: "application/json" } });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${q.slice(0, 20)} -> ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
  });
});

describe("verification with a link (use: link)", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness({ selfservice: { flows: { verification: { use: "link" } } } });
  });
  after(() => h.close());

  it("the mail's ?token= link verifies the address once; a second use and a forged token are refused", async () => {
    const id = await register(h, "rae@example.com");
    assert.equal(await verifiedOf(h, id), false);
    const { flow } = await initFlow(h.pub, "verification", "api");
    const sent = await post(h.pub, "verification", flow.id, { method: "link", email: "rae@example.com" });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(messagesOf(json(sent)), [1080001]);
    const text = await h.mail("rae@example.com");
    const link = /(http:\/\/\S+verification\?\S*token=[A-Za-z0-9]+)/.exec(text)?.[1];
    assert.ok(link, text);
    const u = new URL(link);
    assert.equal(u.searchParams.get("flow"), flow.id);
    assert.ok((u.searchParams.get("token") ?? "").length >= 22, "at least 128 bits");

    const open = await h.pub.inject({ method: "GET", url: u.pathname + u.search, headers: { accept: "application/json" } });
    assert.equal(open.statusCode, 200, open.body);
    assert.equal(json(open).state, "passed_challenge");
    assert.deepEqual(messagesOf(json(open)), [1080002]);
    const addr = (await adminIdentity(h, id)).verifiable_addresses[0];
    assert.equal(addr.verified, true);
    assert.equal(addr.status, "completed");

    const reuse = await h.pub.inject({ method: "GET", url: u.pathname + u.search, headers: { accept: "application/json" } });
    assert.equal(reuse.statusCode, 400);
    assert.deepEqual(messagesOf(json(reuse)), [4070001]);
    const forged = new URL(link);
    forged.searchParams.set("token", "A".repeat(32));
    const bad = await h.pub.inject({ method: "GET", url: forged.pathname + forged.search, headers: { accept: "application/json" } });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(messagesOf(json(bad)), [4070001]);
  });

  it("an expired link is refused and leaves the address unverified", async () => {
    const id = await register(h, "sol@example.com");
    const { flow } = await initFlow(h.pub, "verification", "api");
    await post(h.pub, "verification", flow.id, { method: "link", email: "sol@example.com" });
    const link = new URL(/(http:\/\/\S+token=[A-Za-z0-9]+)/.exec(await h.mail("sol@example.com"))?.[1] ?? "");
    h.t.clock.advance(60 * MIN + 1000); // the link lifespan (default 1h)
    const open = await h.pub.inject({ method: "GET", url: link.pathname + link.search, headers: { accept: "application/json" } });
    assert.equal(open.statusCode, 400, open.body.slice(0, 300));
    assert.deepEqual(messagesOf(json(open)), [4070001]);
    assert.equal(await verifiedOf(h, id), false);
  });
});
