/**
 * 107xxxx: node labels (Kratos `text/message_node.go`, v26.2). Elements renders 1070002 as `{title}` from the context,
 * so the generated label must carry `{title, name}`.
 */
import { msg } from "./text.ts";
import type { UiText } from "./text.ts";

export const passwordLabel = (): UiText => msg(1070001, "info", "Password");
/** 1070002: label generated from a JSON Schema `title`; `name` is the node name ("traits.email"). */
export const generatedLabel = (title: string, name: string): UiText => msg(1070002, "info", title, { title, name });
export const saveLabel = (): UiText => msg(1070003, "info", "Save");
export const idLabel = (): UiText => msg(1070004, "info", "ID");
export const submitLabel = (): UiText => msg(1070005, "info", "Submit");
export const verifyCodeLabel = (): UiText => msg(1070006, "info", "Verify code");
export const emailLabel = (): UiText => msg(1070007, "info", "Email");
export const resendCodeLabel = (): UiText => msg(1070008, "info", "Resend code");
export const continueLabel = (): UiText => msg(1070009, "info", "Continue");
export const recoveryCodeLabel = (): UiText => msg(1070010, "info", "Recovery code");
export const verificationCodeLabel = (): UiText => msg(1070011, "info", "Verification code");
export const registrationCodeLabel = (): UiText => msg(1070012, "info", "Registration code");
export const loginCodeLabel = (): UiText => msg(1070013, "info", "Login code");
export const loginAndLinkCredentialLabel = (): UiText => msg(1070014, "info", "Login and link credential");
export const captchaLabel = (): UiText => msg(1070015, "info", "Please complete the captcha challenge to continue.");
export const recoveryAddressLabel = (): UiText => msg(1070016, "info", "Recovery address");
export const phoneNumberLabel = (): UiText => msg(1070017, "info", "Phone number");
export const emailOrPhoneLabel = (): UiText => msg(1070018, "info", "Email or phone number");
