/**
 * Reading `email` and `code` from a submitted body. Anything malformed becomes a node message (never a 500): a
 * missing field 4000002, a non-string 4000026, an address that is not an email 4000040. A code is any string of at
 * most `MAX_SECRET_LENGTH` decimal digits (a JSON number is accepted as its digits); anything else is simply wrong.
 */
import { FlowValidationError } from "../../flow/errors.ts";
import { invalidEmail, requiredProperty, wrongType, type UiText } from "../../ui/messages.ts";
import { MAX_ADDRESS_LENGTH, normalizeEmail } from "./addresses.ts";
import { MAX_SECRET_LENGTH } from "./code-store.ts";

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const typeName = (v: unknown): string => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);

/** True when the field was sent with a non-empty value. */
export const present = (v: unknown): boolean => v !== undefined && v !== null && v !== "";

/** The normalized email of `body[name]`, or throws a validation error on that node. */
export function readEmail(body: Record<string, unknown>, name = "email"): string {
  const v = body[name];
  let msg: UiText | undefined;
  if (!present(v)) msg = requiredProperty(name);
  else if (typeof v !== "string") msg = wrongType(["string"], typeName(v));
  else if (v.length > MAX_ADDRESS_LENGTH || !EMAIL_RE.test(v.trim())) msg = invalidEmail(v.length > 320 ? `${v.slice(0, 320)}...` : v);
  if (msg) throw new FlowValidationError({ nodes: { [name]: [msg] } });
  return normalizeEmail(v as string);
}

/**
 * The submitted code: `{ok: true, code}` for a well-formed one, `{ok: false}` for a wrong shape (counted as a wrong
 * code). Throws 4000002 when absent.
 */
export function readCode(body: Record<string, unknown>): { ok: true; code: string } | { ok: false } {
  const v = body.code;
  if (!present(v)) throw new FlowValidationError({ nodes: { code: [requiredProperty("code")] } });
  const s = typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
  if (typeof s !== "string" || s.length > MAX_SECRET_LENGTH || !/^[0-9]+$/.test(s.trim())) return { ok: false };
  return { ok: true, code: s.trim() };
}
