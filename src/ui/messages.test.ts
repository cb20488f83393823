import { test } from "node:test";
import assert from "node:assert/strict";
import * as catalog from "./messages.ts";
import type { UiText } from "./messages.ts";

const { MESSAGE_IDS } = catalog;

// Kratos's docs generator calls every builder with these (cmd/clidoc): a second ago / in a minute of this instant.
const aSecondAgo = new Date("2020-01-01T00:59:59Z");
const inAMinute = new Date("2020-01-01T01:01:00Z");
const base = new Date("2020-01-01T01:00:00Z");
const oneMinuteAfterExpiry = new Date("2020-01-01T01:00:59Z");

/** Arguments for builders that take some; everything else is called with none. */
const ARGS: Record<string, unknown[]> = {
  validationGeneric: ["{reason}"],
  requiredProperty: ["{property}"],
  minLength: [5, 3],
  patternMismatch: ["{pattern}"],
  passwordPolicyViolation: ["{reason}"],
  maxLength: [5, 6],
  minimum: [5, 3],
  exclusiveMinimum: [5, 5],
  maximum: [5, 6],
  exclusiveMaximum: [5, 5],
  multipleOf: [7, 3],
  maxItems: [3, 4],
  minItems: [3, 2],
  uniqueItems: [0, 2],
  wrongType: [["{allowed_types_list}"], "{actual_type}"],
  duplicateCredentialsWithHints: [["{available_credential_types_list}"], ["{available_oidc_providers_list}"], "{credential_identifier_hint}"],
  constValue: ["{expected}"],
  passwordTooShort: [6, 5],
  passwordTooLong: [72, 80],
  passwordBreached: [101],
  invalidEmail: ["{value}"],
  invalidPhone: ["{value}"],
  loginWith: ["{provider}", "{providerID}"],
  loginLink: ["{duplicateIdentifier}", "{provider}", "{newLoginUrl}", ["{available_credential_types_list}"], ["{available_oidc_providers_list}"]],
  loginWithAndLink: ["{provider}"],
  loginCodeMfaHint: ["{masked_address}"],
  loginAal2CodeAddress: ["{channel}", "{address}"],
  registrationWith: ["{provider}", "{providerID}"],
  settingsLinkOidc: ["{provider}"],
  settingsUnlinkOidc: ["{provider}"],
  settingsTotpSecret: ["{secret}"],
  settingsLookupSecret: ["{secret}"],
  settingsLookupSecretUsed: [aSecondAgo],
  settingsLookupSecretList: [["{secrets_list}"], []],
  settingsRemoveWebAuthn: ["{display_name}", aSecondAgo],
  settingsRemovePasskey: ["{display_name}", aSecondAgo],
  recoverySuccessful: [inAMinute, base],
  recoveryCodeSentMasked: ["{masked_address}"],
  loginFlowExpired: [aSecondAgo, oneMinuteAfterExpiry],
  registrationFlowExpired: [aSecondAgo, oneMinuteAfterExpiry],
  settingsFlowExpired: [aSecondAgo, oneMinuteAfterExpiry],
  recoveryFlowExpired: [aSecondAgo, oneMinuteAfterExpiry],
  verificationFlowExpired: [aSecondAgo, oneMinuteAfterExpiry],
  systemError: ["{reason}"],
  generatedLabel: ["{title}", "{name}"],
};
const PER_FLOW = new Set(["flowExpired", "noStrategyFound", "flowRetrySuccess", "codeInvalidOrUsed"]);
const FLOWS = ["login", "registration", "settings", "recovery", "verification"] as const;

function allMessages(): Map<string, UiText[]> {
  const out = new Map<string, UiText[]>();
  for (const [name, fn] of Object.entries(catalog)) {
    if (typeof fn !== "function") continue;
    const call = fn as (...a: unknown[]) => UiText;
    if (PER_FLOW.has(name)) {
      const flows = name === "noStrategyFound" || name === "flowExpired" ? FLOWS : FLOWS.filter((f) => f !== "settings");
      out.set(name, flows.map((f) => call(f, aSecondAgo, oneMinuteAfterExpiry)));
    } else {
      out.set(name, [call(...(ARGS[name] ?? []))]);
    }
  }
  return out;
}

test("every builder's id is listed in MESSAGE_IDS and every listed id has a builder", () => {
  const msgs = allMessages();
  assert.ok(msgs.size > 140, `only ${msgs.size} builders`);
  const produced = new Set<number>();
  for (const [name, list] of msgs) {
    for (const m of list) {
      assert.ok(MESSAGE_IDS[m.id], `${name} -> ${m.id} is not in MESSAGE_IDS`);
      assert.ok(["info", "error", "success"].includes(m.type), name);
      assert.equal(typeof m.text, "string");
      assert.ok(m.text.length > 0, name);
      assert.equal(m.type === "error", m.id >= 4000000, `${name}: errors are exactly the 4xxxxxx/5xxxxxx ids`);
      produced.add(m.id);
    }
  }
  const missing = Object.keys(MESSAGE_IDS).map(Number).filter((id) => !produced.has(id));
  assert.deepEqual(missing, []);
});

/** Entries of Kratos's generated message catalog (docs kratos/concepts/messages.json), i.e. the builders' output for the args above. */
const KRATOS: Array<[string, Omit<UiText, "context"> & { context?: Record<string, unknown> }]> = [
  ["loginButton", { id: 1010001, text: "Sign in", type: "info" }],
  ["loginWith", { id: 1010002, text: "Sign in with {provider}", type: "info", context: { provider: "{provider}", provider_id: "{providerID}" } }],
  ["loginAal2CodeAddress", { id: 1010023, text: "Send code to {address}", type: "info", context: { address: "{address}", channel: "{channel}" } }],
  ["registrationButton", { id: 1040001, text: "Sign up", type: "info" }],
  ["settingsSaved", { id: 1050001, text: "Your changes have been saved!", type: "success" }],
  ["settingsLookupSecretUsed", { id: 1050014, text: "Secret was used at 2020-01-01 00:59:59 +0000 UTC", type: "info", context: { used_at: "2020-01-01T00:59:59Z", used_at_unix: 1577840399 } }],
  ["settingsRemovePasskey", { id: 1050020, text: 'Remove passkey "{display_name}"', type: "info", context: { added_at: "2020-01-01T00:59:59Z", added_at_unix: 1577840399, display_name: "{display_name}" } }],
  [
    "recoverySuccessful",
    {
      id: 1060001,
      text: "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 1.00 minutes.",
      type: "success",
      context: { privilegedSessionExpiresAt: "2020-01-01T01:01:00Z", privileged_session_expires_at: "2020-01-01T01:01:00Z", privileged_session_expires_at_unix: 1577840460 },
    },
  ],
  ["recoveryEmailSent", { id: 1060002, text: "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.", type: "info" }],
  ["recoveryCodeSent", { id: 1060003, text: "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.", type: "info" }],
  ["passwordLabel", { id: 1070001, text: "Password", type: "info" }],
  ["generatedLabel", { id: 1070002, text: "{title}", type: "info", context: { name: "{name}", title: "{title}" } }],
  ["idLabel", { id: 1070004, text: "ID", type: "info" }],
  ["verifyCodeLabel", { id: 1070006, text: "Verify code", type: "info" }],
  ["verificationSuccessful", { id: 1080002, text: "You successfully verified your email address.", type: "success" }],
  ["verificationCodeSent", { id: 1080003, text: "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.", type: "info" }],
  ["validationGeneric", { id: 4000001, text: "{reason}", type: "error", context: { reason: "{reason}" } }],
  ["requiredProperty", { id: 4000002, text: "Property {property} is missing.", type: "error", context: { property: "{property}" } }],
  ["minLength", { id: 4000003, text: "length must be >= 5, but got 3", type: "error", context: { actual_length: 3, min_length: 5 } }],
  ["patternMismatch", { id: 4000004, text: 'does not match pattern "{pattern}"', type: "error", context: { pattern: "{pattern}" } }],
  ["maxLength", { id: 4000017, text: "length must be <= 5, but got 6", type: "error", context: { actual_length: 6, max_length: 5 } }],
  ["multipleOf", { id: 4000022, text: "3 not multipleOf 7", type: "error", context: { actual: 3, base: 7 } }],
  ["wrongType", { id: 4000026, text: "expected {allowed_types_list}, but got {actual_type}", type: "error", context: { actual_type: "{actual_type}", allowed_types: ["{allowed_types_list}"] } }],
  [
    "duplicateCredentialsWithHints",
    {
      id: 4000028,
      text: "You tried signing in with {credential_identifier_hint} which is already in use by another account. You can sign in using {available_credential_types_list}. You can sign in using one of the following social sign in providers: {available_oidc_providers_list}.",
      type: "error",
      context: { available_credential_types: ["{available_credential_types_list}"], available_oidc_providers: ["{available_oidc_providers_list}"], credential_identifier_hint: "{credential_identifier_hint}" },
    },
  ],
  ["passwordBreached", { id: 4000034, text: "The password has been found in data breaches and must no longer be used.", type: "error", context: { breaches: 101 } }],
  ["invalidEmail", { id: 4000040, text: "Enter a valid email address", type: "error", context: { value: "{value}" } }],
  ["invalidPhone", { id: 4000041, text: "Enter a valid phone number", type: "error", context: { value: "{value}" } }],
  ["loginFlowExpired", { id: 4010001, text: "The login flow expired 1.00 minutes ago, please try again.", type: "error", context: { expired_at: "2020-01-01T00:59:59Z", expired_at_unix: 1577840399 } }],
  ["registrationFlowExpired", { id: 4040001, text: "The registration flow expired 1.00 minutes ago, please try again.", type: "error", context: { expired_at: "2020-01-01T00:59:59Z", expired_at_unix: 1577840399 } }],
  ["recoveryFlowExpired", { id: 4060005, text: "The recovery flow expired 1.00 minutes ago, please try again.", type: "error", context: { expired_at: "2020-01-01T00:59:59Z", expired_at_unix: 1577840399 } }],
  ["loginCodeInvalidOrUsed", { id: 4010008, text: "The login code is invalid or has already been used. Please try again.", type: "error" }],
  ["recoveryCodeInvalidOrUsed", { id: 4060006, text: "The recovery code is invalid or has already been used. Please try again.", type: "error" }],
  ["verificationCodeInvalidOrUsed", { id: 4070006, text: "The verification code is invalid or has already been used. Please try again.", type: "error" }],
  ["systemError", { id: 5000001, text: "{reason}", type: "error", context: { reason: "{reason}" } }],
];

test("texts, types and contexts match Kratos's generated catalog", () => {
  const msgs = allMessages();
  for (const [name, expected] of KRATOS) {
    const got = msgs.get(name)?.[0];
    assert.ok(got, `no builder ${name}`);
    assert.deepEqual(got, { ...expected, context: expected.context ?? {} }, name);
  }
});

test("per-flow builders pick the flow's id", () => {
  const ids = (name: string) => allMessages().get(name)?.map((m) => m.id);
  assert.deepEqual(ids("flowExpired"), [4010001, 4040001, 4050001, 4060005, 4070005]);
  assert.deepEqual(ids("noStrategyFound"), [4010002, 4010003, 4010004, 4010005, 4010006]);
  assert.deepEqual(ids("flowRetrySuccess"), [4010007, 4040002, 4060001, 4070002]);
  assert.deepEqual(ids("codeInvalidOrUsed"), [4010008, 4040003, 4060006, 4070006]);
});

test("duplicate-credential hints read like Kratos's sentence", () => {
  assert.equal(
    catalog.duplicateCredentialsWithHints(["password", "webauthn", "oidc"], ["google"], "a@example.com").text,
    "You tried signing in with a@example.com which is already in use by another account. You can sign in using your password, your passkey or a security key, or social sign in. You can sign in using one of the following social sign in providers: Google.",
  );
  assert.equal(
    catalog.duplicateCredentialsWithHints([], [], "").text,
    "You tried signing in with an email, phone, or username which is already in use by another account.",
  );
});
