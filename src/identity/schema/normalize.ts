/**
 * Identifier normalization: the one place that decides what "the same identifier" means.
 *
 * - email: trim, NFKC, lower-case (whole address; Kratos lower-cases every credential identifier too)
 * - phone: E.164 via libphonenumber-js (`+1 (415) 555-2671` -> `+14155552671`); a number must carry its country code
 * - username: trim, NFKC, lower-case (Kratos lower-cases credential identifiers, so `Alice` and `alice` are one
 *   account; the trait itself keeps the user's case, see `normalizeTraitValue`)
 */
import { parsePhoneNumberWithError } from "libphonenumber-js";
import type { IdentifierKind } from "./fields.ts";

/** NFKC then trim (NFKC can turn e.g. an ideographic space into a plain one, so trim after). */
const clean = (value: string): string => value.normalize("NFKC").trim();

/** E.164 form of a phone number, or undefined when it cannot be parsed or is not a valid number. */
export function toE164(value: string): string | undefined {
  // An email address is never a phone number; the parser would build (and throw) an error object to say so, which
  // costs a stack trace on every login and throttle key of an email identifier.
  if (value.includes("@")) return undefined;
  try {
    const p = parsePhoneNumberWithError(clean(value));
    return p.isValid() ? p.number : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The identifier as stored and looked up. Never throws: a phone number that does not parse falls back to the cleaned
 * text (validation rejects it before it is stored; lookups with it simply find nothing).
 */
export function normalizeIdentifier(value: string, kind: IdentifierKind): string {
  if (kind === "phone") return toE164(value) ?? clean(value);
  return clean(value).toLowerCase();
}

/**
 * The trait value as stored: identical to `normalizeIdentifier` for email and phone; usernames keep their case (only
 * trimmed and NFKC-normalized) so the profile shows what the user typed while the credential identifier is lower-case.
 */
export function normalizeTraitValue(value: string, kind: IdentifierKind): string {
  if (kind === "username") return clean(value);
  return normalizeIdentifier(value, kind);
}
