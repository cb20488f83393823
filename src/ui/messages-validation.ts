/**
 * 4000xxx: validation errors, with the texts and context keys of Kratos's `text/message_validation.go` (v26.2) and the
 * generated catalog in Ory's docs (`kratos/concepts/messages.json`).
 */
import { goQuote, msg } from "./text.ts";
import type { UiText } from "./text.ts";

/** 4000001: any reason without a dedicated id (also JSON Schema keywords Kratos has no id for). */
export const validationGeneric = (reason: string): UiText => msg(4000001, "error", reason, { reason });
/** 4000002: a required property is missing; `property` is the last pointer segment ("email"). */
export const requiredProperty = (property: string): UiText =>
  msg(4000002, "error", `Property ${property} is missing.`, { property });
export const minLength = (min_length: number, actual_length: number): UiText =>
  msg(4000003, "error", `length must be >= ${min_length}, but got ${actual_length}`, { min_length, actual_length });
/** 4000004: JSON Schema `pattern` failed (Kratos calls it "invalid format"). */
export const patternMismatch = (pattern: string): UiText =>
  msg(4000004, "error", `does not match pattern ${goQuote(pattern)}`, { pattern });
export const passwordPolicyViolation = (reason: string): UiText =>
  msg(4000005, "error", `The password can not be used because ${reason}.`, { reason });
export const invalidCredentials = (): UiText =>
  msg(4000006, "error", "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.");
export const duplicateCredentials = (): UiText =>
  msg(4000007, "error", "An account with the same identifier (email, phone, username, ...) exists already.");
export const totpCodeInvalid = (): UiText => msg(4000008, "error", "The provided authentication code is invalid, please try again.");
export const identifierMissing = (): UiText =>
  msg(4000009, "error", "Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.");
export const addressNotVerified = (): UiText => msg(4000010, "error", "Account not active yet. Did you forget to verify your email address?");
export const noTotpDevice = (): UiText => msg(4000011, "error", "You have no TOTP device set up.");
export const lookupSecretAlreadyUsed = (): UiText => msg(4000012, "error", "This backup recovery code has already been used.");
export const noWebAuthnDevice = (): UiText => msg(4000013, "error", "You have no WebAuthn device set up.");
export const noLookupSecrets = (): UiText => msg(4000014, "error", "You have no backup recovery codes set up.");
export const noSuchWebAuthnUser = (): UiText => msg(4000015, "error", "This account does not exist or has no security key set up.");
export const lookupSecretInvalid = (): UiText => msg(4000016, "error", "The backup recovery code is not valid.");
export const maxLength = (max_length: number, actual_length: number): UiText =>
  msg(4000017, "error", `length must be <= ${max_length}, but got ${actual_length}`, { max_length, actual_length });
export const minimum = (min: number, actual: number): UiText =>
  msg(4000018, "error", `must be >= ${min} but found ${actual}`, { minimum: min, actual });
export const exclusiveMinimum = (min: number, actual: number): UiText =>
  msg(4000019, "error", `must be > ${min} but found ${actual}`, { minimum: min, actual });
export const maximum = (max: number, actual: number): UiText =>
  msg(4000020, "error", `must be <= ${max} but found ${actual}`, { maximum: max, actual });
export const exclusiveMaximum = (max: number, actual: number): UiText =>
  msg(4000021, "error", `must be < ${max} but found ${actual}`, { maximum: max, actual });
export const multipleOf = (base: number, actual: number): UiText =>
  msg(4000022, "error", `${actual} not multipleOf ${base}`, { base, actual });
export const maxItems = (max_items: number, actual_items: number): UiText =>
  msg(4000023, "error", `maximum ${max_items} items allowed, but found ${actual_items} items`, { max_items, actual_items });
export const minItems = (min_items: number, actual_items: number): UiText =>
  msg(4000024, "error", `minimum ${min_items} items allowed, but found ${actual_items} items`, { min_items, actual_items });
export const uniqueItems = (index_a: number, index_b: number): UiText =>
  msg(4000025, "error", `items at index ${index_a} and ${index_b} are equal`, { index_a, index_b });
export const wrongType = (allowed_types: string[], actual_type: string): UiText =>
  msg(4000026, "error", `expected ${allowed_types.join(" or ")}, but got ${actual_type}`, { allowed_types, actual_type });
export const duplicateCredentialsOnOidcLink = (): UiText =>
  msg(4000027, "error", "An account with the same identifier (email, phone, username, ...) exists already. Please sign in to your existing account to link your social profile.");

const HUMAN_CREDENTIAL: Record<string, string> = {
  password: "your password",
  oidc: "social sign in",
  saml: "social sign in",
  webauthn: "your passkey or a security key",
  passkey: "your passkey",
};

/** 4000028: duplicate identifier with hints on how the existing account can sign in (Kratos builds the same sentence). */
export function duplicateCredentialsWithHints(
  available_credential_types: string[],
  available_oidc_providers: string[],
  credential_identifier_hint: string,
): UiText {
  const identifier = credential_identifier_hint || "an email, phone, or username";
  let reason = `You tried signing in with ${identifier} which is already in use by another account.`;
  if (available_credential_types.length > 0) {
    let human = available_credential_types.map((c) => HUMAN_CREDENTIAL[c]).filter((h): h is string => h !== undefined);
    if (human.length === 0) human = [...available_credential_types];
    human = [...new Set(human)];
    if (human.length > 1) human[human.length - 1] = `or ${human[human.length - 1]}`;
    reason += ` You can sign in using ${human.join(", ")}.`;
  }
  if (available_oidc_providers.length > 0) {
    const titled = available_oidc_providers.map((p) => p.charAt(0).toUpperCase() + p.slice(1));
    reason += ` You can sign in using one of the following social sign in providers: ${titled.join(", ")}.`;
  }
  return msg(4000028, "error", reason, { available_credential_types, available_oidc_providers, credential_identifier_hint });
}

export const constValue = (expected: unknown): UiText => msg(4000029, "error", `must be equal to constant ${String(expected)}`, { expected });
export const constFailed = (): UiText => msg(4000030, "error", "const failed");
export const passwordIdentifierTooSimilar = (): UiText =>
  msg(4000031, "error", "The password can not be used because it is too similar to the identifier.");
export const passwordTooShort = (min_length: number, actual_length: number): UiText =>
  msg(4000032, "error", `The password must be at least ${min_length} characters long, but got ${actual_length}.`, { actual_length, min_length });
export const passwordTooLong = (max_length: number, actual_length: number): UiText =>
  msg(4000033, "error", `The password must be at most ${max_length} characters long, but got ${actual_length}.`, { actual_length, max_length });
export const passwordBreached = (breaches: number): UiText =>
  msg(4000034, "error", "The password has been found in data breaches and must no longer be used.", { breaches });
export const noCodeUser = (): UiText => msg(4000035, "error", "This account does not exist or has not setup sign in with code.");
export const traitsMismatch = (): UiText =>
  msg(4000036, "error", "The provided traits do not match the traits previously associated with this flow.");
export const accountNotFound = (): UiText => msg(4000037, "error", "This account does not exist or has no login method configured.");
export const captchaFailed = (): UiText => msg(4000038, "error", "Captcha verification failed, please try again.");
export const passwordSameAsOld = (): UiText => msg(4000039, "error", "The new password must be different from the old password.");
/** 4000040: a trait with `format: email` is not an email address; `value` echoes what was entered. */
export const invalidEmail = (value: string): UiText => msg(4000040, "error", "Enter a valid email address", { value });
/** 4000041: a trait with `format: tel` is not a phone number. */
export const invalidPhone = (value: string): UiText => msg(4000041, "error", "Enter a valid phone number", { value });
