/**
 * Built-in templates: short, plain, no images, no tracking pixels, no link rewriting. Each has a subject, an HTML
 * body, a plaintext body and an SMS text, written in the Go-template subset of `go-template.ts` against our snake_case
 * data (`to`, `recovery_code`, `verification_url`...). Links come from the data, which `templates.ts` makes absolute
 * against `serve.public.base_url`.
 */
export interface TemplateSource {
  subject: string;
  html: string;
  plaintext: string;
  sms: string;
}

const IGNORE = "If this was not you, you can ignore this message.";

/** Paragraphs -> a minimal HTML document; `{{ }}` actions stay in place (the HTML renderer escapes their values). */
function html(paragraphs: string[]): string {
  const body = paragraphs.map((p) => `<p>${p}</p>`).join("\n");
  return `<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n${body}\n</body></html>\n`;
}

function make(subject: string, lines: string[], sms: string, htmlLines: string[] = lines): TemplateSource {
  return { subject, html: html(htmlLines), plaintext: `${lines.join("\n\n")}\n`, sms };
}

const link = (field: string, label: string): string => `<a href="{{ .${field} }}">${label}</a>`;

export const DEFAULT_TEMPLATES: Readonly<Record<string, TemplateSource>> = Object.freeze({
  recovery_code: make(
    "Recover access to your account",
    ["Hi,", "Use this code to recover access to your account: {{ .recovery_code }}", IGNORE],
    "Your recovery code is: {{ .recovery_code }}",
    ["Hi,", "Use this code to recover access to your account: <strong>{{ .recovery_code }}</strong>", IGNORE],
  ),
  recovery: make(
    "Recover access to your account",
    ["Hi,", "Open this link to recover access to your account:\n{{ .recovery_url }}", IGNORE],
    "Recover your account: {{ .recovery_url }}",
    ["Hi,", `Open this link to recover access to your account: ${link("recovery_url", "recover my account")}`, IGNORE],
  ),
  verification_code: make(
    "Please verify your email address",
    ["Hi,", "Use this code to verify your address: {{ .verification_code }}{{ if .verification_url }}\n\nOr open this link: {{ .verification_url }}{{ end }}", IGNORE],
    "Your verification code is: {{ .verification_code }}",
    [
      "Hi,",
      `Use this code to verify your address: <strong>{{ .verification_code }}</strong>{{ if .verification_url }}<br>Or open this link: ${link("verification_url", "verify my address")}{{ end }}`,
      IGNORE,
    ],
  ),
  verification: make(
    "Please verify your email address",
    ["Hi,", "Open this link to verify your address:\n{{ .verification_url }}", IGNORE],
    "Verify your address: {{ .verification_url }}",
    ["Hi,", `Open this link to verify your address: ${link("verification_url", "verify my address")}`, IGNORE],
  ),
  login_code: make(
    "Your sign-in code",
    ["Hi,", "Use this code to sign in: {{ .login_code }}", IGNORE],
    "Your sign-in code is: {{ .login_code }}",
    ["Hi,", "Use this code to sign in: <strong>{{ .login_code }}</strong>", IGNORE],
  ),
  registration_code: make(
    "Complete your registration",
    ["Hi,", "Use this code to complete your registration: {{ .registration_code }}", IGNORE],
    "Your registration code is: {{ .registration_code }}",
    ["Hi,", "Use this code to complete your registration: <strong>{{ .registration_code }}</strong>", IGNORE],
  ),
  registration_attempt: make(
    "Someone tried to sign up with your address",
    [
      "Hi,",
      "Someone tried to create an account with this address, but it already has an account.",
      "If this was you, sign in instead: {{ .login_url }}\nForgot your password? Recover your account: {{ .recovery_url }}",
      IGNORE,
    ],
    "Someone tried to sign up with this number, which already has an account. Sign in: {{ .login_url }}",
    [
      "Hi,",
      "Someone tried to create an account with this address, but it already has an account.",
      `If this was you, ${link("login_url", "sign in")} instead, or ${link("recovery_url", "recover your account")} if you forgot your password.`,
      IGNORE,
    ],
  ),
  recovery_unknown: make(
    "Account recovery attempt",
    [
      "Hi,",
      "Someone asked to recover an account for this address, but no account uses it.",
      "If this was you, you may have signed up with a different address, or you can create an account: {{ .registration_url }}",
      IGNORE,
    ],
    "Someone asked to recover an account for this number, but no account uses it.",
  ),
  verification_unknown: make(
    "Address verification attempt",
    ["Hi,", "Someone asked to verify this address, but no account uses it.", IGNORE],
    "Someone asked to verify this number, but no account uses it.",
  ),
  login_unknown: make(
    "Sign-in attempt",
    [
      "Hi,",
      "Someone tried to sign in with this address, but no account uses it.",
      "If this was you, you may have signed up with a different address, or you can create an account: {{ .registration_url }}",
      IGNORE,
    ],
    "Someone tried to sign in with this number, but no account uses it. Sign up: {{ .registration_url }}",
    [
      "Hi,",
      "Someone tried to sign in with this address, but no account uses it.",
      `If this was you, you may have signed up with a different address, or you can ${link("registration_url", "create an account")}.`,
      IGNORE,
    ],
  ),
  login_throttled: make(
    "Failed sign-in attempts on your account",
    [
      "Hi,",
      "There were several failed attempts to sign in to your account, so further attempts are slowed down for a while.",
      "If this was you, wait a moment and try again, or recover your account: {{ .recovery_url }}",
      "If this was not you, your account is safe as long as your password is strong and not used elsewhere.",
    ],
    "Several failed sign-in attempts on your account: sign-in is slowed down for a while.",
    [
      "Hi,",
      "There were several failed attempts to sign in to your account, so further attempts are slowed down for a while.",
      `If this was you, wait a moment and try again, or ${link("recovery_url", "recover your account")}.`,
      "If this was not you, your account is safe as long as your password is strong and not used elsewhere.",
    ],
  ),
  password_changed: make(
    "Your password was changed",
    ["Hi,", "The password of your account was just changed.", "If this was not you, recover your account now: {{ .recovery_url }}"],
    "The password of your account was changed. Not you? Recover it: {{ .recovery_url }}",
    ["Hi,", "The password of your account was just changed.", `If this was not you, ${link("recovery_url", "recover your account")} now.`],
  ),
  recovery_used: make(
    "Your account was recovered",
    ["Hi,", "Your account was just recovered and you are signed in.", "If this was not you, recover your account again now and change your password: {{ .recovery_url }}"],
    "Your account was recovered. Not you? Recover it again: {{ .recovery_url }}",
    ["Hi,", "Your account was just recovered and you are signed in.", `If this was not you, ${link("recovery_url", "recover your account")} again now and change your password.`],
  ),
});
