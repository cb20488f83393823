import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { compareTiming, formatReport } from "./timing.ts";
import { answerOf, apiFlowId, assertSameAnswer, createIdentity, FetchJar, postJson, queued, queuedSince, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Account enumeration on password registration (mitigation on, the default; verification on): registering an address
 * that has an account answers exactly like a new registration (API and browser), signs nobody in, creates and changes
 * nothing, and tells the owner by a `registration_attempt` notice while the new address gets its verification code.
 * Timing: 200 interleaved samples per class over a real socket. With mitigation off: Kratos's 4000007.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const CONFIG = {
  // Message caps and throttling are tested on their own (code-throttle.test.ts); here they would only add noise.
  security: { brute_force: { enabled: false } },
  selfservice: { flows: { verification: { enabled: true } } },
};

describe("registration enumeration (password, mitigation on)", () => {
  let s: Served;
  let ownerId: string;
  before(async () => {
    s = await serve(CONFIG);
    ownerId = await createIdentity(s.t, "known@example.com", PASSWORD);
  });
  after(async () => s.close());

  const register = (flowId: string, email: string) =>
    postJson(s.base, `/self-service/registration?flow=${flowId}`, { method: "password", password: PASSWORD, traits: { email } });

  test("API: a taken address answers like a new one; no session; the owner is told, the newcomer gets a code", async () => {
    const before = await queued(s.t);
    const owner = await s.t.app.deps.repo.get(ownerId);
    const taken = await register(await apiFlowId(s.base, "registration"), "known@example.com");
    const fresh = await register(await apiFlowId(s.base, "registration"), "fresh@example.com");
    const [a, b] = [taken.clone(), fresh.clone()];
    assertSameAnswer(await answerOf(taken, ["known@example.com"]), await answerOf(fresh, ["fresh@example.com"]), "api");
    assert.equal(a.status, 200);
    const body = (await a.json()) as { session_token?: string; session?: unknown; continue_with: Array<{ action: string; flow?: { id: string; verifiable_address: string } }> };
    assert.equal(body.session_token, undefined);
    assert.equal(body.session, undefined);
    assert.deepEqual(body.continue_with.map((c) => c.action), ["show_verification_ui"]);
    assert.equal(body.continue_with[0].flow?.verifiable_address, "known@example.com");
    // A real verification flow, in the code entry state, for both.
    const vf = await fetch(`${s.base}/self-service/verification/flows?id=${body.continue_with[0].flow?.id}`);
    assert.equal(vf.status, 200);
    assert.equal(((await vf.json()) as { state: string }).state, "sent_email");
    assert.equal(((await b.json()) as { session_token?: string }).session_token, undefined);

    const added = await queuedSince(s.t, before);
    assert.deepEqual(added.filter(([, r]) => r === "known@example.com"), [["registration_attempt", "known@example.com"]]);
    assert.deepEqual(added.filter(([, r]) => r === "fresh@example.com").map(([t]) => t), ["verification_code_valid"]);
    // Nothing created or changed for the duplicate.
    const ids = await s.t.app.deps.database.db.selectFrom("identities").select("id").execute();
    assert.equal(ids.length, 2);
    assert.deepEqual(await s.t.app.deps.repo.get(ownerId), owner);
  });

  test("browser form post: the same 303 to the verification UI, no session cookie", async () => {
    const submit = async (email: string) => {
      const jar = new FetchJar();
      const init = await fetch(`${s.base}/self-service/registration/browser`, { headers: { accept: "application/json" } });
      jar.take(init);
      const flow = (await init.json()) as { id: string; ui: { nodes: Array<{ attributes: { name: string; value?: string } }> } };
      const csrf = String(flow.ui.nodes.find((n) => n.attributes.name === "csrf_token")?.attributes.value);
      return fetch(`${s.base}/self-service/registration?flow=${flow.id}`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
        body: new URLSearchParams({ method: "password", csrf_token: csrf, password: PASSWORD, "traits.email": email }).toString(),
      });
    };
    const taken = await submit("known@example.com");
    const fresh = await submit("fresh-browser@example.com");
    assert.equal(taken.status, 303);
    assert.match(String(taken.headers.get("location")), /^http:\/\/127\.0\.0\.1:4455\/verification\?flow=/);
    assert.ok(!taken.headers.getSetCookie().some((c) => c.startsWith("ory_kratos_session=")));
    assertSameAnswer(await answerOf(taken, ["known@example.com"]), await answerOf(fresh, ["fresh-browser@example.com"]), "browser");
  });

  test("timing: taken vs new address (200 interleaved samples each)", async () => {
    const n = 220;
    const knownFlows = await Promise.all(Array.from({ length: n }, () => apiFlowId(s.base, "registration")));
    const newFlows = await Promise.all(Array.from({ length: n }, () => apiFlowId(s.base, "registration")));
    let i = 0;
    let j = 0;
    const report = await compareTiming(
      "registration password",
      async () => {
        const r = await register(knownFlows[i++], "known@example.com");
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      },
      async () => {
        const r = await register(newFlows[j], `new-${j++}@example.com`);
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      },
    );
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});

describe("registration without mitigation (Kratos behaviour)", () => {
  let s: Served;
  before(async () => {
    s = await serve({ ...CONFIG, security: { ...CONFIG.security, account_enumeration: { mitigate: false } } });
    await createIdentity(s.t, "known@example.com", PASSWORD);
  });
  after(async () => s.close());

  test("an existing identifier answers 400 with 4000007; a new one signs in", async () => {
    const dup = await postJson(s.base, `/self-service/registration?flow=${await apiFlowId(s.base, "registration")}`, { method: "password", password: PASSWORD, traits: { email: "known@example.com" } });
    assert.equal(dup.status, 400);
    const body = (await dup.json()) as { ui: { messages: Array<{ id: number }> } };
    assert.deepEqual(body.ui.messages.map((m) => m.id), [4000007]);
    const ok = await postJson(s.base, `/self-service/registration?flow=${await apiFlowId(s.base, "registration")}`, { method: "password", password: PASSWORD, traits: { email: "new@example.com" } });
    assert.equal(ok.status, 200);
    assert.match(((await ok.json()) as { session_token: string }).session_token, /^ory_st_/);
  });
});
