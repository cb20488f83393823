import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CourierTemplateSet } from "../../config/config.ts";
import { errors } from "../../util/app-error.ts";
import { compileTemplate, TemplateError } from "./go-template.ts";
import type { CompiledTemplate } from "./go-template.ts";
import { DEFAULT_TEMPLATES } from "./defaults.ts";

/**
 * Template types, their Kratos names and where their overrides live.
 *
 * A type is named by our name or any Kratos alias (see `TEMPLATE_SPECS`); the message row stores `wire`, the name
 * Kratos's API reports in `template_type` (`recovery_code` -> `recovery_code_valid`). Overrides, per part, first hit
 * wins: `courier.templates.<config_key>.<variant>.email.{subject,body.html,body.plaintext}` / `.sms.body.plaintext`
 * (`base64://` or `file://` URLs), then `<template_override_path>/<config_key>/<variant>/email.subject.gotmpl`,
 * `email.body.gotmpl` (HTML), `email.body.plaintext.gotmpl`, `sms.body.gotmpl`, then the built-in default.
 * Everything is read and compiled once, when the courier is created: a broken override stops the start-up.
 */
export interface TemplateSpec {
  /** Our canonical name (also the key of the built-in default). */
  name: string;
  /** The `template_type` stored and reported by the admin API (Kratos's name where Kratos has one). */
  wire: string;
  /** Directory / `courier.templates` key and variant of the overrides. */
  config_key: string;
  variant: "valid" | "invalid";
  /** Link fields filled from `serve.public.base_url` when the caller leaves them out. */
  default_links: Array<"login_url" | "recovery_url" | "registration_url">;
}

const spec = (name: string, wire: string, config_key: string, variant: "valid" | "invalid", default_links: TemplateSpec["default_links"] = []): TemplateSpec =>
  ({ name, wire, config_key, variant, default_links });

const NOTIFY: TemplateSpec["default_links"] = ["login_url", "recovery_url"];
/** Notices to an address without an account invite it to sign up (the threat model's out-of-band answer). */
const SIGN_UP: TemplateSpec["default_links"] = ["registration_url"];
const LINK_PATHS: Record<TemplateSpec["default_links"][number], string> = {
  login_url: "self-service/login/browser",
  recovery_url: "self-service/recovery/browser",
  registration_url: "self-service/registration/browser",
};

/** Every accepted name -> its spec. Kratos names are aliases of ours and keep their own override location. */
export const TEMPLATE_SPECS: Readonly<Record<string, TemplateSpec>> = Object.freeze({
  recovery_code: spec("recovery_code", "recovery_code_valid", "recovery_code", "valid"),
  recovery_code_valid: spec("recovery_code", "recovery_code_valid", "recovery_code", "valid"),
  recovery: spec("recovery", "recovery_valid", "recovery", "valid"),
  recovery_valid: spec("recovery", "recovery_valid", "recovery", "valid"),
  verification_code: spec("verification_code", "verification_code_valid", "verification_code", "valid"),
  verification_code_valid: spec("verification_code", "verification_code_valid", "verification_code", "valid"),
  verification: spec("verification", "verification_valid", "verification", "valid"),
  verification_valid: spec("verification", "verification_valid", "verification", "valid"),
  login_code: spec("login_code", "login_code_valid", "login_code", "valid"),
  login_code_valid: spec("login_code", "login_code_valid", "login_code", "valid"),
  registration_code: spec("registration_code", "registration_code_valid", "registration_code", "valid"),
  registration_code_valid: spec("registration_code", "registration_code_valid", "registration_code", "valid"),
  recovery_unknown: spec("recovery_unknown", "recovery_code_invalid", "recovery_code", "invalid", SIGN_UP),
  recovery_code_invalid: spec("recovery_unknown", "recovery_code_invalid", "recovery_code", "invalid", SIGN_UP),
  recovery_invalid: spec("recovery_unknown", "recovery_invalid", "recovery", "invalid", SIGN_UP),
  verification_unknown: spec("verification_unknown", "verification_code_invalid", "verification_code", "invalid"),
  verification_code_invalid: spec("verification_unknown", "verification_code_invalid", "verification_code", "invalid"),
  verification_invalid: spec("verification_unknown", "verification_invalid", "verification", "invalid"),
  login_unknown: spec("login_unknown", "login_code_invalid", "login_code", "invalid", SIGN_UP),
  login_code_invalid: spec("login_unknown", "login_code_invalid", "login_code", "invalid", SIGN_UP),
  registration_attempt: spec("registration_attempt", "registration_attempt", "registration_attempt", "valid", NOTIFY),
  login_throttled: spec("login_throttled", "login_throttled", "login_throttled", "valid", NOTIFY),
  password_changed: spec("password_changed", "password_changed", "password_changed", "valid", NOTIFY),
  recovery_used: spec("recovery_used", "recovery_used", "recovery_used", "valid", NOTIFY),
});

export interface RenderedMessage {
  subject: string;
  html: string;
  plaintext: string;
}

export interface TemplateOptions {
  override_path?: string;
  /** `courier.templates`, read loosely so keys beyond Kratos's six (e.g. `password_changed`) work once the schema allows them. */
  templates?: Readonly<Record<string, CourierTemplateSet | undefined>>;
  publicBaseUrl: string;
  /** Base for relative `file://` URLs and a relative override path (default: process.cwd()). */
  baseDir?: string;
}

type Part = "subject" | "html" | "plaintext" | "sms";
const FILES: Record<Part, string> = {
  subject: "email.subject.gotmpl",
  html: "email.body.gotmpl",
  plaintext: "email.body.plaintext.gotmpl",
  sms: "sms.body.gotmpl",
};

/** Reads a `base64://` or `file://` template URL (Kratos's inline template form). */
export function readTemplateUrl(url: string, baseDir: string): string {
  if (url.startsWith("base64://")) return Buffer.from(url.slice(9), "base64").toString("utf8");
  if (url.startsWith("file://")) {
    const rest = url.slice(7);
    // file:///abs/path is a proper URL; file://./rel and file://rel are Kratos's relative forms.
    const path = rest.startsWith("/") ? fileURLToPath(url) : resolve(baseDir, rest);
    return readFileSync(path, "utf8");
  }
  throw new TemplateError(`unsupported template URL "${url.slice(0, 32)}": use base64:// or file://`);
}

function inlineUrl(set: CourierTemplateSet | undefined, variant: "valid" | "invalid", part: Part): string | undefined {
  if (!set) return undefined;
  if (variant === "invalid") {
    const e = set.invalid?.email;
    return part === "subject" ? e?.subject : part === "html" ? e?.body?.html : part === "plaintext" ? e?.body?.plaintext : undefined;
  }
  const v = set.valid;
  if (part === "sms") return v?.sms?.body?.plaintext;
  return part === "subject" ? v?.email.subject : part === "html" ? v?.email.body?.html : v?.email.body?.plaintext;
}

function fileIfExists(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : undefined;
  } catch {
    return undefined;
  }
}

/** Absolute URL for a link: relative paths resolve against the public base URL (never a request's Host). */
function absolutize(value: unknown, base: string): unknown {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? new URL(value.slice(1), base).toString() : value;
}

/**
 * Compiles every template once. `resolve(type)` returns the spec of a name or alias, or throws 500 for a name no
 * template answers to (a programming error of the caller). `render` fills the data: `to` (the recipient) and
 * `base_url` are always present, `*_url` fields given as paths become absolute, and notification types get
 * `login_url` / `recovery_url` defaults pointing at the public self-service endpoints.
 */
export function createTemplates(opts: TemplateOptions): {
  resolve(type: string): TemplateSpec;
  render(type: string, data: Record<string, unknown>, recipient: string): RenderedMessage & { sms: string; spec: TemplateSpec; data: Record<string, unknown> };
} {
  const baseDir = opts.baseDir ?? process.cwd();
  const overrideRoot = opts.override_path ? (isAbsolute(opts.override_path) ? opts.override_path : resolve(baseDir, opts.override_path)) : undefined;
  const compiled = new Map<string, Record<Part, CompiledTemplate>>();
  const compileOne = (where: string, src: string): CompiledTemplate => {
    try {
      return compileTemplate(src);
    } catch (e) {
      throw new TemplateError(`courier template ${where}: ${(e as Error).message}`);
    }
  };
  for (const [alias, s] of Object.entries(TEMPLATE_SPECS)) {
    const parts = {} as Record<Part, CompiledTemplate>;
    for (const part of Object.keys(FILES) as Part[]) {
      const url = inlineUrl(opts.templates?.[s.config_key], s.variant, part);
      const fromDir = overrideRoot ? fileIfExists(join(overrideRoot, s.config_key, s.variant, FILES[part])) : undefined;
      const src = url !== undefined ? readTemplateUrl(url, baseDir) : fromDir ?? DEFAULT_TEMPLATES[s.name][part];
      parts[part] = compileOne(`${alias}/${part}`, src);
    }
    compiled.set(alias, parts);
  }
  const resolveSpec = (type: string): TemplateSpec => {
    const s = Object.hasOwn(TEMPLATE_SPECS, type) ? TEMPLATE_SPECS[type] : undefined;
    if (!s) throw errors.internal(`courier: unknown template type "${type}"`);
    return s;
  };
  return {
    resolve: resolveSpec,
    render(type, input, recipient) {
      const s = resolveSpec(type);
      const parts = compiled.get(type) as Record<Part, CompiledTemplate>;
      const base = opts.publicBaseUrl.endsWith("/") ? opts.publicBaseUrl : `${opts.publicBaseUrl}/`;
      const data: Record<string, unknown> = { to: recipient, base_url: base };
      for (const link of s.default_links) {
        data[link] = new URL(LINK_PATHS[link], base).toString();
      }
      for (const [k, v] of Object.entries(input)) data[k] = k.endsWith("_url") ? absolutize(v, base) : v;
      data.to = recipient;
      return {
        spec: s,
        data,
        subject: parts.subject.render(data, "none").trim(),
        html: parts.html.render(data, "html"),
        plaintext: parts.plaintext.render(data, "none"),
        sms: parts.sms.render(data, "none").trim(),
      };
    },
  };
}
