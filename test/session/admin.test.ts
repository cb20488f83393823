import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createSessionHarness, HOUR, type SessionHarness } from "./harness.ts";

let h: SessionHarness;
before(async () => {
  h = await createSessionHarness({ lifespan: 24 * HOUR, earliestPossibleExtend: HOUR });
});
after(async () => h.close());

const whoami = async (token: string) => (await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": token } })).statusCode;

describe("admin sessions", () => {
  test("list with active filter, expand and keyset pages, under /admin and without prefix", async () => {
    const identity = await h.createIdentity();
    const s1 = await h.login(identity);
    const s2 = await h.login(identity);
    const s3 = await h.login(identity);
    await h.sessions.revoke(s3.session.id);

    const all = await h.admin.inject({ url: "/admin/sessions" });
    assert.equal(all.statusCode, 200);
    const ids = all.json().map((s: { id: string }) => s.id);
    for (const s of [s1, s2, s3]) assert.ok(ids.includes(s.session.id));
    const plain = all.json()[0];
    assert.equal("identity" in plain, false, "identity only on expand");
    assert.equal("devices" in plain, false, "devices only on expand");

    const active = (await h.admin.inject({ url: "/sessions?active=true" })).json().map((s: { id: string }) => s.id);
    assert.ok(active.includes(s1.session.id) && !active.includes(s3.session.id));
    const inactive = (await h.admin.inject({ url: "/admin/sessions?active=false" })).json().map((s: { id: string }) => s.id);
    assert.ok(inactive.includes(s3.session.id) && !inactive.includes(s1.session.id));

    const expanded = (await h.admin.inject({ url: "/admin/sessions?expand=identity&expand=devices" })).json();
    const mine = expanded.find((s: { id: string }) => s.id === s1.session.id);
    assert.equal(mine.identity.id, identity.id);
    assert.equal(mine.devices[0].ip_address, "127.0.0.1");

    const seen: string[] = [];
    let url: string | undefined = "/admin/sessions?page_size=1";
    while (url) {
      const res: { statusCode: number; json(): Array<{ id: string }>; headers: Record<string, unknown> } = await h.admin.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.ok(res.json().length <= 1);
      seen.push(...res.json().map((s) => s.id));
      url = /<([^>]+)>; rel="next"/.exec(String(res.headers.link))?.[1];
    }
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal((await h.admin.inject({ url: "/admin/sessions?page_size=0" })).statusCode, 400);
    assert.equal((await h.admin.inject({ url: "/admin/sessions?active=maybe" })).statusCode, 400);
    assert.equal((await h.admin.inject({ url: "/admin/sessions?page_token=garbage" })).statusCode, 400);
  });

  test("get and delete one session", async () => {
    const { token, session } = await h.login(await h.createIdentity());
    const got = await h.admin.inject({ url: `/admin/sessions/${session.id}?expand=identity` });
    assert.equal(got.statusCode, 200);
    assert.equal(got.json().id, session.id);
    assert.equal(got.json().identity.id, session.identity_id);
    assert.equal((await h.admin.inject({ url: "/admin/sessions/00000000-0000-4000-8000-000000000000" })).statusCode, 404);

    const del = await h.admin.inject({ method: "DELETE", url: `/admin/sessions/${session.id}` });
    assert.equal(del.statusCode, 204);
    assert.equal(await whoami(token), 401);
    assert.equal((await h.admin.inject({ url: `/sessions/${session.id}` })).json().active, false);
    assert.equal((await h.admin.inject({ method: "DELETE", url: "/admin/sessions/00000000-0000-4000-8000-000000000000" })).statusCode, 404);
  });

  test("extend honors earliest_possible_extend", async () => {
    const { token, session } = await h.login(await h.createIdentity());
    const early = await h.admin.inject({ method: "PATCH", url: `/admin/sessions/${session.id}/extend` });
    assert.equal(early.statusCode, 200);
    assert.equal(early.json().expires_at, session.expires_at, "too early: unchanged");

    h.clock.advance(23.5 * HOUR);
    try {
      const late = await h.admin.inject({ method: "PATCH", url: `/admin/sessions/${session.id}/extend` });
      assert.equal(late.statusCode, 200);
      assert.equal(late.json().expires_at, new Date(h.clock.now().getTime() + 24 * HOUR).toISOString());
      assert.equal(late.json().identity.id, session.identity_id);
      h.clock.advance(1 * HOUR);
      assert.equal(await whoami(token), 200, "alive past its original expiry");
    } finally {
      h.clock.advance(-24.5 * HOUR);
    }
    assert.equal((await h.admin.inject({ method: "PATCH", url: "/admin/sessions/00000000-0000-4000-8000-000000000000/extend" })).statusCode, 404);
  });

  test("identity sessions: list and delete all", async () => {
    const identity = await h.createIdentity();
    const a = await h.login(identity);
    const b = await h.login(identity);
    const stranger = await h.login(await h.createIdentity());

    const list = await h.admin.inject({ url: `/admin/identities/${identity.id}/sessions` });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().map((s: { id: string }) => s.id).sort(), [a.session.id, b.session.id].sort());
    assert.equal(list.json()[0].identity.id, identity.id);

    const del = await h.admin.inject({ method: "DELETE", url: `/admin/identities/${identity.id}/sessions` });
    assert.equal(del.statusCode, 204);
    assert.equal(await whoami(a.token), 401);
    assert.equal(await whoami(b.token), 401);
    assert.equal(await whoami(stranger.token), 200);
    assert.deepEqual((await h.admin.inject({ url: `/identities/${identity.id}/sessions` })).json(), []);

    const missing = "00000000-0000-4000-8000-000000000000";
    assert.equal((await h.admin.inject({ url: `/admin/identities/${missing}/sessions` })).statusCode, 404);
    assert.equal((await h.admin.inject({ method: "DELETE", url: `/admin/identities/${missing}/sessions` })).statusCode, 404);
  });
});
