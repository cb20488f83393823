/**
 * Walks an identity schema's `properties.traits` and the `ory.sh/kratos` extension on each property, for the UI
 * (one input per leaf), for normalization and for extracting identifiers/addresses. Local `$ref`s (`#/...`) are
 * followed; arrays whose `items` carry the extension (a list of emails) are walked per element.
 */

export type IdentifierKind = "email" | "phone" | "username";
export type AddressVia = "email" | "sms";

/** The `ory.sh/kratos` extension of one property (identity_extension.schema.json). */
export interface KratosExtension {
  credentials?: {
    password?: { identifier?: boolean };
    webauthn?: { identifier?: boolean };
    passkey?: { display_name?: boolean };
    totp?: { account_name?: boolean };
    code?: { identifier?: boolean; via?: AddressVia };
  };
  verification?: { via?: AddressVia };
  recovery?: { via?: AddressVia };
  organizations?: { matcher?: string };
}

/** One property of the traits, as the UI and the extractors see it. */
export interface TraitField {
  /** Path below `traits`, e.g. ["name", "first"]. */
  path: string[];
  type?: string;
  format?: string;
  title?: string;
  pattern?: string;
  /** Required by its parent and every ancestor up to `traits`. */
  required: boolean;
  extension?: KratosExtension;
  /** How the value is normalized when it is an identifier or an address. */
  kind: IdentifierKind;
  /** True when the extension makes it a login identifier (password, webauthn or code). */
  identifier: boolean;
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Resolves a local `$ref` (JSON pointer into the same document); anything else is returned as is. */
function deref(node: unknown, root: Json, depth = 0): Json | undefined {
  if (!isObj(node)) return undefined;
  const ref = node.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#") || depth > 32) return node;
  let target: unknown = root;
  for (const raw of ref.slice(1).split("/").filter((s) => s !== "")) {
    const seg = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    target = isObj(target) ? target[seg] : undefined;
  }
  return deref(target, root, depth + 1);
}

export function kindOf(format: unknown, ext: KratosExtension | undefined): IdentifierKind {
  if (format === "email") return "email";
  if (format === "tel") return "phone";
  const via = ext?.credentials?.code?.via ?? ext?.verification?.via ?? ext?.recovery?.via;
  if (via === "email") return "email";
  if (via === "sms") return "phone";
  return "username";
}

function fieldOf(node: Json, path: string[], required: boolean): TraitField {
  const ext = isObj(node["ory.sh/kratos"]) ? (node["ory.sh/kratos"] as KratosExtension) : undefined;
  const c = ext?.credentials;
  return {
    path,
    type: typeof node.type === "string" ? node.type : undefined,
    format: typeof node.format === "string" ? node.format : undefined,
    title: typeof node.title === "string" ? node.title : undefined,
    pattern: typeof node.pattern === "string" ? node.pattern : undefined,
    required,
    extension: ext,
    kind: kindOf(node.format, ext),
    identifier: Boolean(c?.password?.identifier || c?.webauthn?.identifier || c?.code?.identifier),
  };
}

/** The `traits` sub-schema, dereferenced. */
export function traitsSchema(schema: Json): Json | undefined {
  const props = isObj(schema.properties) ? schema.properties : undefined;
  return deref(props?.traits, schema);
}

/** `listTraitFields` per schema document: schemas are loaded once and never change. */
const fieldLists = new WeakMap<Json, readonly TraitField[]>();

/**
 * Leaf properties of the traits (objects are recursed into, arrays skipped), in schema order. Walked once per schema
 * document: the list and its fields are frozen and shared by every caller.
 */
export function listTraitFields(schema: Json): readonly TraitField[] {
  let fields = fieldLists.get(schema);
  if (!fields) {
    fields = Object.freeze(walkTraitFields(schema).map((f) => Object.freeze({ ...f, path: Object.freeze(f.path) as string[] })));
    fieldLists.set(schema, fields);
  }
  return fields;
}

function walkTraitFields(schema: Json): TraitField[] {
  const out: TraitField[] = [];
  const walk = (node: Json | undefined, path: string[], required: boolean, depth: number): void => {
    if (!node || depth > 16) return;
    const props = isObj(node.properties) ? node.properties : undefined;
    if (node.type === "object" || props) {
      const req = Array.isArray(node.required) ? node.required : [];
      for (const [key, child] of Object.entries(props ?? {})) {
        walk(deref(child, schema), [...path, key], required && req.includes(key), depth + 1);
      }
      return;
    }
    if (node.type === "array" || path.length === 0) return;
    out.push(fieldOf(node, path, required));
  };
  walk(traitsSchema(schema), [], true, 0);
  return out;
}

/**
 * Calls `visit` for every string value in `traits` whose schema node carries the `ory.sh/kratos` extension, with the
 * field and a setter (used by normalization). Values of the wrong type are skipped: validation reports them.
 */
export function visitExtensionValues(
  schema: Json,
  traits: Json,
  visit: (field: TraitField, value: string, set: (v: string) => void) => void,
): void {
  const walk = (node: Json | undefined, value: unknown, path: string[], set: (v: unknown) => void, depth: number): void => {
    if (!node || depth > 16) return;
    if (isObj(node.properties) && isObj(value)) {
      for (const [key, child] of Object.entries(node.properties)) {
        if (!(key in value)) continue;
        walk(deref(child, schema), value[key], [...path, key], (v) => (value[key] = v), depth + 1);
      }
      return;
    }
    if (node.items !== undefined && Array.isArray(value)) {
      const item = deref(node.items, schema);
      value.forEach((v, i) => walk(item, v, [...path, String(i)], (nv) => (value[i] = nv), depth + 1));
      return;
    }
    if (typeof value === "string" && isObj(node["ory.sh/kratos"])) visit(fieldOf(node, path, false), value, set);
  };
  walk(traitsSchema(schema), traits, [], () => undefined, 0);
}
