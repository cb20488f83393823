import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startPwnedServer, sha1Hex } from "../../../test/helpers/pwned-server.ts";
import { createPasswordPolicy, defaultPasswordPolicyConfig, userAgent } from "./password-policy.ts";
import type { PasswordPolicyConfig } from "./password-policy.ts";
import { rangeBaseUrl } from "./breach-online.ts";

// Passwords that are neither common nor similar to the identifier, so only the breach check can refuse them.
const BREACHED = "velvet-orchard-1917-breached";
const PADDED = "copper-lantern-5521-padded";
const CLEAN = "granite-meadow-8080-clean";
const id = { identifiers: ["someone@example.org"] };

const server = await startPwnedServer({ breached: { [BREACHED]: 42, [PADDED]: 0, [sha1Hex("thrice-seen-pass-0001")]: 3 } });
after(() => server.stop());

function policy(over: Partial<PasswordPolicyConfig> = {}, clock = { t: 1_000_000 }, events: string[] = []) {
  const cfg = { ...defaultPasswordPolicyConfig, haveibeenpwned_host: server.url, ...over };
  return createPasswordPolicy(cfg, { now: () => clock.t, log: (e) => events.push(e) });
}

test("vector: SHA-1('password') and the range path", () => {
  assert.equal(sha1Hex("password"), "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
  assert.equal(rangeBaseUrl("api.pwnedpasswords.com"), "https://api.pwnedpasswords.com");
  assert.equal(rangeBaseUrl("http://127.0.0.1:9000/"), "http://127.0.0.1:9000");
});

test("a breached password is rejected with 4000034 and its count; the request carries only the prefix", async () => {
  server.requests.length = 0;
  const out = await policy().check(BREACHED, id);
  assert.deepEqual(out.map((m) => m.id), [4000034]);
  assert.equal(out[0].context?.breaches, 42);
  assert.equal(server.requests.length, 1);
  const { path, headers } = server.requests[0];
  assert.equal(path, `/range/${sha1Hex(BREACHED).slice(0, 5)}`);
  assert.match(path, /^\/range\/[0-9A-F]{5}$/);
  assert.ok(!path.includes(sha1Hex(BREACHED).slice(5)));
  assert.equal(headers["add-padding"], "true");
  assert.equal(headers["user-agent"], userAgent());
  assert.match(userAgent(), /^Tessera\/\d+\.\d+\.\d+/);
});

test("the server pads, and a padding line (count 0) for the password's own suffix does not reject", async () => {
  const res = await fetch(`${server.url}/range/${sha1Hex(PADDED).slice(0, 5)}`, { headers: { "Add-Padding": "true" } });
  const lines = (await res.text()).split("\r\n");
  assert.ok(lines.length >= 800 && lines.length <= 1001, `${lines.length} lines`);
  assert.ok(lines.includes(`${sha1Hex(PADDED).slice(5)}:0`));
  assert.deepEqual(await policy().check(PADDED, id), []);
  assert.deepEqual(await policy().check(CLEAN, id), []);
});

test("max_breaches is the allowed count: rejected only when the count exceeds it", async () => {
  assert.deepEqual(await policy({ max_breaches: 3 }).check("thrice-seen-pass-0001", id), []);
  assert.deepEqual((await policy({ max_breaches: 2 }).check("thrice-seen-pass-0001", id)).map((m) => m.id), [4000034]);
});

test("a cached answer makes no second request", async () => {
  const p = policy();
  server.requests.length = 0;
  assert.equal((await p.check(BREACHED, id)).length, 1);
  assert.equal((await p.check(BREACHED, id)).length, 1);
  assert.deepEqual(await p.check(CLEAN, id), []);
  assert.deepEqual(await p.check(CLEAN, id), []);
  assert.equal(server.requests.length, 2);
});

test("the cache entry expires after its TTL (one hour)", async () => {
  const clock = { t: 5_000_000 };
  const p = policy({}, clock);
  server.requests.length = 0;
  await p.check(CLEAN, id);
  clock.t += 60 * 60 * 1000 + 1;
  await p.check(CLEAN, id);
  assert.equal(server.requests.length, 2);
});

test("server down: the breaker opens, the next call within a minute makes no request, verdict follows ignore_network_errors", async () => {
  const clock = { t: 10_000_000 };
  const events: string[] = [];
  const open = policy({ ignore_network_errors: true }, clock, events);
  const closed = policy({ ignore_network_errors: false }, clock);
  await server.stop();
  try {
    assert.deepEqual(await open.check(BREACHED, id), []); // fail open: accepted
    const refused = await closed.check(BREACHED, id);
    assert.deepEqual(refused.map((m) => m.id), [4000005]);
    assert.match(String(refused[0].context?.reason), /could not be checked/);
    assert.deepEqual(events, ["password_policy.breach_check_failed"]);
  } finally {
    await server.start();
  }
  server.requests.length = 0;
  clock.t += 30_000; // still inside the minute: the server is back but nobody asks it
  assert.deepEqual(await open.check(BREACHED, id), []);
  assert.deepEqual((await closed.check(BREACHED, id)).map((m) => m.id), [4000005]);
  assert.equal(server.requests.length, 0);
  clock.t += 31_000; // past the cooldown: one probe goes through and closes the breaker
  assert.deepEqual((await open.check(BREACHED, id)).map((m) => m.id), [4000034]);
  assert.equal(server.requests.length, 1);
});

test("a hanging server costs one timeout, then the breaker answers at once", async () => {
  const clock = { t: 20_000_000 };
  const p = policy({ timeout_ms: 300, ignore_network_errors: false }, clock);
  server.setBehavior("hang");
  server.requests.length = 0;
  try {
    let t0 = performance.now();
    assert.deepEqual((await p.check(BREACHED, id)).map((m) => m.id), [4000005]);
    const first = performance.now() - t0;
    t0 = performance.now();
    assert.deepEqual((await p.check(CLEAN, id)).map((m) => m.id), [4000005]);
    const second = performance.now() - t0;
    assert.ok(first >= 280 && first < 2000, `first call ${first} ms`);
    assert.ok(second < Math.min(150, first / 2), `second call ${second} ms`);
    assert.equal(server.requests.length, 1);
  } finally {
    server.setBehavior("normal");
  }
});

test("a 5xx answer counts as unavailable", async () => {
  server.setBehavior({ status: 503 });
  try {
    assert.deepEqual(await policy({ ignore_network_errors: true }).check(BREACHED, id), []);
    assert.deepEqual((await policy({ ignore_network_errors: false }).check(BREACHED, id)).map((m) => m.id), [4000005]);
  } finally {
    server.setBehavior("normal");
  }
});

test("haveibeenpwned_enabled false makes no request", async () => {
  server.requests.length = 0;
  assert.deepEqual(await policy({ haveibeenpwned_enabled: false }).check(BREACHED, id), []);
  assert.equal(server.requests.length, 0);
});
