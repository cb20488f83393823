import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createSessionHarness, UI_BASE, type SessionHarness } from "./harness.ts";

let h: SessionHarness;
before(async () => {
  h = await createSessionHarness();
});
after(async () => h.close());

const whoami = async (headers: Record<string, string>) => (await h.public.inject({ url: "/sessions/whoami", headers })).statusCode;

describe("browser logout", () => {
  test("logout URL + ory_lo_ token, then 303 to return_to, cookie cleared, old cookie 401", async () => {
    const { token } = await h.login(await h.createIdentity());
    const cookie = `ory_kratos_session=${token}`;
    const init = await h.public.inject({ url: `/self-service/logout/browser?return_to=${encodeURIComponent(`${UI_BASE}dashboard/bye`)}`, headers: { cookie } });
    assert.equal(init.statusCode, 200);
    const { logout_url, logout_token } = init.json();
    assert.match(logout_token, /^ory_lo_[A-Za-z0-9]{32}$/);
    const url = new URL(logout_url);
    assert.equal(`${url.origin}${url.pathname}`, "http://127.0.0.1:4433/self-service/logout");
    assert.equal(url.searchParams.get("token"), logout_token);
    assert.equal(url.searchParams.get("return_to"), `${UI_BASE}dashboard/bye`);
    const again = await h.public.inject({ url: "/self-service/logout/browser", headers: { cookie } });
    assert.equal(again.json().logout_token, logout_token, "stable for the session");

    const wrong = await h.public.inject({ url: `/self-service/logout?token=ory_lo_wrong`, headers: { cookie } });
    assert.equal(wrong.statusCode, 403);
    assert.equal(await whoami({ cookie }), 200, "a wrong token logs nobody out");

    const res = await h.public.inject({ url: `${url.pathname}${url.search}`, headers: { cookie } });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `${UI_BASE}dashboard/bye`);
    assert.match(String(res.headers["set-cookie"]), /^ory_kratos_session=; .*Max-Age=0/);
    assert.equal(await whoami({ cookie }), 401);
    assert.equal(await whoami({ "x-session-token": token }), 401);
  });

  test("JSON clients get 204; default return URL otherwise; no session -> logout already done", async () => {
    const a = await h.login(await h.createIdentity());
    const tokenA = (await h.public.inject({ url: "/self-service/logout/browser", headers: { cookie: `ory_kratos_session=${a.token}` } })).json().logout_token;
    const json = await h.public.inject({ url: `/self-service/logout?token=${tokenA}`, headers: { cookie: `ory_kratos_session=${a.token}`, accept: "application/json" } });
    assert.equal(json.statusCode, 204);
    assert.equal(await whoami({ cookie: `ory_kratos_session=${a.token}` }), 401);

    const b = await h.login(await h.createIdentity());
    const tokenB = (await h.public.inject({ url: "/self-service/logout/browser", headers: { cookie: `ory_kratos_session=${b.token}` } })).json().logout_token;
    const redirect = await h.public.inject({ url: `/self-service/logout?token=${tokenB}`, headers: { cookie: `ory_kratos_session=${b.token}` } });
    assert.equal(redirect.statusCode, 303);
    assert.equal(redirect.headers.location, `${UI_BASE}welcome`);

    const none = await h.public.inject({ url: `/self-service/logout?token=${tokenB}` });
    assert.equal(none.statusCode, 303);
    assert.equal((await h.public.inject({ url: "/self-service/logout" })).statusCode, 400, "token is required");
  });

  test("without a session the browser endpoint is 401; a foreign return_to is refused", async () => {
    const res = await h.public.inject({ url: "/self-service/logout/browser" });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.id, "session_inactive");
    const { token } = await h.login(await h.createIdentity());
    for (const bad of ["https://evil.example/", `${UI_BASE}dashboard-evil`, "javascript:alert(1)"]) {
      const r = await h.public.inject({ url: `/self-service/logout/browser?return_to=${encodeURIComponent(bad)}`, headers: { cookie: `ory_kratos_session=${token}` } });
      assert.equal(r.statusCode, 400, bad);
      assert.equal(r.json().error.id, "self_service_flow_return_to_forbidden");
    }
    assert.equal(await whoami({ "x-session-token": token }), 200);
  });
});

describe("API logout", () => {
  test("DELETE /self-service/logout/api revokes the token: 204, then 401 on whoami", async () => {
    const identity = await h.createIdentity();
    const { token } = await h.login(identity);
    const keep = await h.login(identity);
    const res = await h.public.inject({ method: "DELETE", url: "/self-service/logout/api", payload: { session_token: token } });
    assert.equal(res.statusCode, 204);
    assert.equal(await whoami({ "x-session-token": token }), 401);
    assert.equal(await whoami({ authorization: `Bearer ${token}` }), 401);
    assert.equal(await whoami({ "x-session-token": keep.token }), 200, "other sessions survive");
  });

  test("missing token 400, unknown token 403", async () => {
    assert.equal((await h.public.inject({ method: "DELETE", url: "/self-service/logout/api", payload: {} })).statusCode, 400);
    const res = await h.public.inject({ method: "DELETE", url: "/self-service/logout/api", payload: { session_token: "ory_st_nope" } });
    assert.equal(res.statusCode, 403);
  });
});
