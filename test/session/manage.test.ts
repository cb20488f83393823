import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createSessionHarness, type SessionHarness } from "./harness.ts";

let h: SessionHarness;
before(async () => {
  h = await createSessionHarness();
});
after(async () => h.close());

const whoami = async (token: string) => (await h.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": token } })).statusCode;

describe("self-service session management", () => {
  test("GET /sessions lists the caller's other active sessions only, in pages", async () => {
    const me = await h.createIdentity();
    const current = await h.login(me);
    const others = [await h.login(me, "ua/1"), await h.login(me, "ua/2"), await h.login(me, "ua/3")];
    const revoked = await h.login(me);
    await h.sessions.revoke(revoked.session.id);
    await h.login(await h.createIdentity()); // someone else's

    const res = await h.public.inject({ url: "/sessions", headers: { "x-session-token": current.token } });
    assert.equal(res.statusCode, 200);
    const ids = res.json().map((s: { id: string }) => s.id).sort();
    assert.deepEqual(ids, others.map((o) => o.session.id).sort());
    const one = res.json()[0];
    assert.equal(one.identity.id, me.id);
    assert.equal(one.devices.length, 1);

    const p1 = await h.public.inject({ url: "/sessions?page_size=2", headers: { "x-session-token": current.token } });
    assert.equal(p1.json().length, 2);
    const next = /<([^>]+)>; rel="next"/.exec(String(p1.headers.link))?.[1];
    assert.ok(next, "a next link while more rows remain");
    const p2 = await h.public.inject({ url: next, headers: { "x-session-token": current.token } });
    assert.equal(p2.json().length, 1);
    assert.doesNotMatch(String(p2.headers.link), /rel="next"/);
    const paged = [...p1.json(), ...p2.json()].map((s: { id: string }) => s.id).sort();
    assert.deepEqual(paged, ids);

    assert.equal((await h.public.inject({ url: "/sessions" })).statusCode, 401);
  });

  test("DELETE /sessions/{id}: revokes one of mine; current -> 400; someone else's -> 404", async () => {
    const me = await h.createIdentity();
    const current = await h.login(me);
    const other = await h.login(me);
    const stranger = await h.login(await h.createIdentity());
    const del = (id: string) => h.public.inject({ method: "DELETE", url: `/sessions/${id}`, headers: { "x-session-token": current.token } });

    assert.equal((await del(current.session.id)).statusCode, 400);
    assert.equal((await del(stranger.session.id)).statusCode, 404);
    assert.equal(await whoami(stranger.token), 200);
    assert.equal((await del("not-a-uuid")).statusCode, 404);
    const res = await del(other.session.id);
    assert.equal(res.statusCode, 204);
    assert.equal(await whoami(other.token), 401);
    assert.equal(await whoami(current.token), 200);
  });

  test("DELETE /sessions revokes every other session and counts them", async () => {
    const me = await h.createIdentity();
    const current = await h.login(me);
    const others = [await h.login(me), await h.login(me)];
    const stranger = await h.login(await h.createIdentity());
    const res = await h.public.inject({ method: "DELETE", url: "/sessions", headers: { cookie: `ory_kratos_session=${current.token}` } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { count: 2 });
    for (const o of others) assert.equal(await whoami(o.token), 401);
    assert.equal(await whoami(current.token), 200);
    assert.equal(await whoami(stranger.token), 200);
    const again = await h.public.inject({ method: "DELETE", url: "/sessions", headers: { "x-session-token": current.token } });
    assert.deepEqual(again.json(), { count: 0 });
  });
});
