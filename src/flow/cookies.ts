/**
 * Minimal cookie reading and writing on raw headers, so flows do not depend on which cookie plugin (if any) another
 * part of the app registers. Writing appends to `Set-Cookie` (never replaces a cookie another component set).
 */
import type { FastifyReply, FastifyRequest } from "fastify";

/** Parses the Cookie header; the first occurrence of a name wins (as browsers send the most specific first). */
export function readCookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const header = req.headers.cookie;
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export interface SetCookieOptions {
  httpOnly: boolean;
  secure: boolean;
  sameSite: "Strict" | "Lax" | "None";
  path: string;
  domain?: string;
  maxAgeSeconds?: number;
}

export function serializeCookie(name: string, value: string, o: SetCookieOptions): string {
  let s = `${name}=${encodeURIComponent(value)}; Path=${o.path}`;
  if (o.domain) s += `; Domain=${o.domain}`;
  if (o.maxAgeSeconds !== undefined) s += `; Max-Age=${o.maxAgeSeconds}`;
  if (o.httpOnly) s += "; HttpOnly";
  if (o.secure || o.sameSite === "None") s += "; Secure";
  s += `; SameSite=${o.sameSite}`;
  return s;
}

/** Fastify appends repeated `set-cookie` headers (RFC 7230 3.2.2), so this never drops another component's cookie. */
export function appendSetCookie(reply: FastifyReply, cookie: string): void {
  reply.header("set-cookie", cookie);
}
