import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import { clientIp, ipLimitSubject, normalizeIp, trustedProxyMatcher } from "./client-ip.ts";

// A real Fastify instance: the address comes from the request's socket as in production (inject sets remoteAddress).
let app: FastifyInstance;
const trusted = ["10.0.0.0/8", "::1", "fd00::/8"];

before(async () => {
  app = Fastify();
  app.get("/ip", async (request) => ({ ip: clientIp(request, trusted), untrusted: clientIp(request, []) }));
  await app.ready();
});
after(() => app.close());

async function ipFor(remoteAddress: string, xff?: string | string[]): Promise<{ ip: string; untrusted: string }> {
  const res = await app.inject({ method: "GET", url: "/ip", remoteAddress, headers: xff === undefined ? {} : { "x-forwarded-for": xff } });
  return res.json();
}

test("without a trusted peer X-Forwarded-For is ignored (spoofing gains nothing)", async () => {
  assert.deepEqual(await ipFor("203.0.113.9", "1.2.3.4"), { ip: "203.0.113.9", untrusted: "203.0.113.9" });
  assert.deepEqual(await ipFor("10.0.0.5", "1.2.3.4"), { ip: "1.2.3.4", untrusted: "10.0.0.5" }, "no trusted list: the peer");
});

test("behind trusted proxies: walk right to left, skip trusted hops, stop at the first untrusted address", async () => {
  assert.equal((await ipFor("10.0.0.1", "203.0.113.5")).ip, "203.0.113.5");
  assert.equal((await ipFor("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.1.2.3")).ip, "203.0.113.5", "client-written 6.6.6.6 ignored");
  assert.equal((await ipFor("10.0.0.1", ["6.6.6.6", "203.0.113.5"])).ip, "203.0.113.5", "repeated headers join");
  assert.equal((await ipFor("10.0.0.1", "10.9.9.9, 10.1.1.1")).ip, "10.9.9.9", "all hops trusted: the leftmost");
  assert.equal((await ipFor("10.0.0.1")).ip, "10.0.0.1", "no header: the peer");
  assert.equal((await ipFor("10.0.0.1", "garbage, 10.2.2.2")).ip, "10.2.2.2", "a malformed hop: the last good one");
});

test("IPv6 and IPv4-mapped IPv6 peers and hops", async () => {
  assert.equal((await ipFor("::1", "2001:db8::7")).ip, "2001:db8::7");
  assert.equal((await ipFor("::ffff:10.0.0.1", "198.51.100.4")).ip, "198.51.100.4", "mapped peer matches 10.0.0.0/8");
  assert.equal((await ipFor("::ffff:203.0.113.1", "198.51.100.4")).ip, "203.0.113.1", "mapped untrusted peer, as IPv4");
  assert.equal((await ipFor("fd12::1", "[2001:db8::8], fd00::2")).ip, "2001:db8::8");
  assert.equal((await ipFor("2001:db8::1", "198.51.100.4")).ip, "2001:db8::1");
});

test("normalization and the counted subject (IPv6 /64)", () => {
  assert.equal(normalizeIp("::ffff:7f00:1"), "127.0.0.1");
  assert.equal(normalizeIp("0:0:0:0:0:ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(normalizeIp("FE80::1%eth0"), "fe80::1");
  assert.equal(ipLimitSubject("2001:db8:1:2:3:4:5:6"), ipLimitSubject("2001:DB8:1:2::9"));
  assert.notEqual(ipLimitSubject("2001:db8:1:2::1"), ipLimitSubject("2001:db8:1:3::1"));
  assert.equal(ipLimitSubject("::ffff:192.0.2.1"), "192.0.2.1");
  const m = trustedProxyMatcher(["192.0.2.0/24", "::ffff:198.51.100.0/120", "2001:db8::/32"]);
  assert.deepEqual(
    ["192.0.2.200", "192.0.3.1", "198.51.100.9", "::ffff:192.0.2.1", "2001:db8:ffff::1", "2001:db9::1"].map(m),
    [true, false, true, true, true, false],
  );
  assert.throws(() => trustedProxyMatcher(["10.0.0.0/33"]), /prefix/);
});
