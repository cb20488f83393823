/**
 * Knowledge of Kratos's own config schema (a verbatim copy of ory/kratos embedx/config.schema.json, v26.2, Apache-2.0,
 * in `kratos-config.schema.json`), used only to tell "a Kratos key we do not support" (warning, stripped) from "a key
 * nobody knows" (error). A key is known to Kratos when its schema declares it (properties, a matching
 * patternProperties, an additionalProperties schema, or array items), following local `$ref`s and
 * allOf/anyOf/oneOf/then/else branches; an implicit `additionalProperties: true` does not make a key known.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import type { ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { isObject } from "./env.ts";
import type { JsonObject } from "./env.ts";

type Node = JsonObject;

let kratosSchema: Node | undefined;
let kratosAjv: Ajv | undefined;

function schema(): Node {
  kratosSchema ??= JSON.parse(readFileSync(new URL("./kratos-config.schema.json", import.meta.url), "utf8")) as Node;
  return kratosSchema;
}

/** A pointer fragment plus the node it designates. */
interface Located {
  ptr: string;
  node: Node;
}

function escapeToken(t: string): string {
  return t.replace(/~/g, "~0").replace(/\//g, "~1");
}

function deref(loc: Located): Located | undefined {
  let cur = loc;
  for (let i = 0; i < 32 && typeof cur.node.$ref === "string"; i++) {
    const ref = cur.node.$ref;
    if (!ref.startsWith("#/")) return undefined; // external ref (ory://tracing-config): known, opaque
    let node: unknown = schema();
    for (const token of ref.slice(2).split("/")) {
      node = isObject(node) ? node[token.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    }
    if (!isObject(node)) return undefined;
    cur = { ptr: ref.slice(1), node };
  }
  return cur;
}

/** The schema nodes a child `key` (or array index) can be validated by, below `loc`. */
function children(loc: Located, key: string): Located[] {
  const resolved = deref(loc);
  if (!resolved) return [];
  const { ptr, node } = resolved;
  const out: Located[] = [];
  const sub = (p: string, n: unknown) => {
    if (isObject(n)) out.push({ ptr: `${ptr}/${p}`, node: n });
  };
  if (/^\d+$/.test(key) && isObject(node.items)) sub("items", node.items);
  if (isObject(node.properties) && Object.hasOwn(node.properties, key)) sub(`properties/${escapeToken(key)}`, node.properties[key]);
  if (isObject(node.patternProperties)) {
    for (const [pattern, n] of Object.entries(node.patternProperties)) {
      if (new RegExp(pattern, "u").test(key)) sub(`patternProperties/${escapeToken(pattern)}`, n);
    }
  }
  if (isObject(node.additionalProperties)) sub("additionalProperties", node.additionalProperties);
  for (const kw of ["allOf", "anyOf", "oneOf"]) {
    const list = node[kw];
    if (Array.isArray(list)) list.forEach((n, i) => isObject(n) && out.push(...children({ ptr: `${ptr}/${kw}/${i}`, node: n }, key)));
  }
  for (const kw of ["then", "else"]) if (isObject(node[kw])) out.push(...children({ ptr: `${ptr}/${kw}`, node: node[kw] as Node }, key));
  return out;
}

/**
 * The pointers (into Kratos's schema) of every subschema that declares `path`, or `[]` when Kratos does not know it.
 * A path through an external `$ref` yields `["#ext"]`: known, but not checked.
 */
export function kratosPointers(path: string[]): string[] {
  let level: Located[] = [{ ptr: "", node: schema() }];
  for (const key of path) {
    const next: Located[] = [];
    for (const loc of level) {
      if (typeof loc.node.$ref === "string" && !loc.node.$ref.startsWith("#/")) return ["#ext"];
      next.push(...children(loc, key));
    }
    if (next.length === 0) return [];
    level = next;
  }
  return level.map((l) => l.ptr);
}

function validatorFor(ptr: string): ValidateFunction | undefined {
  if (!kratosAjv) {
    const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
    kratosAjv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
    addFormats(kratosAjv);
    kratosAjv.addSchema({ $id: "ory://tracing-config", type: "object" });
    kratosAjv.addSchema(schema());
  }
  const id = String(schema().$id);
  const fragment = ptr.split("/").map(encodeURIComponent).join("/");
  return kratosAjv.getSchema(`${id}#${fragment}`);
}

/**
 * Checks a value stripped from our config against what Kratos accepts at that path. Returns `null` when some
 * declaring subschema accepts it, else `[relativePointer, message]` of the first complaint.
 */
export function checkAgainstKratos(pointers: string[], value: unknown): [string, string] | null {
  let first: [string, string] | null = null;
  for (const ptr of pointers) {
    if (ptr === "#ext") return null;
    const validate = validatorFor(ptr);
    if (!validate || validate(value)) return null;
    const err = validate.errors?.[0];
    if (err && !first) {
      const missing = err.keyword === "required" ? `/${String(err.params.missingProperty)}` : "";
      first = [err.instancePath + missing, err.keyword === "required" ? "is required" : (err.message ?? "is invalid")];
    }
  }
  return first;
}
