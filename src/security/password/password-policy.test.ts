import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startPwnedServer } from "../../../test/helpers/pwned-server.ts";
import { createPasswordPolicy, defaultPasswordPolicyConfig, passwordLength, serviceContextWords } from "./password-policy.ts";
import type { PasswordPolicyConfig } from "./password-policy.ts";
import { commonPasswords } from "./common-passwords.ts";

// Every password in this file is also "breached" on the local range server, so a test can tell whether the breach
// check ran (4000034) or an earlier check stopped it.
const server = await startPwnedServer({
  breached: { "password1": 5, "qwertyuiop": 5, "alice.wonder@example.com1": 5, "aurora-kettle-3302": 7, "tessera cloud 9!": 1 },
});
after(() => server.stop());

function policy(over: Partial<PasswordPolicyConfig> = {}, serviceWords?: string[]) {
  return createPasswordPolicy({ ...defaultPasswordPolicyConfig, haveibeenpwned_host: server.url, ...over }, { serviceWords });
}
const ids = (ms: { id: number }[]) => ms.map((m) => m.id);
const alice = { identifiers: ["alice.wonder@example.com"] };

test("defaults follow Kratos's schema and the issue", () => {
  assert.equal(defaultPasswordPolicyConfig.min_password_length, 8);
  assert.equal(defaultPasswordPolicyConfig.max_password_length, 1024);
  assert.equal(defaultPasswordPolicyConfig.identifier_similarity_check_enabled, true);
  assert.equal(defaultPasswordPolicyConfig.haveibeenpwned_enabled, true);
  assert.equal(defaultPasswordPolicyConfig.haveibeenpwned_host, "api.pwnedpasswords.com");
  assert.equal(defaultPasswordPolicyConfig.max_breaches, 0);
  assert.equal(defaultPasswordPolicyConfig.ignore_network_errors, true);
  assert.ok(Object.isFrozen(defaultPasswordPolicyConfig));
});

test("too short and too long, counted in code points after NFKC, stop before any other check", async () => {
  server.requests.length = 0;
  const short = await policy().check("😀😀😀😀", alice); // 8 UTF-16 units, 4 code points
  assert.deepEqual(ids(short), [4000032]);
  assert.deepEqual(short[0].context, { min_length: 8, actual_length: 4 });
  assert.deepEqual(ids(await policy().check("é".repeat(7), alice)), [4000032]);
  const long = await policy({ max_password_length: 70 }).check("x".repeat(71), alice);
  assert.deepEqual(ids(long), [4000033]);
  assert.deepEqual(long[0].context, { max_length: 70, actual_length: 71 });
  assert.equal(server.requests.length, 0);
});

test("max_password_length below 64 is raised to 64 (NIST: allow at least 64)", async () => {
  const p = policy({ max_password_length: 16, haveibeenpwned_enabled: false });
  assert.deepEqual(await p.check("river stones under a quiet bridge at dawn, 64 chars or so total", alice), []);
  assert.deepEqual(ids(await p.check("z".repeat(65) + "q", alice)), [4000033]);
});

test("a 1,000,000-character password is rejected fast with 4000033 and no request", async () => {
  server.requests.length = 0;
  const huge = "correct horse ".repeat(71_429).slice(0, 1_000_000);
  const t0 = performance.now();
  const out = await policy().check(huge, { identifiers: ["alice.wonder@example.com"], words: ["Alice", "Wonder"] });
  const ms = performance.now() - t0;
  assert.deepEqual(ids(out), [4000033]);
  assert.equal(out[0].context?.actual_length, 1_000_000);
  assert.ok(ms < 250, `took ${ms} ms`);
  assert.equal(server.requests.length, 0);
});

test("é typed precomposed or decomposed counts the same and gets the same verdict", async () => {
  const a = "r\u00e9sum\u00e9-orchid-62";
  const b = "re\u0301sume\u0301-orchid-62";
  assert.equal(passwordLength(a), passwordLength(b));
  const p = policy({ min_password_length: 18, haveibeenpwned_enabled: false });
  assert.deepEqual(ids(await p.check(a, alice)), [4000032]);
  assert.deepEqual(await p.check(a, alice), await p.check(b, alice));
});

test("common passwords are rejected offline with 4000005 and a reason, whatever the breach settings", async () => {
  server.requests.length = 0;
  for (const pw of ["password1", "qwertyuiop", "Password1", "iloveyou"]) {
    const out = await policy({ haveibeenpwned_enabled: false }).check(pw, alice);
    assert.deepEqual(ids(out), [4000005], pw);
    assert.match(String(out[0].context?.reason), /commonly used/);
  }
  assert.deepEqual(ids(await policy().check("password1", alice)), [4000005]); // stopped before the breach check
  assert.equal(server.requests.length, 0);
  assert.ok((await commonPasswords()).size >= 10_000);
});

test("similarity: identifier embedded, close edit distance, context words, service name; unrelated passes", async () => {
  const p = policy({ haveibeenpwned_enabled: false });
  assert.deepEqual(ids(await p.check("alice.wonder@example.com1", alice)), [4000031]);
  assert.deepEqual(ids(await p.check("xx-ALICE.WONDER@example.com", alice)), [4000031]);
  assert.deepEqual(ids(await p.check("alice.wonder@exampl3.c0m", alice)), [4000031]); // distance 2
  assert.deepEqual(ids(await p.check("wonderland-aliceW", { identifiers: ["bob@example.com"], words: ["Alice Wonderland"] })), [4000031]);
  assert.deepEqual(ids(await policy({ haveibeenpwned_enabled: false }, ["Tessera Cloud"]).check("Tessera Cloud 9!", alice)), [4000031]);
  assert.deepEqual(await p.check("aurora-kettle-3302", alice), []);
  // Disabled: the same password goes on to the next checks.
  const off = policy({ identifier_similarity_check_enabled: false, haveibeenpwned_enabled: false });
  assert.deepEqual(await off.check("alice.wonder@example.com1", alice), []);
});

test("service words: the courier's from_name and the public host name; IPs, localhost and blanks left out", () => {
  assert.deepEqual(serviceContextWords({ fromName: "  Acme Identity ", publicBaseUrl: "https://auth.acme-corp.example:8443/base/" }), [
    "Acme Identity",
    "auth.acme-corp.example",
  ]);
  assert.deepEqual(serviceContextWords({ fromName: "", publicBaseUrl: "http://127.0.0.1:4433/" }), []);
  assert.deepEqual(serviceContextWords({ publicBaseUrl: "http://[::1]:4433/" }), []);
  assert.deepEqual(serviceContextWords({ publicBaseUrl: "http://localhost:4433/" }), []);
  assert.deepEqual(serviceContextWords({ publicBaseUrl: "not a url" }), []);
  assert.deepEqual(serviceContextWords({ fromName: "login.example.org", publicBaseUrl: "https://login.example.org./" }), ["login.example.org"]);
});

test("checks run in order: similar and common reported together, breach only when both pass", async () => {
  server.requests.length = 0;
  const both = await policy().check("password1", { identifiers: ["password"] });
  assert.deepEqual(ids(both), [4000031, 4000005]);
  assert.equal(server.requests.length, 0);
  assert.deepEqual(ids(await policy().check("aurora-kettle-3302", alice)), [4000034]);
  assert.equal(server.requests.length, 1);
});
