/**
 * Anti-CSRF for browser flows, as Kratos (nosurf): an HttpOnly cookie `csrf_token_<sha256(public base URL) hex>`
 * holds a random secret; every browser flow carries a *masked* copy of it (a fresh one-time pad XOR the secret) in
 * its `csrf_token` node and column, so the page never shows the same token twice (BREACH) while the cookie stays
 * unreadable to scripts. A submit is accepted only when the body's token unmasks to the cookie's secret and so does
 * the flow's own token (the flow is bound to the browser that started it). Comparisons are constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { appendSetCookie, readCookies, serializeCookie, type SetCookieOptions } from "./cookies.ts";

/** 24 bytes of secret: the masked token (pad + cipher, base64url) is exactly 64 characters, the column's width. */
const SECRET_BYTES = 24;
const ONE_YEAR_S = 365 * 24 * 3600;

export interface CsrfOptions {
  publicBaseUrl: string;
  cookie: { path: string; domain?: string; same_site: "Strict" | "Lax" | "None" };
}

export function mask(secret: Buffer): string {
  const pad = randomBytes(secret.length);
  const out = Buffer.alloc(secret.length);
  for (let i = 0; i < secret.length; i++) out[i] = pad[i] ^ secret[i];
  return Buffer.concat([pad, out]).toString("base64url");
}

/** The secret inside a masked token, or undefined when the token is not one of ours. */
export function unmask(token: string): Buffer | undefined {
  if (typeof token !== "string" || token.length !== 64 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, "base64url");
  if (raw.length !== SECRET_BYTES * 2) return undefined;
  const out = Buffer.alloc(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i++) out[i] = raw[i] ^ raw[i + SECRET_BYTES];
  return out;
}

const sameSecret = (a: Buffer | undefined, b: Buffer | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && timingSafeEqual(a, b);

export function createCsrf(opts: CsrfOptions) {
  const cookieName = `csrf_token_${createHash("sha256").update(opts.publicBaseUrl).digest("hex")}`;
  const secure = opts.publicBaseUrl.startsWith("https:");
  const cookieOptions: SetCookieOptions = {
    httpOnly: true,
    secure,
    // SameSite=None needs Secure; on plain http (development) browsers would drop it, so fall back to Lax there.
    sameSite: opts.cookie.same_site === "None" && !secure ? "Lax" : opts.cookie.same_site,
    path: opts.cookie.path || "/",
    domain: opts.cookie.domain,
    maxAgeSeconds: ONE_YEAR_S,
  };

  function cookieSecret(req: FastifyRequest): Buffer | undefined {
    const v = readCookies(req)[cookieName];
    if (!v) return undefined;
    const b = Buffer.from(v, "base64url");
    return b.length === SECRET_BYTES ? b : undefined;
  }

  return {
    cookieName,

    /** A masked token for a new browser flow; reuses the browser's secret or sets a new cookie. */
    issue(req: FastifyRequest, reply: FastifyReply): string {
      let secret = cookieSecret(req);
      if (!secret) {
        secret = randomBytes(SECRET_BYTES);
        appendSetCookie(reply, serializeCookie(cookieName, secret.toString("base64url"), cookieOptions));
      }
      return mask(secret);
    },

    /**
     * A token bound to no browser, for a flow created out of band (e.g. a verification flow started for a message):
     * such a flow can only be completed through its link (a GET with the code or token), never by a form post.
     */
    detached(): string {
      return mask(randomBytes(SECRET_BYTES));
    },

    /** Re-sets the cookie (Kratos refreshes it on every browser response that carries a flow). */
    refresh(req: FastifyRequest, reply: FastifyReply): void {
      const secret = cookieSecret(req);
      if (secret) appendSetCookie(reply, serializeCookie(cookieName, secret.toString("base64url"), cookieOptions));
    },

    /** A fresh mask of the same secret (a new token for the page after an error). */
    remask(token: string): string {
      const s = unmask(token);
      return s ? mask(s) : token;
    },

    /** Whether the request's cookie belongs to the browser that started a flow issued with `flowToken`. */
    ownsFlow(req: FastifyRequest, flowToken: string): boolean {
      return sameSecret(cookieSecret(req), unmask(flowToken));
    },

    /**
     * Checks a submit: cookie present, body token (or `X-CSRF-Token`) unmasks to the cookie's secret, and the flow
     * was issued to that secret. Returns undefined when valid, else the hint Kratos gives.
     */
    verify(req: FastifyRequest, submitted: string | undefined, flowToken: string): string | undefined {
      const secret = cookieSecret(req);
      const header = req.headers["x-csrf-token"];
      const given = submitted || (typeof header === "string" ? header : "");
      if (!secret) return "No CSRF cookie was sent with the request. Make sure the browser accepts cookies from this domain and that the request is sent with credentials.";
      if (!given) return "The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).";
      const okBody = sameSecret(secret, unmask(given));
      const okFlow = sameSecret(secret, unmask(flowToken));
      if (!okBody || !okFlow) return "The anti-CSRF cookie was found but the CSRF token included in the HTTP request body (csrf_token) or the HTTP Header (X-CSRF-Token) does not match.";
      return undefined;
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
