import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { createCsrf, mask, unmask } from "./csrf.ts";

describe("CSRF tokens", () => {
  it("masks the same secret differently each time, 64 characters, and unmasks back", () => {
    const secret = Buffer.alloc(24, 7);
    const a = mask(secret);
    const b = mask(secret);
    assert.notEqual(a, b);
    assert.equal(a.length, 64);
    assert.deepEqual(unmask(a), secret);
    assert.deepEqual(unmask(b), secret);
    assert.equal(unmask("short"), undefined);
    assert.equal(unmask("!".repeat(64)), undefined);
  });

  it("binds a flow to the browser's cookie and checks submits in constant time", async () => {
    const csrf = createCsrf({ publicBaseUrl: "https://auth.example.com/", cookie: { path: "/", same_site: "Lax" } });
    assert.match(csrf.cookieName, /^csrf_token_[0-9a-f]{64}$/);
    const app = Fastify();
    app.get("/issue", (req, reply) => reply.send({ token: csrf.issue(req, reply) }));
    app.post("/check", (req, reply) => {
      const b = req.body as { token?: string; flow: string };
      return reply.send({ hint: csrf.verify(req, b.token, b.flow) ?? null, owns: csrf.ownsFlow(req, b.flow) });
    });
    const res = await app.inject({ method: "GET", url: "/issue" });
    const setCookie = String(res.headers["set-cookie"]);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /Secure/);
    assert.match(setCookie, /SameSite=Lax/);
    const cookie = setCookie.split(";")[0];
    const flowToken = (JSON.parse(res.body) as { token: string }).token;
    // A second flow in the same browser reuses the secret (no new cookie) with a different mask.
    const second = await app.inject({ method: "GET", url: "/issue", headers: { cookie } });
    assert.equal(second.headers["set-cookie"], undefined);
    const token2 = (JSON.parse(second.body) as { token: string }).token;
    assert.notEqual(token2, flowToken);

    const check = async (token: string | undefined, c?: string) =>
      JSON.parse((await app.inject({ method: "POST", url: "/check", headers: c ? { cookie: c } : {}, payload: { token, flow: flowToken } })).body) as { hint: string | null; owns: boolean };
    assert.deepEqual(await check(token2, cookie), { hint: null, owns: true });
    assert.deepEqual(await check(csrf.remask(flowToken), cookie), { hint: null, owns: true });
    assert.notEqual((await check(undefined, cookie)).hint, null);
    assert.notEqual((await check(token2)).hint, null);
    const other = String((await app.inject({ method: "GET", url: "/issue" })).headers["set-cookie"]).split(";")[0];
    const r = await check(token2, other);
    assert.notEqual(r.hint, null);
    assert.equal(r.owns, false);
    await app.close();
  });
});
