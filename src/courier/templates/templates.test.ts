import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { AppError } from "../../util/app-error.ts";
import { TemplateError } from "./go-template.ts";
import { createTemplates, TEMPLATE_SPECS } from "./templates.ts";

const BASE = "https://id.example.test/";
const dir = mkdtempSync(join(tmpdir(), "tessera-tpl-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string): string => `base64://${Buffer.from(s).toString("base64")}`;

test("every type has a non-empty default subject, html, plaintext and sms, rendered without leftovers", () => {
  const t = createTemplates({ publicBaseUrl: BASE });
  const data = { recovery_code: "111111", verification_code: "222222", login_code: "333333", registration_code: "444444", recovery_url: "/r", verification_url: "/v" };
  for (const name of Object.keys(TEMPLATE_SPECS)) {
    const r = t.render(name, data, "user@example.com");
    for (const part of [r.subject, r.html, r.plaintext, r.sms]) {
      assert.ok(part.length > 0, name);
      assert.ok(!part.includes("{{"), name);
    }
    assert.ok(!/<img|https?:\/\/(?!id\.example\.test)/.test(r.html), `${name}: no tracking, no foreign links`);
  }
});

test("Kratos names are aliases; the stored template_type is Kratos's wire name", () => {
  const t = createTemplates({ publicBaseUrl: BASE });
  assert.equal(t.resolve("recovery_code").wire, "recovery_code_valid");
  assert.equal(t.resolve("recovery_unknown").wire, "recovery_code_invalid");
  assert.equal(t.resolve("recovery_invalid").name, "recovery_unknown");
  assert.equal(t.resolve("login_code_invalid").name, "login_unknown");
  assert.throws(() => t.resolve("nope"), AppError);
  assert.throws(() => t.resolve("__proto__"), AppError);
});

test("links: paths resolve against serve.public.base_url; notifications get default login and recovery links", () => {
  const t = createTemplates({ publicBaseUrl: BASE });
  const r = t.render("recovery", { recovery_url: "/self-service/recovery?flow=1&token=x" }, "u@example.com");
  assert.ok(r.plaintext.includes("https://id.example.test/self-service/recovery?flow=1&token=x"));
  assert.ok(r.html.includes('href="https://id.example.test/self-service/recovery?flow=1&amp;token=x"'));
  const n = t.render("password_changed", {}, "u@example.com");
  assert.ok(n.plaintext.includes("https://id.example.test/self-service/recovery/browser"));
  assert.equal(n.data.to, "u@example.com");
});

test("notices to an address without an account invite it to sign up at this service", () => {
  const t = createTemplates({ publicBaseUrl: BASE });
  for (const type of ["login_unknown", "recovery_unknown"]) {
    const r = t.render(type, {}, "nobody@example.com");
    assert.ok(r.plaintext.includes("https://id.example.test/self-service/registration/browser"), type);
  }
  assert.ok(t.render("login_unknown", {}, "x@example.com").html.includes('href="https://id.example.test/self-service/registration/browser"'));
});

test("HTML bodies escape data; plaintext keeps it as is", () => {
  const t = createTemplates({ publicBaseUrl: BASE });
  const r = t.render("login_code", { login_code: "<b>1</b>" }, "u@example.com");
  assert.ok(r.html.includes("&lt;b&gt;1&lt;/b&gt;"));
  assert.ok(r.plaintext.includes("<b>1</b>"));
});

test("overrides from template_override_path (Kratos layout) and inline base64:// / file:// URLs", () => {
  const root = join(dir, "templates");
  mkdirSync(join(root, "recovery_code", "valid"), { recursive: true });
  mkdirSync(join(root, "password_changed", "valid"), { recursive: true });
  mkdirSync(join(root, "recovery_code", "invalid"), { recursive: true });
  writeFileSync(join(root, "recovery_code", "valid", "email.subject.gotmpl"), "  Dir subject for {{ .To }}\n");
  writeFileSync(join(root, "recovery_code", "valid", "email.body.gotmpl"), "<p>Dir code {{ .RecoveryCode }}</p>");
  writeFileSync(join(root, "password_changed", "valid", "email.body.plaintext.gotmpl"), "Changed for {{ .to }}");
  writeFileSync(join(root, "recovery_code", "invalid", "email.body.plaintext.gotmpl"), "Nobody here: {{ .To }}");
  const plainFile = join(dir, "plain.gotmpl");
  writeFileSync(plainFile, "File plaintext {{ .recovery_code }}");
  const t = createTemplates({
    publicBaseUrl: BASE,
    override_path: root,
    templates: {
      recovery_code: { valid: { email: { body: { plaintext: `file://${plainFile}` } }, sms: { body: { plaintext: b64("SMS {{ .RecoveryCode }}") } } } },
      verification_code: { valid: { email: { subject: b64("Inline {{ .verification_code }}") } } },
    },
  });
  const r = t.render("recovery_code", { recovery_code: "987654" }, "a@example.com");
  assert.equal(r.subject, "Dir subject for a@example.com");
  assert.equal(r.html, "<p>Dir code 987654</p>");
  assert.equal(r.plaintext, "File plaintext 987654");
  assert.equal(r.sms, "SMS 987654");
  assert.equal(t.render("verification_code", { verification_code: "55" }, "a@example.com").subject, "Inline 55");
  assert.equal(t.render("password_changed", {}, "p@example.com").plaintext, "Changed for p@example.com");
  // recovery_unknown is Kratos's recovery_code_invalid: its override lives in recovery_code/invalid.
  assert.equal(t.render("recovery_unknown", {}, "n@example.com").plaintext, "Nobody here: n@example.com");
  // Parts without an override keep the default.
  assert.equal(t.render("login_code", { login_code: "1" }, "a@example.com").subject, "Your sign-in code");
});

test("a broken override stops creation with the template named", () => {
  assert.throws(
    () => createTemplates({ publicBaseUrl: BASE, templates: { login_code: { valid: { email: { subject: b64("{{ range .x }}{{ end }}") } } } } }),
    (e: unknown) => e instanceof TemplateError && /login_code/.test(e.message),
  );
  assert.throws(() => createTemplates({ publicBaseUrl: BASE, templates: { login_code: { valid: { email: { subject: "https://example.com/t" } } } } }), TemplateError);
});
