import * as nodeCrypto from "node:crypto";
import { createHash, createHmac } from "node:crypto";
import { identityToJson, type Identity, type IdentityJson } from "../identity/identity.ts";
import { AppError } from "../util/app-error.ts";
import { ALNUM, randomAlphanumeric } from "../util/ids.ts";

/**
 * The session model, in Kratos's wire names (`session`, `sessionAuthenticationMethod`, `sessionDevice` of the
 * OpenAPI spec), plus the token helpers. Tokens never reach the database: only their SHA-256 hex digests do, so a
 * database leak yields no usable token (a fast hash is right here: the tokens carry ~190 random bits, nothing to
 * brute-force).
 */
export type Aal = "aal1" | "aal2";

export interface AuthenticationMethod {
  method: string;
  aal: Aal;
  completed_at: string;
}

export interface SessionDevice {
  id: string;
  ip_address: string;
  user_agent: string;
  location: string;
}

/** A session as stored (timestamps are ISO-8601 UTC strings with milliseconds). */
export interface SessionRecord {
  id: string;
  identity_id: string;
  /** The stored flag: false once revoked. A session is usable only when active AND not expired (`isUsable`). */
  active: boolean;
  aal: Aal;
  authenticated_at: string;
  issued_at: string;
  expires_at: string;
  authentication_methods: AuthenticationMethod[];
  devices: SessionDevice[];
}

export const SESSION_TOKEN_PREFIX = "ory_st_";
export const LOGOUT_TOKEN_PREFIX = "ory_lo_";

/** `ory_st_` + 32 characters of [A-Za-z0-9] from the CSPRNG (~190 bits). */
export const newSessionToken = (): string => SESSION_TOKEN_PREFIX + randomAlphanumeric(32);

/** SHA-256 hex of a token: the only form a token takes in the database. */
// `crypto.hash` (Node >= 20.12) digests in one call, about a third of the cost of createHash().update().digest() (whoami
// hashes a token on every request); earlier Node 20 releases take the streaming form.
const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
export const hashToken: (token: string) => string = oneShot
  ? (token) => oneShot("sha256", token, "hex")
  : (token) => createHash("sha256").update(token).digest("hex");

/**
 * The logout token of a session, derived from its session token by a domain-separated one-way function. Deriving
 * (rather than drawing it at random) lets `/self-service/logout/browser` hand out the same logout token every time
 * and logout check it by recomputing it, so the database keeps nothing of it; knowing a logout token reveals nothing
 * about the session token.
 */
export function logoutTokenFor(sessionToken: string): string {
  const digest = createHmac("sha256", "tessera/logout-token/v1").update(sessionToken).digest();
  let out = LOGOUT_TOKEN_PREFIX;
  for (let i = 0; i < 32; i++) out += ALNUM[digest[i] % 62];
  return out;
}

/** Active and not expired at `now` (ISO strings of one fixed format compare in time order). */
export function isUsable(session: Pick<SessionRecord, "active" | "expires_at">, now: Date): boolean {
  return session.active && session.expires_at > now.toISOString();
}

/**
 * The one 401 of the session endpoints: identical for a missing, unknown, expired or revoked token, so a caller
 * learns nothing about which it was.
 */
export function sessionInactive(): AppError {
  return new AppError({
    id: "session_inactive",
    code: 401,
    message: "request does not have a valid authentication session",
    reason: "No active session was found in this request.",
  });
}

export interface SessionJson {
  id: string;
  active: boolean;
  expires_at: string;
  authenticated_at: string;
  authenticator_assurance_level: Aal;
  authentication_methods: AuthenticationMethod[];
  issued_at: string;
  identity?: IdentityJson;
  devices?: SessionDevice[];
}

export interface SessionJsonOptions {
  publicBaseUrl: string;
  /** Include `devices` (whoami and the self-service list always do; admin views on `expand=devices`). */
  devices: boolean;
}

/**
 * Kratos's session JSON. The identity is rendered as in self-service (no credentials, no `metadata_admin`); pass
 * `undefined` to leave it out (admin views without `expand=identity`).
 */
export function sessionToJson(session: SessionRecord, identity: Identity | undefined, opts: SessionJsonOptions): SessionJson {
  const out: SessionJson = {
    id: session.id,
    active: session.active,
    expires_at: session.expires_at,
    authenticated_at: session.authenticated_at,
    authenticator_assurance_level: session.aal,
    authentication_methods: session.authentication_methods,
    issued_at: session.issued_at,
  };
  if (identity) out.identity = identityToJson(identity, { publicBaseUrl: opts.publicBaseUrl, admin: false });
  if (opts.devices) out.devices = session.devices;
  return out;
}
