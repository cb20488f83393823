import { BlockList, isIP } from "node:net";
import type { FastifyRequest } from "fastify";

/**
 * Client addresses for per-IP limits.
 *
 * `X-Forwarded-For` is believed only when the TCP peer is one of `serve.public.trusted_proxies` (CIDRs or single
 * addresses). The chain is then walked right to left, skipping trusted hops; the first untrusted address is the
 * client. Anything further left was written by the client itself and is ignored, so a spoofed header gains nothing.
 * When the peer is not trusted the header is ignored entirely. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is treated as
 * the IPv4 address everywhere.
 */

/** A matcher for a list of CIDRs; invalid entries throw (the config schema has already refused them). */
export function trustedProxyMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const raw of cidrs) {
    const [addr, bits] = raw.trim().split("/");
    const ip = normalizeIp(addr);
    const family = isIP(ip);
    if (family === 0) throw new Error(`trusted proxy "${raw}" is not an IP address or CIDR`);
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(ip, type);
    else {
      const prefix = Number(bits) - (family === 4 && isIP(addr) === 6 ? 96 : 0);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`trusted proxy "${raw}": bad prefix length`);
      list.addSubnet(ip, prefix, type);
    }
  }
  // BlockList.check builds a SocketAddress per call (most of a request's client-IP cost); the answer for an address
  // never changes, so recent ones are remembered (bounded, cleared when full).
  const seen = new Map<string, boolean>();
  return (ip) => {
    let hit = seen.get(ip);
    if (hit === undefined) {
      const n = normalizeIp(ip);
      const family = isIP(n);
      hit = family !== 0 && list.check(n, family === 4 ? "ipv4" : "ipv6");
      if (seen.size >= 10_000) seen.clear();
      seen.set(ip, hit);
    }
    return hit;
  };
}

/** Lower-cased, without brackets or zone, IPv4-mapped IPv6 turned into IPv4. Unparseable input comes back trimmed. */
export function normalizeIp(raw: string): string {
  let ip = raw.trim().toLowerCase();
  if (ip.startsWith("[") && ip.includes("]")) ip = ip.slice(1, ip.indexOf("]"));
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  if (isIP(ip) !== 6) return ip;
  const h = expandIpv6(ip);
  if (h.slice(0, 5).every((x) => x === "0") && h[5] === "ffff") {
    const a = parseInt(h[6], 16);
    const b = parseInt(h[7], 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return ip;
}

/** The client IP of `request` (see the module comment). Falls back to "unknown" when the socket has no address. */
export function clientIp(request: FastifyRequest, trustedProxies: readonly string[] | ((ip: string) => boolean)): string {
  const trusted = typeof trustedProxies === "function" ? trustedProxies : trustedProxyMatcher(trustedProxies);
  const peer = normalizeIp(request.raw.socket?.remoteAddress ?? "");
  if (isIP(peer) === 0) return peer || "unknown";
  if (!trusted(peer)) return peer;
  const header = request.headers["x-forwarded-for"];
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((h) => h.trim()).filter((h) => h !== "");
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]);
    // A trusted proxy wrote this entry; a malformed one means a misconfigured proxy: keep the last good hop.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted(hop)) return hop;
  }
  return client;
}

/**
 * The part of an address a limit counts: the IPv4 address, or the /64 prefix of an IPv6 address (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give an attacker 2^64 fresh budgets).
 */
export function ipLimitSubject(ip: string): string {
  const n = normalizeIp(ip);
  if (isIP(n) !== 6) return n;
  return `${expandIpv6(n).slice(0, 4).join(":")}::/64`;
}

function expandIpv6(ip: string): string[] {
  let s = ip;
  // An embedded IPv4 tail (::1.2.3.4) becomes two hextets.
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (v4) {
    const p = v4[1].split(".").map(Number);
    s = s.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array.from({ length: 8 - h.length - t.length }, () => "0");
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16));
}
