/**
 * Turns ajv errors into Kratos validation messages, as Kratos's `ui/container.translateValidationError` does for
 * its JSON Schema library: keyword -> message id, node name from the instance pointer (`/traits/email` ->
 * `traits.email`); `required` points at the missing property itself with its last segment as `{property}`.
 */
import type { ErrorObject } from "ajv";
import * as m from "../../ui/messages.ts";
import type { UiText } from "../../ui/messages.ts";

/** One failed check: where (JSON pointer and UI node name) and what (a Kratos message). */
export interface TraitsValidationError {
  /** JSON pointer into the identity, e.g. "#/traits/email". */
  pointer: string;
  /** UI node name, e.g. "traits.email"; "" for a form-wide error. */
  name: string;
  message: UiText;
}

const unescape = (seg: string): string => seg.replace(/~1/g, "/").replace(/~0/g, "~");
const segments = (instancePath: string): string[] => instancePath.split("/").slice(1).map(unescape);
const escape = (seg: string): string => seg.replace(/~/g, "~0").replace(/\//g, "~1");

function jsonType(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  return "object";
}

/** Code points, as Go's utf8.RuneCountInString and JSON Schema count string length. */
const runeLength = (v: unknown): number => (typeof v === "string" ? [...v].length : 0);
const num = (v: unknown): number => (typeof v === "number" ? v : Number(v));

function messageFor(e: ErrorObject): UiText | undefined {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "minLength":
      return m.minLength(num(p.limit), runeLength(e.data));
    case "maxLength":
      return m.maxLength(num(p.limit), runeLength(e.data));
    case "pattern":
      return m.patternMismatch(String(p.pattern));
    case "format": {
      const value = typeof e.data === "string" ? e.data : JSON.stringify(e.data);
      if (p.format === "email") return m.invalidEmail(value);
      if (p.format === "tel") return m.invalidPhone(value);
      return m.validationGeneric(`${JSON.stringify(value)} is not valid ${JSON.stringify(String(p.format))}`);
    }
    case "type":
      return m.wrongType(String(p.type).split(","), jsonType(e.data));
    case "minimum":
      return m.minimum(num(p.limit), num(e.data));
    case "exclusiveMinimum":
      return m.exclusiveMinimum(num(p.limit), num(e.data));
    case "maximum":
      return m.maximum(num(p.limit), num(e.data));
    case "exclusiveMaximum":
      return m.exclusiveMaximum(num(p.limit), num(e.data));
    case "multipleOf":
      return m.multipleOf(num(p.multipleOf), num(e.data));
    case "maxItems":
      return m.maxItems(num(p.limit), Array.isArray(e.data) ? e.data.length : 0);
    case "minItems":
      return m.minItems(num(p.limit), Array.isArray(e.data) ? e.data.length : 0);
    case "uniqueItems":
      return m.uniqueItems(Math.min(num(p.i), num(p.j)), Math.max(num(p.i), num(p.j)));
    case "const":
      return m.constValue(JSON.stringify(p.allowedValue));
    case "enum":
      return m.validationGeneric(`value must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`);
    case "additionalProperties":
      return m.validationGeneric(`additionalProperties ${JSON.stringify(String(p.additionalProperty))} not allowed`);
    case "if":
      // ajv also reports the failing `then`/`else` keywords themselves; the wrapper adds nothing for the user.
      return undefined;
    default:
      return m.validationGeneric(e.message ?? "validation failed");
  }
}

/** Maps ajv's errors (compiled with `allErrors` and `verbose`) to Kratos messages, de-duplicated, in ajv's order. */
export function toTraitsValidationErrors(errs: ErrorObject[] | null | undefined): TraitsValidationError[] {
  const out: TraitsValidationError[] = [];
  const seen = new Set<string>();
  for (const e of errs ?? []) {
    let segs = segments(e.instancePath);
    let message: UiText | undefined;
    if (e.keyword === "required") {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      segs = [...segs, missing];
      message = m.requiredProperty(missing);
    } else {
      message = messageFor(e);
    }
    if (!message) continue;
    const pointer = "#" + segs.map((s) => "/" + escape(s)).join("");
    const key = `${pointer}|${message.id}|${message.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, name: segs.join("."), message });
  }
  return out;
}
