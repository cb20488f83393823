import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import type { Database } from "../persistence/db.ts";
import type { IdentityRepo } from "../identity/identity-repo.ts";
import { schemaUrl, type Identity } from "../identity/identity.ts";
import type { Clock } from "../util/clock.ts";
import { newId } from "../util/ids.ts";
import { createSessionRepo } from "./session-repo.ts";
import {
  hashToken,
  isUsable,
  logoutTokenFor,
  newSessionToken,
  sessionToJson,
  type Aal,
  type AuthenticationMethod,
  type SessionJson,
  type SessionRecord,
} from "./session.ts";

export type { AuthenticationMethod, SessionRecord } from "./session.ts";
export { registerSessionRoutes } from "./routes.ts";
export { registerSessionAdminRoutes } from "./admin-routes.ts";

/**
 * Issues, finds, renders and revokes sessions; owns the session cookie.
 *
 * Contract:
 * - `issue` always mints a brand-new session and token (a cookie or token the client already holds is never adopted,
 *   so a planted cookie cannot fix a victim's session). With `previous` (re-authentication, step-up) the previous
 *   session is revoked and its authentication methods carry over.
 * - `fromRequest` reads `X-Session-Token`, else the session cookie, else `Authorization: Bearer` (Kratos's order, no
 *   fallback once a source is present) and returns the session only when it is active, not expired and its identity is
 *   active. The identity it returns carries traits and addresses but no credentials and no `metadata_admin`: load it
 *   with `IdentityRepo.get` when those are needed. One database read.
 * - `revokeAllForIdentity` is what the identity service calls when an identity becomes inactive.
 */
export type SessionConfig = {
  session: Pick<Config["session"], "lifespan" | "earliest_possible_extend" | "cookie">;
};

export interface SessionServiceDeps {
  database: Database;
  repo: IdentityRepo;
  clock: Clock;
  config: SessionConfig;
  publicBaseUrl: string;
  /** `--dev`: cookies lose `Secure` (plain http on localhost). */
  dev: boolean;
}

export interface IssueOptions {
  method: string;
  aal?: Aal;
  ip: string;
  user_agent: string;
  /** The session being replaced (refresh / step-up): revoked, its methods carried over. Never reused. */
  previous?: SessionRecord;
}

export interface RequestSession {
  session: SessionRecord;
  identity: Identity;
  /** The presented session token (to derive the logout token). */
  token: string;
}

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/** The value of cookie `name` in a Cookie header, or undefined. First occurrence wins. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  }
  return undefined;
}

/** whoami's answer: the identity id (a response header) and the session JSON as text. */
export interface WhoamiAnswer {
  identity_id: string;
  body: string;
}

export function createSessionService(deps: SessionServiceDeps) {
  const { clock, config, publicBaseUrl } = deps;
  const sessions = createSessionRepo(deps.database, { schemaUrl: (id) => schemaUrl(publicBaseUrl, id) });
  const cookieCfg = config.session.cookie;
  const lifespan = config.session.lifespan;
  // Decided once: Secure unless dev mode or a plain-http public URL; SameSite=None needs Secure, so it degrades to Lax.
  const secure = !deps.dev && !publicBaseUrl.startsWith("http:");
  const sameSite = cookieCfg.same_site === "None" && !secure ? "Lax" : cookieCfg.same_site;
  const cookieTail = `; Path=${cookieCfg.path || "/"}${cookieCfg.domain ? `; Domain=${cookieCfg.domain}` : ""}; HttpOnly${secure ? "; Secure" : ""}; SameSite=${sameSite}`;

  function tokenFromRequest(req: FastifyRequest): string | undefined {
    const header = req.headers["x-session-token"];
    if (typeof header === "string" && header !== "") return header;
    const cookie = readCookie(req.headers.cookie, cookieCfg.name);
    if (cookie) return cookie;
    const m = BEARER_RE.exec(req.headers.authorization ?? "");
    return m ? m[1] : undefined;
  }

  async function byToken(token: string, tokenHash = hashToken(token)): Promise<RequestSession | undefined> {
    const found = await sessions.findByTokenHash(tokenHash);
    if (!found || !isUsable(found.session, clock.now()) || found.identity.state !== "active") return undefined;
    return { ...found, token };
  }

  return {
    /** The session repository (admin routes and tests). */
    sessions,

    /** The injected clock's time (routes use it so tests can expire sessions without sleeping). */
    now: (): Date => clock.now(),

    async issue(identity: Identity, opts: IssueOptions): Promise<{ session: SessionRecord; token: string }> {
      const now = clock.now();
      const nowIso = now.toISOString();
      const aal: Aal = opts.aal ?? "aal1";
      const methods: AuthenticationMethod[] = [...(opts.previous?.authentication_methods ?? []), { method: opts.method, aal, completed_at: nowIso }];
      const session: SessionRecord = {
        id: newId(),
        identity_id: identity.id,
        active: true,
        aal: opts.previous?.aal === "aal2" ? "aal2" : aal,
        authenticated_at: nowIso,
        issued_at: nowIso,
        expires_at: new Date(now.getTime() + lifespan).toISOString(),
        authentication_methods: methods,
        devices: [{ id: newId(), ip_address: opts.ip, user_agent: opts.user_agent, location: "" }],
      };
      const token = newSessionToken();
      await sessions.insert(session, hashToken(token), nowIso);
      if (opts.previous) await sessions.deactivate(opts.previous.id, nowIso);
      return { session, token };
    },

    tokenFromRequest,

    /** The usable session of the request, or undefined (missing, unknown, revoked, expired, identity inactive). */
    async fromRequest(req: FastifyRequest): Promise<RequestSession | undefined> {
      const token = tokenFromRequest(req);
      return token ? byToken(token) : undefined;
    },

    /**
     * `/sessions/whoami`: the identity id and the session JSON (`toJson` with devices) as text, or undefined when the
     * request has no usable session. Where the database renders the answer itself (SQLite files) nothing is parsed or
     * built here; elsewhere it is `JSON.stringify(toJson(...))`. One database read either way. The SQLite read is
     * synchronous, so that answer comes back without a promise (the route then answers without one either).
     */
    whoami(req: FastifyRequest): WhoamiAnswer | undefined | Promise<WhoamiAnswer | undefined> {
      const token = tokenFromRequest(req);
      if (!token) return undefined;
      const hash = hashToken(token);
      const rendered = sessions.renderedByTokenHash(hash);
      if (rendered === null) {
        return byToken(token, hash).then((found) =>
          found ? { identity_id: found.identity.id, body: JSON.stringify(sessionToJson(found.session, found.identity, { publicBaseUrl, devices: true })) } : undefined,
        );
      }
      if (!rendered || !isUsable(rendered, clock.now()) || rendered.identity_state !== "active") return undefined;
      return { identity_id: rendered.identity_id, body: rendered.body };
    },

    /** The usable session of a raw token (API logout, tests). */
    fromToken: (token: string) => byToken(token),

    toJson(session: SessionRecord, identity: Identity | undefined, opts: { devices?: boolean } = {}): SessionJson {
      return sessionToJson(session, identity, { publicBaseUrl, devices: opts.devices ?? true });
    },

    logoutTokenFor,

    /** Sets the session cookie; persistent (Expires/Max-Age = session expiry) when `session.cookie.persistent`. */
    setCookie(reply: FastifyReply, token: string, session: SessionRecord): void {
      let attrs = cookieTail;
      if (cookieCfg.persistent) {
        const expires = new Date(session.expires_at);
        const maxAge = Math.max(0, Math.floor((expires.getTime() - clock.now().getTime()) / 1000));
        attrs = `; Expires=${expires.toUTCString()}; Max-Age=${maxAge}${attrs}`;
      }
      reply.header("set-cookie", `${cookieCfg.name}=${token}${attrs}`);
    },

    clearCookie(reply: FastifyReply): void {
      reply.header("set-cookie", `${cookieCfg.name}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0${cookieTail}`);
    },

    /** Revokes one session (it stays listed as inactive). True when it existed. */
    async revoke(id: string): Promise<boolean> {
      return sessions.deactivate(id, clock.now().toISOString());
    },

    /** Revokes every session of an identity except `exceptSessionId`; returns how many were active. */
    async revokeAllForIdentity(identityId: string, exceptSessionId?: string): Promise<number> {
      return sessions.deactivateAllForIdentity(identityId, clock.now().toISOString(), exceptSessionId);
    },

    /**
     * Admin extend: when less than `session.earliest_possible_extend` remains, the expiry becomes now + lifespan;
     * earlier calls leave the session unchanged (Kratos's rule). Returns the session, or undefined when unknown.
     */
    async extend(id: string): Promise<SessionRecord | undefined> {
      const session = await sessions.get(id);
      if (!session) return undefined;
      const now = clock.now();
      const remaining = new Date(session.expires_at).getTime() - now.getTime();
      if (remaining > config.session.earliest_possible_extend) return session;
      const extended = { ...session, expires_at: new Date(now.getTime() + lifespan).toISOString() };
      await sessions.setExpiry(id, extended.expires_at, now.toISOString());
      return extended;
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
