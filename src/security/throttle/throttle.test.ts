import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, ConfigError } from "../../config/load.ts";
import type { Config } from "../../config/config.ts";
import { AppError } from "../../util/app-error.ts";
import { createManualClock } from "../../util/clock.ts";
import { createMemoryThrottleStore } from "./memory-store.ts";
import { THROTTLE_ERROR_ID, throttleUiMessage } from "./messages.ts";
import { clearAllForIdentifier, createThrottle, delayAfter, type LockoutContext } from "./throttle.ts";
import { parseThrottleSubject } from "./keys.ts";

const T0 = new Date("2026-12-03T10:00:00.000Z");
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

type BruteForce = Config["security"]["brute_force"];
const defaults: BruteForce = {
  enabled: true,
  identifier: { free_attempts: 5, max_delay: 15 * MIN, max_consecutive_failures: 100, lockout: HOUR },
  ip: { max_failures: 100, window: 24 * HOUR, max_requests: 600 },
  messages: { per_address: 5, window: HOUR },
  store: "sql",
};

function setup(over: { identifier?: Partial<BruteForce["identifier"]>; ip?: Partial<BruteForce["ip"]>; messages?: Partial<BruteForce["messages"]>; enabled?: boolean } = {}) {
  const bf: BruteForce = {
    ...defaults,
    enabled: over.enabled ?? true,
    identifier: { ...defaults.identifier, ...over.identifier },
    ip: { ...defaults.ip, ...over.ip },
    messages: { ...defaults.messages, ...over.messages },
  };
  const clock = createManualClock(T0);
  const store = createMemoryThrottleStore();
  const lockouts: string[] = [];
  const contexts: LockoutContext[] = [];
  const throttle = createThrottle({
    store,
    clock,
    secret: "unit-secret",
    config: { security: { profile: undefined, account_enumeration: { mitigate: true }, brute_force: bf } },
    onLockout: async (id, context) => {
      lockouts.push(id);
      contexts.push(context);
    },
  });
  return { throttle, clock, store, lockouts, contexts };
}

/** The refusal of `p`, or null when it resolved. */
async function refusal(p: Promise<unknown>): Promise<AppError | null> {
  try {
    await p;
    return null;
  } catch (e) {
    assert.ok(e instanceof AppError, `unexpected error ${String(e)}`);
    assert.equal(e.code, 429);
    assert.equal(e.id, THROTTLE_ERROR_ID);
    return e;
  }
}
const retryAfter = (e: AppError | null) => Number(e?.headers?.["retry-after"]);

test("a success after a check that found no counter writes nothing; after one that found a counter it resets", async () => {
  const { throttle, store } = setup();
  const writes: string[] = [];
  const reset = store.reset.bind(store);
  store.reset = async (key) => {
    writes.push(key);
    await reset(key);
  };
  const clean = await throttle.check("fresh@example.com", "192.0.2.1");
  assert.equal(clean.counted, false);
  await throttle.succeeded("fresh@example.com", clean);
  assert.deepEqual(writes, [], "nothing to forget");

  await throttle.failed("seen@example.com", "192.0.2.1");
  const seen = await throttle.check("seen@example.com", "192.0.2.1");
  assert.equal(seen.counted, true);
  await throttle.failed("seen@example.com", "192.0.2.1", {}, seen);
  assert.equal((await throttle.status("seen@example.com"))?.count, 2, "failed() with the check's key counts the same identifier");
  await throttle.succeeded("seen@example.com", seen);
  assert.equal(writes.length, 1);
  assert.equal(await throttle.status("seen@example.com"), null);
  // Without a check result the reset always runs (code strategies, admin).
  await throttle.succeeded("fresh@example.com");
  assert.equal(writes.length, 2);
});

test("delay schedule: 5 free failures, then 1s doubling per failure, capped at max_delay (15m)", () => {
  const got = Array.from({ length: 17 }, (_, i) => delayAfter(i + 1, 5, 15 * MIN) / SEC);
  assert.deepEqual(got, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
  assert.equal(delayAfter(10_000, 5, 15 * MIN), 15 * MIN, "no overflow for huge counts");
});

test("the policy enforces the schedule: free attempts pass, then each wait is required to the millisecond", async () => {
  const { throttle, clock } = setup();
  const who = "alice@example.com";
  for (let i = 0; i < 5; i++) {
    assert.equal(await refusal(throttle.check(who, "192.0.2.1")), null, `free attempt ${i + 1}`);
    await throttle.failed(who, "192.0.2.1");
  }
  const waits = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900];
  for (const w of waits) {
    const e = await refusal(throttle.check(who, "192.0.2.1"));
    assert.equal(retryAfter(e), w);
    clock.advance(w * SEC - 1);
    assert.notEqual(await refusal(throttle.check(who, "192.0.2.1")), null, "1 ms early is refused");
    clock.advance(1);
    assert.equal(await refusal(throttle.check(who, "192.0.2.1")), null);
    await throttle.failed(who, "192.0.2.1");
  }
  const status = await throttle.status(who);
  assert.equal(status?.count, 5 + waits.length);
  assert.equal(status?.next_attempt_at?.getTime(), clock.now().getTime() + 15 * MIN);
});

test("lockout at max_consecutive_failures: one email, 429 with locked=true, one guess per lockout afterwards", async () => {
  const { throttle, clock, lockouts } = setup({ identifier: { free_attempts: 3, max_delay: MIN, max_consecutive_failures: 10, lockout: HOUR } });
  const who = "Bob@Example.com";
  for (let i = 0; i < 10; i++) {
    await throttle.check(who, "192.0.2.1");
    await throttle.failed(who, "192.0.2.1");
    clock.advance(MIN);
  }
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lockouts, ["bob@example.com"], "the owner is told once, with the normalized identifier");
  const e = await refusal(throttle.check(who, "192.0.2.7"));
  assert.equal(e?.details?.locked, true);
  assert.equal(retryAfter(e), (HOUR - MIN) / SEC);
  assert.equal(throttleUiMessage(e)?.id, 4990002);
  clock.advance(HOUR - MIN);
  await throttle.check(who, "192.0.2.1");
  await throttle.failed(who, "192.0.2.1");
  const again = await refusal(throttle.check(who, "192.0.2.1"));
  assert.equal(retryAfter(again), HOUR / SEC, "a failure after the lock ends relocks for the full period");
  await new Promise((r) => setImmediate(r));
  assert.equal(lockouts.length, 1, "relocking sends no second email");
});

test("50 parallel failures past the limit start exactly one lockout", async () => {
  const { throttle, lockouts } = setup({ identifier: { max_consecutive_failures: 20 } });
  await Promise.all(Array.from({ length: 50 }, () => throttle.failed("carol", "192.0.2.1")));
  await new Promise((r) => setImmediate(r));
  assert.equal((await throttle.status("carol"))?.count, 50);
  assert.equal(lockouts.length, 1);
});

test("when a wait ends, only one of 10 concurrent attempts is evaluated", async () => {
  const { throttle, clock } = setup();
  for (let i = 0; i < 6; i++) await throttle.failed("dave", "192.0.2.1");
  clock.advance(2 * SEC);
  const results = await Promise.all(Array.from({ length: 10 }, () => refusal(throttle.check("dave", "192.0.2.1"))));
  assert.equal(results.filter((r) => r === null).length, 1);
  assert.ok(results.every((r) => r === null || retryAfter(r) >= 1));
});

test("a success resets the count; clear() (completed recovery) lifts a lockout", async () => {
  const { throttle, clock } = setup({ identifier: { max_consecutive_failures: 8 } });
  for (let i = 0; i < 4; i++) await throttle.failed("erin", "192.0.2.1");
  await throttle.succeeded("erin");
  assert.equal(await throttle.status("erin"), null);
  for (let i = 0; i < 5; i++) {
    assert.equal(await refusal(throttle.check("erin", "192.0.2.1")), null, "five free attempts again");
    await throttle.failed("erin", "192.0.2.1");
  }
  for (let i = 0; i < 3; i++) await throttle.failed("erin", "192.0.2.1");
  assert.notEqual((await throttle.status("erin"))?.locked_until, null);
  clock.advance(MIN);
  await throttle.clear("erin");
  assert.equal(await refusal(throttle.check("erin", "192.0.2.1")), null);
});

test("identical 429s for any two identifiers with the same history (the throttle never looks accounts up)", async () => {
  const { throttle } = setup();
  for (const who of ["exists@example.com", "nobody@example.com"]) for (let i = 0; i < 7; i++) await throttle.failed(who, "192.0.2.1");
  const a = await refusal(throttle.check("exists@example.com", "192.0.2.1"));
  const b = await refusal(throttle.check("nobody@example.com", "192.0.2.1"));
  assert.deepEqual(a?.toBody(), b?.toBody());
  assert.deepEqual(a?.headers, b?.headers);
  assert.equal(throttleUiMessage(a)?.id, 4990001);
});

test("identifiers are counted as login normalizes them (case, NFKC, spaces, phone spelling)", async () => {
  const { throttle } = setup();
  await throttle.failed("  ALICE@example.com ", "192.0.2.1");
  await throttle.failed("alice@example.com", "192.0.2.1");
  await throttle.failed("ａｌｉｃｅ@example.com", "192.0.2.1");
  assert.equal((await throttle.status("alice@example.com"))?.count, 3);
  await throttle.failed("+1 (415) 555-2671", "192.0.2.1");
  await throttle.failed("+14155552671", "192.0.2.1");
  assert.equal((await throttle.status("+1 415-555-2671"))?.count, 2);
});

test("per-IP failures across identifiers refuse the IP (IPv6 counted per /64) until the window ends", async () => {
  const { throttle, clock } = setup({ ip: { max_failures: 3, window: HOUR } });
  for (const who of ["a", "b", "c"]) await throttle.failed(who, "2001:db8:0:1::10");
  const e = await refusal(throttle.check("fresh", "2001:db8:0:1:ffff::99"));
  assert.equal(retryAfter(e), HOUR / SEC);
  assert.equal(await refusal(throttle.check("fresh", "2001:db8:0:2::10")), null, "another /64 is not affected");
  assert.equal(await refusal(throttle.check("fresh", "192.0.2.1")), null);
  clock.advance(HOUR);
  assert.equal(await refusal(throttle.check("fresh", "2001:db8:0:1::10")), null);
});

test("message caps: per address and per IP per window; the window ends", async () => {
  const { throttle, clock } = setup({ messages: { per_address: 2, window: HOUR } });
  assert.equal(await throttle.allowMessage("Victim@example.com", "192.0.2.1"), true);
  assert.equal(await throttle.allowMessage("victim@example.com", "192.0.2.2"), true);
  assert.equal(await throttle.allowMessage("victim@example.com", "192.0.2.3"), false, "third to one address in the hour");
  const fromOneIp = [];
  for (let i = 0; i < 9; i++) fromOneIp.push(await throttle.allowMessage(`user${i}@example.com`, "198.51.100.7"));
  assert.deepEqual(fromOneIp, [true, true, true, true, true, true, true, true, false], "per IP: 4 x per_address");
  clock.advance(HOUR);
  assert.equal(await throttle.allowMessage("victim@example.com", "192.0.2.3"), true);
  assert.equal(await throttle.allowMessage("user9@example.com", "198.51.100.7"), true);
});

test("onLockout is told the normalized identifier, the client IP and the flow id of the failure that locked", async () => {
  const { throttle, lockouts, contexts } = setup({ identifier: { free_attempts: 100, max_consecutive_failures: 3 } });
  for (let i = 0; i < 3; i++) await throttle.failed("login_code:Grace@Example.com", "192.0.2.9", { flow_id: `flow-${i}` });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lockouts, ["login_code:grace@example.com"]);
  assert.deepEqual(contexts, [{ client_ip: "192.0.2.9", flow_id: "flow-2" }]);
  assert.deepEqual(parseThrottleSubject(lockouts[0]), { kind: "login", identifier: "grace@example.com" });
  assert.deepEqual(parseThrottleSubject("recovery_code:+1 (415) 555-2671"), { kind: "recovery", identifier: "+14155552671" });
  assert.deepEqual(parseThrottleSubject("grace@example.com"), { kind: "password", identifier: "grace@example.com" });
  assert.deepEqual(parseThrottleSubject("sms_code:grace@example.com"), { kind: "password", identifier: "sms_code:grace@example.com" });
});

test("clearAll (completed recovery) forgets the password and every code-guess counter of an identifier; clear only its own", async () => {
  const { throttle } = setup({ identifier: { max_consecutive_failures: 3 } });
  const keys = ["heidi@example.com", "login_code:heidi@example.com", "recovery_code:heidi@example.com", "verification_code:heidi@example.com", "registration_code:heidi@example.com"];
  const fail = async () => {
    for (const k of keys) for (let i = 0; i < 3; i++) await throttle.failed(k, "192.0.2.1");
  };
  await fail();
  for (const k of keys) assert.ok((await throttle.status(k))?.locked_until, k);
  await throttle.clear("Heidi@Example.com");
  assert.equal(await throttle.status("heidi@example.com"), null);
  assert.ok((await throttle.status("login_code:heidi@example.com"))?.locked_until, "clear() leaves code counters alone");
  await fail();
  await clearAllForIdentifier(throttle, [" Heidi@Example.com", "heidi@example.com"]);
  for (const k of keys) assert.equal(await throttle.status(k), null, k);
  await clearAllForIdentifier(undefined, ["heidi@example.com"]); // brute-force protection off: nothing to clear
});

test("enabled: false allows everything and counts nothing", async () => {
  const { throttle } = setup({ enabled: false, ip: { max_failures: 1 }, messages: { per_address: 1 } });
  for (let i = 0; i < 200; i++) {
    await throttle.check("frank", "192.0.2.1");
    await throttle.failed("frank", "192.0.2.1");
  }
  assert.equal(await throttle.status("frank"), null);
  for (let i = 0; i < 5; i++) assert.equal(await throttle.allowMessage("frank@example.com", "192.0.2.1"), true);
});

test("config: max_consecutive_failures above NIST's 100 is refused; the defaults are as documented", async () => {
  const base = {
    dsn: "memory",
    identity: { schemas: [{ id: "default", url: "https://x.example/s.json" }] },
    selfservice: { default_browser_return_url: "http://x/" },
    secrets: { default: ["0123456789abcdef0123"] },
  };
  await assert.rejects(
    loadConfig({ env: {}, overrides: { ...base, security: { brute_force: { identifier: { max_consecutive_failures: 101 } } } } }),
    (e: unknown) => e instanceof ConfigError && /max_consecutive_failures/.test(e.message),
  );
  const { config } = await loadConfig({ env: {}, overrides: base });
  const bf = config.security.brute_force;
  assert.deepEqual(
    [bf.enabled, bf.store, bf.identifier, bf.ip.max_failures, bf.ip.window, bf.messages],
    [true, "sql", { free_attempts: 5, max_delay: 15 * MIN, max_consecutive_failures: 100, lockout: HOUR }, 100, 24 * HOUR, { per_address: 5, window: HOUR }],
  );
});
