import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { json, registerApi, type Json } from "./harness.ts";
import { createMailHarness, digitsIn, initFlow, messagesOf, outbox, post, registerVerified, type MailHarness } from "./recovery-harness.ts";

const PW = "correct horse battery staple 42";
const MIN = 60_000;
const HOUR = 60 * MIN;

const whoami = (h: MailHarness, token: string) => h.pub.inject({ method: "GET", url: "/sessions/whoami", headers: { "x-session-token": token } });

/** A recovery flow (API) in `sent_email` for `email`, with the code read from the mail. */
async function codeFlow(h: MailHarness, email: string): Promise<{ flow: Json; code: string }> {
  const { flow } = await initFlow(h.pub, "recovery", "api");
  const sent = await post(h.pub, "recovery", flow.id, { method: "code", email });
  assert.equal(sent.statusCode, 200, sent.body);
  return { flow, code: digitsIn(await h.mail(email), 8) };
}

describe("recovery with a code (API flows, real SMTP)", () => {
  let h: MailHarness;
  before(async () => {
    // The per-address brute-force throttle of code guesses is tested in test/security/code-throttle.test.ts; here
    // the per-flow `max_submissions` alone is under test.
    h = await createMailHarness({ security: { brute_force: { identifier: { free_attempts: 20 } } } });
  });
  after(() => h.close());

  it("sends a code, a correct code gives a session, a settings flow and revokes the old sessions", async () => {
    const reg = await registerVerified(h, "alice@example.com", PW);
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

    assert.equal((await whoami(h, setToken.ory_session_token ?? "")).statusCode, 200);
    assert.equal((await whoami(h, oldToken)).statusCode, 401, "revoke_active_sessions revoked the earlier session");
    assert.match(await h.mail("alice@example.com"), /recovered/i, "recovery_used notice");

    const again = await post(h.pub, "recovery", flow.id, { method: "code", code });
    assert.equal(again.statusCode, 400);
    assert.deepEqual(messagesOf(json(again)), [4060001], "a finished flow cannot be replayed");
  });

  it("refuses a code of another flow and a used code; max_submissions wrong codes invalidate the flow", async () => {
    await registerApi(h.pub, "bob@example.com", PW, { signIn: false });
    await h.mail("bob@example.com"); // the verification message sent after registration
    const a = await codeFlow(h, "bob@example.com");
    const b = await codeFlow(h, "bob@example.com");

    const foreign = await post(h.pub, "recovery", b.flow.id, { method: "code", code: a.code });
    assert.equal(foreign.statusCode, 200, "a wrong code answers the flow with 200, as Kratos");
    assert.deepEqual(messagesOf(json(foreign)), [4060006], "a code is only valid on the flow it was sent for");
    assert.equal((await post(h.pub, "recovery", a.flow.id, { method: "code", code: a.code })).statusCode, 200);
    await h.mail("bob@example.com"); // recovery_used
    const used = await post(h.pub, "recovery", b.flow.id, { method: "code", code: a.code });
    assert.equal(used.statusCode, 200);
    assert.deepEqual(messagesOf(json(used)), [4060006], "still refused on b after being used on a");

    // 5 wrong codes (a resend in between does not reset the count), then even the right code fails.
    const d = await codeFlow(h, "bob@example.com");
    for (let i = 0; i < 3; i++) assert.deepEqual(messagesOf(json(await post(h.pub, "recovery", d.flow.id, { method: "code", code: "00000000" }))), [4060006]);
    await post(h.pub, "recovery", d.flow.id, { method: "code", email: "bob@example.com" });
    const fresh = digitsIn(await h.mail("bob@example.com"), 8);
    for (let i = 0; i < 2; i++) assert.deepEqual(messagesOf(json(await post(h.pub, "recovery", d.flow.id, { method: "code", code: "00000001" }))), [4060006]);
    const locked = await post(h.pub, "recovery", d.flow.id, { method: "code", code: fresh });
    assert.equal(locked.statusCode, 400);
    assert.equal(json(locked).error?.id, "bad_request");
    const resend = await post(h.pub, "recovery", d.flow.id, { method: "code", email: "bob@example.com" });
    assert.equal(json(resend).error?.id, "bad_request", "an invalidated flow sends no new code either");
  });

  it("answers a known and an unknown address identically", async () => {
    await registerApi(h.pub, "carol@example.com", PW, { signIn: false });
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

describe("recovery codes: lifespan, max_submissions under concurrency, the commit transaction", () => {
  let h: MailHarness;
  before(async () => {
    // Codes live 10 minutes on flows that live 2 hours, so a code can expire on a live flow. Brute-force protection
    // off: `max_submissions` alone must hold the line. Every query yields, so concurrent requests really interleave.
    h = await createMailHarness(
      {
        security: { brute_force: { enabled: false } },
        selfservice: { methods: { code: { config: { lifespan: "10m", max_submissions: 5 } } }, flows: { recovery: { lifespan: "2h" } } },
      },
      { queryLatency: true },
    );
    await registerApi(h.pub, "erik@example.com", PW, { signIn: false });
    await h.mail("erik@example.com");
  });
  after(() => h.close());

  it("a code past its lifespan is refused on a flow that is still live (4060006, not 410)", async () => {
    const early = await codeFlow(h, "erik@example.com");
    const late = await codeFlow(h, "erik@example.com");
    h.t.clock.advance(9 * MIN);
    const inTime = await post(h.pub, "recovery", early.flow.id, { method: "code", code: early.code });
    assert.equal(inTime.statusCode, 200, `9 minutes in, the code works: ${inTime.body.slice(0, 300)}`);
    await h.mail("erik@example.com"); // recovery_used

    h.t.clock.advance(MIN + 1000);
    const fetched = await h.pub.inject({ method: "GET", url: `/self-service/recovery/flows?id=${late.flow.id}` });
    assert.equal(fetched.statusCode, 200, "the flow itself is still live");
    const expired = await post(h.pub, "recovery", late.flow.id, { method: "code", code: late.code });
    assert.equal(expired.statusCode, 200, expired.body.slice(0, 300));
    assert.deepEqual(messagesOf(json(expired)), [4060006]);
    assert.equal(json(expired).state, "sent_email");
  });

  it("20 concurrent wrong codes: at most max_submissions (5) are evaluated, then the flow is invalidated", async () => {
    const { flow, code } = await codeFlow(h, "erik@example.com");
    const wrong = code === "12345678" ? "87654321" : "12345678";
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(h.pub, "recovery", flow.id, { method: "code", code: wrong })));
    const evaluated = answers.filter((a) => a.statusCode === 200 && messagesOf(json(a)).includes(4060006)).length;
    const refused = answers.filter((a) => a.statusCode === 400 && json(a).error?.id === "bad_request").length;
    assert.equal(evaluated, 5, `${evaluated} codes were compared`);
    assert.equal(refused, 15);
    const right = await post(h.pub, "recovery", flow.id, { method: "code", code });
    assert.equal(right.statusCode, 400);
    assert.equal(json(right).error?.id, "bad_request", "the right code no longer works on the invalidated flow");
  });

  it("the code is spent and recovery_used queued in one transaction: if the outbox write fails, nothing happened", async () => {
    const reg = await registerVerified(h, "fay@example.com", PW);
    const { flow, code } = await codeFlow(h, "fay@example.com");
    const { db } = h.t.app.deps.database;
    // A real failure of the outbox insert for this one template, raised by the database inside the transaction.
    await sql`create trigger fail_recovery_used before insert on courier_messages when new.template_type = 'recovery_used'
      begin select raise(abort, 'outbox unavailable'); end`.execute(db);
    try {
      const failed = await post(h.pub, "recovery", flow.id, { method: "code", code });
      assert.equal(failed.statusCode, 500, failed.body.slice(0, 300));
    } finally {
      await sql`drop trigger fail_recovery_used`.execute(db);
    }
    assert.equal((await whoami(h, reg.session_token as string)).statusCode, 200, "no recovery happened: sessions not revoked");
    assert.equal((await outbox(h, "recovery_used", "fay@example.com")).length, 0);

    const ok = await post(h.pub, "recovery", flow.id, { method: "code", code });
    assert.equal(ok.statusCode, 200, `the code was not spent by the failed attempt: ${ok.body.slice(0, 300)}`);
    assert.equal((await outbox(h, "recovery_used", "fay@example.com")).length, 1);
    assert.equal((await whoami(h, reg.session_token as string)).statusCode, 401, "now revoked");
  });

  it("two concurrent submits of the right code: one recovery, one notice", async () => {
    await registerApi(h.pub, "gus@example.com", PW, { signIn: false });
    await h.mail("gus@example.com");
    const { flow, code } = await codeFlow(h, "gus@example.com");
    const [x, y] = await Promise.all([0, 1].map(() => post(h.pub, "recovery", flow.id, { method: "code", code })));
    assert.deepEqual([x.statusCode, y.statusCode], [200, 200]);
    const [won, lost] = json(x).state === "passed_challenge" ? [x, y] : [y, x];
    assert.equal(json(won).state, "passed_challenge");
    assert.deepEqual(messagesOf(json(lost)), [4060006], "the other finds the code used: 4060006 with 200, as any used code");
    assert.equal((await outbox(h, "recovery_used", "gus@example.com")).length, 1);
  });
});

describe("recovery code lifespan cap (24h)", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness({
      security: { brute_force: { enabled: false } },
      selfservice: { methods: { code: { config: { lifespan: "48h" } } }, flows: { recovery: { lifespan: "72h" } } },
    });
    await registerApi(h.pub, "hal@example.com", PW, { signIn: false });
    await h.mail("hal@example.com");
  });
  after(() => h.close());

  it("a configured 48h lifespan is capped at 24h; so is an admin expires_in", async () => {
    const inTime = await codeFlow(h, "hal@example.com");
    const late = await codeFlow(h, "hal@example.com");
    h.t.clock.advance(24 * HOUR - MIN);
    assert.equal((await post(h.pub, "recovery", inTime.flow.id, { method: "code", code: inTime.code })).statusCode, 200, "23h59m in");
    h.t.clock.advance(2 * MIN);
    const expired = await post(h.pub, "recovery", late.flow.id, { method: "code", code: late.code });
    assert.equal(expired.statusCode, 200, "the flow (72h) is live");
    assert.deepEqual(messagesOf(json(expired)), [4060006], "the code (capped at 24h) is not");

    const identityId = (await h.t.app.admin.inject({ method: "GET", url: "/admin/identities?credentials_identifier=hal@example.com" })).json()[0].id as string;
    const before = h.t.clock.now().getTime();
    const admin = await h.t.app.admin.inject({ method: "POST", url: "/admin/recovery/code", payload: { identity_id: identityId, expires_in: "48h" } });
    assert.equal(admin.statusCode, 201, admin.body);
    assert.equal(new Date(json(admin).expires_at).getTime(), before + 24 * HOUR);
  });
});

describe("recovery with a link (browser flow)", () => {
  let h: MailHarness;
  before(async () => {
    h = await createMailHarness({ selfservice: { flows: { recovery: { use: "link" } } } });
  });
  after(() => h.close());

  it("sends a link; opening it signs in and hands over a settings flow; a second use is refused", async () => {
    await registerApi(h.pub, "dave@example.com", PW, { signIn: false });
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

    // The link is spent with its recovery_used notice: a failed outbox write leaves it usable.
    const { db } = h.t.app.deps.database;
    await sql`create trigger fail_recovery_used before insert on courier_messages when new.template_type = 'recovery_used'
      begin select raise(abort, 'outbox unavailable'); end`.execute(db);
    try {
      const failed = await h.pub.inject({ method: "GET", url: u.pathname + u.search, headers: { accept: "application/json" } });
      assert.equal(failed.statusCode, 500, failed.body.slice(0, 300));
    } finally {
      await sql`drop trigger fail_recovery_used`.execute(db);
    }

    const open = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(open.statusCode, 303, open.body);
    assert.match(String(open.headers.location), /\/settings\?flow=/);
    assert.match(String(open.headers["set-cookie"]), /ory_kratos_session=/);
    assert.equal((await outbox(h, "recovery_used", "dave@example.com")).length, 1);
    const reuse = await h.pub.inject({ method: "GET", url: u.pathname + u.search });
    assert.equal(reuse.statusCode, 303);
    assert.match(String(reuse.headers.location), /\/recovery\?flow=/);
  });
});
