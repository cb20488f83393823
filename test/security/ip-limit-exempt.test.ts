import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/** The volumetric per-IP limit covers the self-service endpoints but never whoami or the health probes. */
let t: TestApp;
before(async () => {
  t = await createTestApp({ config: { security: { brute_force: { ip: { max_requests: 5 } } } } });
});
after(async () => t.close());

test("whoami and health are exempt; flow endpoints answer 429 with Retry-After past the limit", async () => {
  for (let i = 0; i < 12; i++) {
    assert.equal((await t.app.public.inject({ url: "/sessions/whoami", headers: { "x-session-token": "ory_st_nope" } })).statusCode, 401);
    assert.equal((await t.app.public.inject({ url: "/health/alive" })).statusCode, 200);
  }
  const codes: number[] = [];
  let retryAfter: unknown;
  for (let i = 0; i < 8; i++) {
    const res = await t.app.public.inject({ url: "/self-service/login/api" });
    codes.push(res.statusCode);
    if (res.statusCode === 429) retryAfter = res.headers["retry-after"];
  }
  assert.deepEqual(codes.slice(0, 5), [200, 200, 200, 200, 200]);
  assert.ok(codes.slice(5).every((c) => c === 429), codes.join(","));
  assert.ok(Number(retryAfter) >= 1);
});
