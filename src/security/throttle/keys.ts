import { createHmac } from "node:crypto";
import { normalizeIdentifier, toE164 } from "../../identity/schema/normalize.ts";
import { ipLimitSubject } from "./client-ip.ts";

/**
 * Store keys. Stores never see identifiers, addresses or IPs: each key is `<kind>:<HMAC-SHA256(secret, kind NUL
 * subject) hex>`, keyed with `secrets.default[0]`, so a leaked table or Redis dump names nobody and cannot be
 * reversed by hashing a list of emails without the secret. Rotating the first secret starts every counter afresh.
 */
export type KeyKind =
  | "id" // consecutive failures of one identifier
  | "ipf" // failures from one client IP across identifiers
  | "ipr" // requests from one client IP (volumetric)
  | "msg" // messages sent to one address
  | "msgip"; // messages requested from one client IP

export function throttleKey(secret: string, kind: KeyKind, subject: string): string {
  return `${kind}:${createHmac("sha256", secret).update(`${kind}\u0000${subject}`).digest("hex")}`;
}

/**
 * The identifier as counted: the login normalization (NFKC, trim, lower-case), and a phone number in E.164 whatever
 * its spelling, so `+1 (415) 555-2671` and `+14155552671` share one counter. Idempotent: passing an already
 * normalized identifier changes nothing.
 */
export function throttleSubject(identifier: string): string {
  return toE164(identifier) ?? normalizeIdentifier(identifier, "username");
}

/** The counted part of an IP (IPv4 address or IPv6 /64). */
export const ipSubject = ipLimitSubject;

/**
 * Code guesses are counted under an identifier of their own, `<kind>_code:<address>` (the sender and the passwordless
 * guard build it), so guessing codes never locks the password login of the same address, nor the other way round.
 */
export const CODE_GUESS_KINDS = ["login", "registration", "recovery", "verification"] as const;
export type CodeGuessKind = (typeof CODE_GUESS_KINDS)[number];

/** The throttle identifier of `kind` code guesses for `address`. */
export const codeGuessIdentifier = (kind: CodeGuessKind, address: string): string => `${kind}_code:${address}`;

const CODE_GUESS = new RegExp(`^(${CODE_GUESS_KINDS.join("|")})_code:(.+)$`);

/**
 * What a counted identifier (as `throttleSubject` returns it, e.g. to `onLockout`) stands for: a password identifier,
 * or a code kind and its address, normalized as at login. (A password identifier spelled `login_code:x` would share
 * the counter of `x`'s login codes and be read as such here; identifiers are email addresses, phone numbers and
 * usernames, and the owner of `x` is the one the attempts aimed at.)
 */
export function parseThrottleSubject(subject: string): { kind: "password"; identifier: string } | { kind: CodeGuessKind; identifier: string } {
  const m = CODE_GUESS.exec(subject);
  if (!m) return { kind: "password", identifier: subject };
  return { kind: m[1] as CodeGuessKind, identifier: throttleSubject(m[2]) };
}
