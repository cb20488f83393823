import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createFlowsHarness, type FlowsHarness } from "../flows/harness.ts";
import { createMailHarness, type MailHarness } from "../flows/recovery-harness.ts";
import { compareTiming, formatReport } from "./timing.ts";

/**
 * Account enumeration on password login: a wrong password for an existing account, an unknown identifier and an
 * inactive account must answer identically (status, header names, cookies, body after replacing ids, timestamps and the
 * identifier) and cost the same time, measured over a real socket.
 */
describe("login enumeration (password)", () => {
  let h: FlowsHarness;
  let base: string;
  const password = "a sufficiently long and unusual passphrase";

  before(async () => {
    // Throttling would answer 429 after a few attempts; it is tested on its own (login-throttle.test.ts).
    h = await createFlowsHarness({ security: { brute_force: { enabled: false } } });
    for (const [email, state] of [["known@example.com", "active"], ["inactive@example.com", "inactive"]] as const) {
      const res = await h.t.app.admin.inject({
        method: "POST",
        url: "/admin/identities",
        payload: { schema_id: "default", state, traits: { email }, credentials: { password: { config: { password } } } },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    await h.pub.listen({ host: "127.0.0.1", port: 0 });
    const addr = h.pub.server.address();
    base = typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : "";
  });
  after(async () => h.close());

  async function apiFlowId(): Promise<string> {
    const res = await fetch(`${base}/self-service/login/api`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { id: string }).id;
  }

  async function submit(flowId: string, identifier: string, pw: string) {
    const res = await fetch(`${base}/self-service/login?flow=${flowId}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ method: "password", identifier, password: pw }),
    });
    return { status: res.status, headers: [...res.headers.keys()].filter((k) => k !== "date").sort(), body: await res.text() };
  }

  const normalize = (body: string, identifier: string) =>
    body
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>")
      .replace(/\d{4}-\d\d-\d\dT[0-9:.]+Z/g, "<time>")
      .replaceAll(identifier, "<identifier>");

  test("wrong password, unknown identifier and inactive account answer identically", async () => {
    const wrong = await submit(await apiFlowId(), "known@example.com", "not the right password");
    const unknown = await submit(await apiFlowId(), "nobody@example.com", "not the right password");
    const inactive = await submit(await apiFlowId(), "inactive@example.com", "not the right password");
    const inactiveRight = await submit(await apiFlowId(), "inactive@example.com", password);
    for (const [label, r, id] of [
      ["unknown", unknown, "nobody@example.com"],
      ["inactive", inactive, "inactive@example.com"],
    ] as const) {
      assert.equal(r.status, wrong.status, label);
      assert.deepEqual(r.headers, wrong.headers, label);
      assert.equal(normalize(r.body, id), normalize(wrong.body, "known@example.com"), label);
    }
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /4000006/);
    // Only after the right password does an inactive account learn that it is disabled (as Kratos).
    assert.equal(inactiveRight.status, 401);
    assert.match(inactiveRight.body, /identity_disabled/);
  });

  test("timing: known account with a wrong password vs unknown identifier", async () => {
    const knownFlow = await apiFlowId();
    const unknownFlow = await apiFlowId();
    const report = await compareTiming(
      "login password",
      () => submit(knownFlow, "known@example.com", "not the right password"),
      () => submit(unknownFlow, "nobody@example.com", "not the right password"),
    );
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});

/**
 * After an attacker registers two addresses with a password of theirs, one free and one someone's: logging in with
 * that password must not tell them apart. The free one is held back until verified (and a verification message goes
 * out, every time here, since the brute-force caps are off); the taken one is a wrong password.
 */
describe("login after registering a free and a taken address (enumeration-safe registration)", () => {
  let h: MailHarness;
  let base: string;
  const attackerPassword = "the attacker's own long passphrase";

  before(async () => {
    // Verification on (as by default in Tessera), so registration is enumeration-safe.
    h = await createMailHarness({ security: { brute_force: { enabled: false } } });
    const owner = await h.t.app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: { schema_id: "default", traits: { email: "taken@example.com" }, credentials: { password: { config: { password: "the owner's own passphrase, never shared" } } } },
    });
    assert.equal(owner.statusCode, 201, owner.body);
    await h.pub.listen({ host: "127.0.0.1", port: 0 });
    const addr = h.pub.server.address();
    base = typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : "";
    for (const email of ["taken@example.com", "free@example.com"]) {
      const flow = (await (await fetch(`${base}/self-service/registration/api`)).json()) as { id: string };
      const res = await fetch(`${base}/self-service/registration?flow=${flow.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ method: "password", password: attackerPassword, traits: { email } }),
      });
      assert.equal(res.status, 200, await res.text());
    }
  });
  after(async () => h.close());

  const flowId = async () => ((await (await fetch(`${base}/self-service/login/api`)).json()) as { id: string }).id;
  const submit = async (flow: string, identifier: string) => {
    const res = await fetch(`${base}/self-service/login?flow=${flow}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ method: "password", identifier, password: attackerPassword }),
    });
    return { status: res.status, headers: [...res.headers.keys()].filter((k) => k !== "date").sort(), body: await res.text() };
  };

  test("identical answers and timing for the free (held) and the taken (wrong password) address", async () => {
    const free = await submit(await flowId(), "free@example.com");
    const taken = await submit(await flowId(), "taken@example.com");
    const scrub = (b: string, id: string) => b.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<id>").replace(/\d{4}-\d\d-\d\dT[0-9:.]+Z/g, "<time>").replaceAll(id, "<identifier>");
    assert.equal(free.status, 400);
    assert.equal(taken.status, 400);
    assert.deepEqual(free.headers, taken.headers);
    assert.equal(scrub(free.body, "free@example.com"), scrub(taken.body, "taken@example.com"));
    const freeFlow = await flowId();
    const takenFlow = await flowId();
    const report = await compareTiming("login after registration (held vs wrong password)", () => submit(freeFlow, "free@example.com"), () => submit(takenFlow, "taken@example.com"));
    console.log(formatReport(report));
    assert.ok(report.pass, formatReport(report));
  });
});
