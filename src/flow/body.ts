/**
 * Submitted flow bodies: form-urlencoded or JSON, turned into one nested object. Form keys and JSON keys with dots
 * (`traits.name.first`) become nested objects, as Kratos's decoder does (`HTTPDecoderJSONFollowsFormFormat`).
 * Repeated form keys keep the first value. Keys that could pollute prototypes are dropped.
 */
import type { FastifyRequest } from "fastify";

export type Body = Record<string, unknown>;

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const isObj = (v: unknown): v is Body => typeof v === "object" && v !== null && !Array.isArray(v);

function setPath(target: Body, path: string[], value: unknown): void {
  let cur = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Body;
  }
  cur[path[path.length - 1]] = value;
}

/** Expands dotted keys of a flat object into nested objects (non-dotted keys are copied as they are). */
export function expandDotted(input: Body): Body {
  const out: Body = {};
  for (const [key, raw] of Object.entries(input)) {
    const path = key.split(".");
    if (path.some((p) => p === "" || FORBIDDEN_KEYS.has(p))) continue;
    const value = Array.isArray(raw) && raw.every((v) => typeof v === "string") ? raw[0] : raw;
    if (path.length > 1 && isObj(out[path[0]]) && isObj(value)) continue;
    if (path.length === 1 && isObj(value) && isObj(out[key])) {
      Object.assign(out[key] as Body, value);
      continue;
    }
    setPath(out, path, value);
  }
  return out;
}

/** True when the request body was sent as JSON (the client wants JSON answers). */
export function isJsonBody(req: FastifyRequest): boolean {
  return /^application\/(?:[\w.+-]*\+)?json\b/i.test(req.headers["content-type"] ?? "");
}

/** The body as a nested object; {} when there is none. */
export function readBody(req: FastifyRequest): Body {
  const b: unknown = req.body;
  if (!isObj(b)) return {};
  return expandDotted(b);
}

/** A string field, or undefined when absent or not a string. */
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
