import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { THROTTLE_MESSAGE_IDS } from "../../src/security/throttle/messages.ts";
import { apiFlowId, createIdentity, postJson, queued, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Code-guess lockouts are first-class (src/security/throttle/lockout-notice.ts): when the guesses of login codes or
 * recovery codes sent to an address reach `max_consecutive_failures`, the account behind the address gets one
 * `login_throttled` email, as for password guesses; an address without an account gets none. Through the public API.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const CONFIG = {
  security: { brute_force: { identifier: { free_attempts: 2, max_delay: "1m", max_consecutive_failures: 3, lockout: "10m" } } },
  selfservice: {
    methods: { code: { passwordless_enabled: true } },
    flows: { recovery: { enabled: true }, verification: { enabled: true } },
  },
};

type Body = { ui: { messages?: Array<{ id: number }> } };
const ids = async (res: Response) => (((await res.json()) as Body).ui.messages ?? []).map((m) => m.id);

describe("code-guess lockouts tell the account owner", () => {
  let s: Served;
  before(async () => {
    s = await serve(CONFIG);
  });
  after(async () => s.close());

  const post = (kind: string, flowId: string, body: Record<string, unknown>) => postJson(s.base, `/self-service/${kind}?flow=${flowId}`, body);
  const notices = async (to: string) => (await queued(s.t)).filter(([t, r]) => t === "login_throttled" && r === to).length;
  /** The notice runs after the answer: wait for it (bounded), then a little longer for any duplicate. */
  const settle = async (to: string) => {
    for (let i = 0; i < 50 && (await notices(to)) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    return notices(to);
  };

  /** Sends a code of `kind` to `address` in a new flow, then guesses wrong until the address is locked. */
  async function lockOut(kind: "login" | "recovery", address: string): Promise<void> {
    const flow = await apiFlowId(s.base, kind);
    const sent = kind === "login" ? await post(kind, flow, { method: "code", identifier: address }) : await post(kind, flow, { method: "code", email: address });
    assert.equal(sent.status, kind === "login" ? 400 : 200, await sent.clone().text());
    const wrong = kind === "login" ? "000000" : "00000000";
    for (let i = 0; i < 3; i++) {
      // A wrong login code is a 400; a wrong recovery code answers the flow with 200, as Kratos.
      assert.equal((await post(kind, flow, { method: "code", code: wrong })).status, kind === "login" ? 400 : 200);
      s.t.clock.advance(61_000); // past the growing wait (max_delay 1m)
    }
    const refused = await post(kind, flow, { method: "code", code: wrong });
    assert.equal(refused.status, 429);
    assert.deepEqual(await ids(refused), [THROTTLE_MESSAGE_IDS.locked]);
  }

  test("login codes: the owner of the address gets exactly one login_throttled email", async () => {
    await createIdentity(s.t, "coder@example.com", PASSWORD);
    await lockOut("login", "Coder@Example.com");
    assert.equal(await settle("coder@example.com"), 1);
  });

  test("recovery codes: the owner of the address gets exactly one login_throttled email", async () => {
    s.t.clock.advance(2 * 3_600_000); // fresh message caps
    await createIdentity(s.t, "recoverer@example.com", PASSWORD);
    await lockOut("recovery", "recoverer@example.com");
    assert.equal(await settle("recoverer@example.com"), 1);
  });

  test("an address without an account: locked alike, no email", async () => {
    s.t.clock.advance(2 * 3_600_000);
    await lockOut("login", "nobody-here@example.com");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await notices("nobody-here@example.com"), 0);
  });
});
