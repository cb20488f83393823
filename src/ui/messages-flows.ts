/**
 * Flow messages: login (101xxxx, 401xxxx), registration (104xxxx, 404xxxx), settings (105xxxx, 405xxxx), recovery
 * (106xxxx, 406xxxx), verification (108xxxx, 407xxxx) and system errors (500xxxx), with Kratos's texts and contexts
 * (`text/message_*.go`, v26.2). Builders that print a duration take `now` explicitly: time comes from the Clock.
 */
import { goTime, goTimeString, minutesBetween, msg, timeContext } from "./text.ts";
import type { UiText } from "./text.ts";

export type FlowKind = "login" | "registration" | "settings" | "recovery" | "verification";

// ---- login: info 101xxxx --------------------------------------------------------------------------------------------
export const loginButton = (): UiText => msg(1010001, "info", "Sign in");
export const loginWith = (provider: string, provider_id: string = provider): UiText =>
  msg(1010002, "info", `Sign in with ${provider}`, { provider, provider_id });
export const loginReAuth = (): UiText => msg(1010003, "info", "Please confirm this action by verifying that it is you.");
export const loginMfa = (): UiText => msg(1010004, "info", "Please complete the second authentication challenge.");
export const loginVerify = (): UiText => msg(1010005, "info", "Verify");
export const loginTotpLabel = (): UiText => msg(1010006, "info", "Authentication code");
export const loginLookupLabel = (): UiText => msg(1010007, "info", "Backup recovery code");
export const loginWebAuthn = (): UiText => msg(1010008, "info", "Sign in with a hardware key");
export const loginTotp = (): UiText => msg(1010009, "info", "Use Authenticator");
export const loginLookup = (): UiText => msg(1010010, "info", "Use backup recovery code");
export const loginContinueWebAuthn = (): UiText => msg(1010011, "info", "Sign in with a hardware key");
export const loginWebAuthnPasswordless = (): UiText =>
  msg(1010012, "info", "Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.");
export const loginContinue = (): UiText => msg(1010013, "info", "Continue");
export const loginCodeSent = (): UiText =>
  msg(1010014, "info", "A code was sent to the address you provided. If you didn't receive it, please check the spelling of the address and try again.");
export const loginCodeButton = (): UiText => msg(1010015, "info", "Send sign in code");

/** 1010016: an OIDC sign-in hit an existing account; signing in links the two. Context keys in both spellings, as Kratos. */
export function loginLink(
  duplicateIdentifier: string,
  provider: string,
  newLoginUrl: string,
  available_credential_types: string[] = [],
  available_providers: string[] = [],
): UiText {
  return msg(
    1010016,
    "info",
    `You tried to sign in with "${duplicateIdentifier}", but that email is already used by another account. Sign in to your account with one of the options below to add your account "${duplicateIdentifier}" at "${provider}" as another way to sign in.`,
    {
      available_credential_types,
      available_providers,
      duplicateIdentifier,
      duplicate_identifier: duplicateIdentifier,
      newLoginUrl,
      new_login_url: newLoginUrl,
      provider,
    },
  );
}
export const loginAndLink = (): UiText => msg(1010017, "info", "Sign in and link");
export const loginWithAndLink = (provider: string): UiText => msg(1010018, "info", `Confirm with ${provider}`, { provider });
export const loginCodeMfa = (): UiText => msg(1010019, "info", "Request code to continue");
export const loginCodeMfaHint = (masked_address: string): UiText =>
  msg(1010020, "info", `We will send a code to ${masked_address}. To verify that this is your address please enter it here.`, { masked_address });
export const loginPasskey = (): UiText => msg(1010021, "info", "Sign in with passkey");
export const loginPassword = (): UiText => msg(1010022, "info", "Sign in with password");
export const loginAal2CodeAddress = (channel: string, address: string): UiText =>
  msg(1010023, "info", `Send code to ${address}`, { address, channel });

// ---- registration: info 104xxxx -------------------------------------------------------------------------------------
export const registrationButton = (): UiText => msg(1040001, "info", "Sign up");
export const registrationWith = (provider: string, provider_id: string = provider): UiText =>
  msg(1040002, "info", `Sign up with ${provider}`, { provider, provider_id });
export const registrationContinue = (): UiText => msg(1040003, "info", "Continue");
export const registrationWebAuthn = (): UiText => msg(1040004, "info", "Sign up with security key");
export const registrationCodeSent = (): UiText =>
  msg(1040005, "info", "A code has been sent to the address(es) you provided. If you have not received a message, check the spelling of the address and retry the registration.");
export const registrationCodeButton = (): UiText => msg(1040006, "info", "Send sign up code");
export const registrationPasskey = (): UiText => msg(1040007, "info", "Sign up with passkey");
export const registrationBack = (): UiText => msg(1040008, "info", "Back");
export const chooseCredentials = (): UiText => msg(1040009, "info", "Please choose a credential to authenticate yourself with.");

// ---- settings: 105xxxx ----------------------------------------------------------------------------------------------
export const settingsSaved = (): UiText => msg(1050001, "success", "Your changes have been saved!");
export const settingsLinkOidc = (provider: string): UiText => msg(1050002, "info", `Link ${provider}`, { provider });
export const settingsUnlinkOidc = (provider: string): UiText => msg(1050003, "info", `Unlink ${provider}`, { provider });
export const settingsUnlinkTotp = (): UiText => msg(1050004, "info", "Unlink TOTP Authenticator App");
export const settingsTotpQrCode = (): UiText => msg(1050005, "info", "Authenticator app QR code");
export const settingsTotpSecret = (secret: string): UiText => msg(1050006, "info", secret, { secret });
export const settingsRevealLookup = (): UiText => msg(1050007, "info", "Reveal backup recovery codes");
export const settingsRegenerateLookup = (): UiText => msg(1050008, "info", "Generate new backup recovery codes");
export const settingsLookupSecret = (secret: string): UiText => msg(1050009, "info", secret, { secret });
export const settingsLookupSecretsLabel = (): UiText =>
  msg(1050010, "info", "These are your back up recovery codes. Please keep them in a safe place!");
export const settingsLookupConfirm = (): UiText => msg(1050011, "info", "Confirm backup recovery codes");
export const settingsRegisterWebAuthn = (): UiText => msg(1050012, "info", "Add security key");
export const settingsWebAuthnDisplayName = (): UiText => msg(1050013, "info", "Name of the security key");
export const settingsLookupSecretUsed = (used_at: Date): UiText =>
  msg(1050014, "info", `Secret was used at ${goTimeString(used_at)}`, timeContext("used_at", used_at));
/** 1050015: the list of codes; `items` are the per-code messages (1050009 / 1050014), as Kratos nests them. */
export const settingsLookupSecretList = (secrets: string[], items: UiText[]): UiText =>
  msg(1050015, "info", secrets.join(", "), { secrets: items });
export const settingsDisableLookup = (): UiText => msg(1050016, "info", "Disable this method");
export const settingsTotpSecretLabel = (): UiText =>
  msg(1050017, "info", "This is your authenticator app secret. Use it if you can not scan the QR code.");
export const settingsRemoveWebAuthn = (display_name: string, added_at: Date): UiText =>
  msg(1050018, "info", `Remove security key "${display_name}"`, { display_name, ...timeContext("added_at", added_at) });
export const settingsRegisterPasskey = (): UiText => msg(1050019, "info", "Add passkey");
export const settingsRemovePasskey = (display_name: string, added_at: Date): UiText =>
  msg(1050020, "info", `Remove passkey "${display_name}"`, { display_name, ...timeContext("added_at", added_at) });

// ---- recovery: 106xxxx ----------------------------------------------------------------------------------------------
/** 1060001: recovered; the privileged session lets the user change credentials until `privileged_session_expires_at`. */
export const recoverySuccessful = (privileged_session_expires_at: Date, now: Date): UiText =>
  msg(
    1060001,
    "success",
    `You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next ${minutesBetween(now, privileged_session_expires_at)} minutes.`,
    {
      privilegedSessionExpiresAt: goTime(privileged_session_expires_at),
      ...timeContext("privileged_session_expires_at", privileged_session_expires_at),
    },
  );
export const recoveryEmailSent = (): UiText =>
  msg(1060002, "info", "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.");
export const recoveryCodeSent = (): UiText =>
  msg(1060003, "info", "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.");
export const recoveryCodeSentMasked = (masked_address: string): UiText =>
  msg(1060004, "info", `A recovery code has been sent to ${masked_address}. If you have not received it, check the spelling of the address and make sure to use the address you registered with.`, { masked_address });
export const recoveryAskForFullAddress = (): UiText =>
  msg(1060005, "info", "Recover access to your account by providing your recovery address in full.");
export const recoveryAskToChooseAddress = (): UiText => msg(1060006, "info", "How do you want to recover your account?");
export const recoveryBack = (): UiText => msg(1060007, "info", "Back");

// ---- verification: 108xxxx ------------------------------------------------------------------------------------------
export const verificationEmailSent = (): UiText =>
  msg(1080001, "info", "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.");
export const verificationSuccessful = (): UiText => msg(1080002, "success", "You successfully verified your email address.");
export const verificationCodeSent = (): UiText =>
  msg(1080003, "info", "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.");
export const verificationSmsCodeSent = (): UiText =>
  msg(1080004, "info", "A text message containing a verification code has been sent to the phone number you provided. If you have not received a text message, check the spelling of the number and make sure to use the number you registered with.");
export const verificationPhoneSuccessful = (): UiText => msg(1080005, "success", "You successfully verified your phone number.");

// ---- flow errors: 401xxxx .. 407xxxx --------------------------------------------------------------------------------
const EXPIRED_ID: Record<FlowKind, number> = {
  login: 4010001,
  registration: 4040001,
  settings: 4050001,
  recovery: 4060005,
  verification: 4070005,
};
/** The flow expired at `expired_at`; Kratos prints the minutes since then and sends `expired_at` + `expired_at_unix`. */
export const flowExpired = (flow: FlowKind, expired_at: Date, now: Date): UiText =>
  msg(EXPIRED_ID[flow], "error", `The ${flow} flow expired ${minutesBetween(expired_at, now)} minutes ago, please try again.`, timeContext("expired_at", expired_at));
export const loginFlowExpired = (expired_at: Date, now: Date): UiText => flowExpired("login", expired_at, now);
export const registrationFlowExpired = (expired_at: Date, now: Date): UiText => flowExpired("registration", expired_at, now);
export const settingsFlowExpired = (expired_at: Date, now: Date): UiText => flowExpired("settings", expired_at, now);
export const recoveryFlowExpired = (expired_at: Date, now: Date): UiText => flowExpired("recovery", expired_at, now);
export const verificationFlowExpired = (expired_at: Date, now: Date): UiText => flowExpired("verification", expired_at, now);

const NO_STRATEGY: Record<FlowKind, [number, string]> = {
  login: [4010002, "log you in with"],
  registration: [4010003, "sign you up with"],
  settings: [4010004, "update your settings"],
  recovery: [4010005, "recover your account with"],
  verification: [4010006, "verify your account with"],
};
/** 4010002..4010006: no strategy accepted the submitted `method`. */
export const noStrategyFound = (flow: FlowKind): UiText => {
  const [id, what] = NO_STRATEGY[flow];
  return msg(id, "error", `Could not find a strategy to ${what}. Did you fill out the form correctly?`);
};

const RETRY_SUCCESS: Record<Exclude<FlowKind, "settings">, number> = {
  login: 4010007,
  registration: 4040002,
  recovery: 4060001,
  verification: 4070002,
};
/** 4010007/4040002/4060001/4070002: the flow already succeeded and cannot be submitted again. */
export const flowRetrySuccess = (flow: Exclude<FlowKind, "settings">): UiText =>
  msg(RETRY_SUCCESS[flow], "error", "The request was already completed successfully and can not be retried.");

const CODE_INVALID: Record<Exclude<FlowKind, "settings">, number> = {
  login: 4010008,
  registration: 4040003,
  recovery: 4060006,
  verification: 4070006,
};
/** 4010008/4040003/4060006/4070006: a one-time code is wrong, expired or spent. */
export const codeInvalidOrUsed = (flow: Exclude<FlowKind, "settings">): UiText =>
  msg(CODE_INVALID[flow], "error", `The ${flow} code is invalid or has already been used. Please try again.`);
export const loginCodeInvalidOrUsed = (): UiText => codeInvalidOrUsed("login");
export const registrationCodeInvalidOrUsed = (): UiText => codeInvalidOrUsed("registration");
export const recoveryCodeInvalidOrUsed = (): UiText => codeInvalidOrUsed("recovery");
export const verificationCodeInvalidOrUsed = (): UiText => codeInvalidOrUsed("verification");

export const linkedCredentialsDoNotMatch = (): UiText => msg(4010009, "error", "Linked credentials do not match.");
export const addressUnknown = (): UiText =>
  msg(4010010, "error", "The address you entered does not match any known addresses in the current account.");
export const accountDisabled = (): UiText => msg(4010011, "error", "This account has been disabled. Please contact support for assistance.");
export const settingsOneAddressAtATime = (): UiText =>
  msg(4050002, "error", "You can only change one address at a time. Please update each address separately.");
export const recoveryStateFailure = (): UiText => msg(4060002, "error", "The recovery flow reached a failure state and must be retried.");
export const recoveryTokenInvalidOrUsed = (): UiText =>
  msg(4060004, "error", "The recovery token is invalid or has already been used. Please retry the flow.");
export const verificationTokenInvalidOrUsed = (): UiText =>
  msg(4070001, "error", "The verification token is invalid or has already been used. Please retry the flow.");
export const verificationStateFailure = (): UiText =>
  msg(4070003, "error", "The verification flow reached a failure state and must be retried.");

// ---- system: 500xxxx ------------------------------------------------------------------------------------------------
export const systemError = (reason: string): UiText => msg(5000001, "error", reason, { reason });
export const noAuthenticationMethods = (): UiText =>
  msg(5000002, "error", "No authentication methods are available. Please contact the system administrator.");
