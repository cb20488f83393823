/**
 * Form posts carry every value as a string; Kratos's decoder converts them to the schema's types before validation
 * (`traits.age=42` -> 42, a checkbox `on`/`true` -> true). JSON bodies already carry types and pass through.
 */
import type { IdentitySchema } from "../../identity/schema/registry.ts";
import { listTraitFields } from "../../identity/schema/fields.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function coerce(value: string, type: string | undefined): unknown {
  if (type === "number" || type === "integer") {
    if (value.trim() === "") return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }
  if (type === "boolean") {
    if (value === "true" || value === "on" || value === "1") return true;
    if (value === "false" || value === "off" || value === "0" || value === "") return false;
  }
  return value;
}

/** A deep copy of `traits` with string leaves converted to their schema type; empty strings of optional fields dropped. */
export function coerceFormTraits(schema: IdentitySchema, traits: unknown): unknown {
  if (!isObj(traits)) return traits;
  const copy = structuredClone(traits);
  for (const f of listTraitFields(schema.schema)) {
    let parent: Obj | undefined = copy;
    for (const seg of f.path.slice(0, -1)) parent = isObj(parent?.[seg]) ? (parent[seg] as Obj) : undefined;
    const key = f.path[f.path.length - 1];
    if (!parent || typeof parent[key] !== "string") continue;
    const raw = parent[key] as string;
    // An HTML form sends "" for an untouched optional field: absent, not an invalid value (as Kratos).
    if (raw === "" && !f.required) {
      delete parent[key];
      continue;
    }
    const v = coerce(raw, f.type);
    if (v === undefined) delete parent[key];
    else parent[key] = v;
  }
  return copy;
}
