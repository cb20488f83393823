/**
 * Kratos UI nodes (`uiNode` and its attribute variants in spec/api.json) and the builders every strategy uses.
 * Wire shape matters: `messages` is always an array, `meta` always an object, `disabled` always present on inputs,
 * optional attributes are omitted rather than null.
 */
import type { IdentitySchema } from "../identity/schema/registry.ts";
import { listTraitFields } from "../identity/schema/fields.ts";
import { generatedLabel } from "./messages.ts";
import type { UiText } from "./messages.ts";

export type UiNodeGroup =
  | "default"
  | "password"
  | "oidc"
  | "profile"
  | "link"
  | "code"
  | "totp"
  | "lookup_secret"
  | "webauthn"
  | "passkey"
  | "identifier_first"
  | "captcha"
  | "saml";

export type UiNodeType = "text" | "input" | "img" | "a" | "script" | "div";

export type UiNodeInputType =
  | "text"
  | "password"
  | "number"
  | "checkbox"
  | "hidden"
  | "email"
  | "tel"
  | "submit"
  | "button"
  | "datetime-local"
  | "date"
  | "url";

export type UiNodeAutocomplete =
  | "email"
  | "tel"
  | "url"
  | "current-password"
  | "new-password"
  | "one-time-code"
  | "username"
  | "username webauthn";

export type WebAuthnTrigger =
  | "oryWebAuthnRegistration"
  | "oryWebAuthnLogin"
  | "oryPasskeyLogin"
  | "oryPasskeyLoginAutocompleteInit"
  | "oryPasskeyRegistration"
  | "oryPasskeySettingsRegistration";

export interface UiNodeInputAttributes {
  node_type: "input";
  name: string;
  type: UiNodeInputType;
  value?: unknown;
  required?: boolean;
  disabled: boolean;
  autocomplete?: UiNodeAutocomplete;
  label?: UiText;
  pattern?: string;
  maxlength?: number;
  onclick?: string;
  onclickTrigger?: WebAuthnTrigger;
  onload?: string;
  onloadTrigger?: WebAuthnTrigger;
  options?: Array<{ value: unknown }>;
}

export interface UiNodeTextAttributes {
  node_type: "text";
  id: string;
  text: UiText;
}

export interface UiNodeAnchorAttributes {
  node_type: "a";
  id: string;
  href: string;
  title: UiText;
}

export interface UiNodeImageAttributes {
  node_type: "img";
  id: string;
  src: string;
  width: number;
  height: number;
}

export interface UiNodeScriptAttributes {
  node_type: "script";
  id: string;
  src: string;
  async: boolean;
  referrerpolicy: string;
  crossorigin: string;
  integrity: string;
  type: string;
  nonce: string;
}

export interface UiNodeDivisionAttributes {
  node_type: "div";
  id: string;
  class?: string;
  data?: Record<string, string>;
}

export type UiNodeAttributes =
  | UiNodeInputAttributes
  | UiNodeTextAttributes
  | UiNodeAnchorAttributes
  | UiNodeImageAttributes
  | UiNodeScriptAttributes
  | UiNodeDivisionAttributes;

export interface UiNodeMeta {
  label?: UiText;
}

export interface UiNode {
  type: UiNodeType;
  group: UiNodeGroup;
  attributes: UiNodeAttributes;
  messages: UiText[];
  meta: UiNodeMeta;
}

/** A Kratos form: posted to `action` with `method`; `messages` are form-wide (absent when empty, as Kratos). */
export interface UiContainer {
  action: string;
  method: string;
  nodes: UiNode[];
  messages?: UiText[];
}

export interface InputNodeOptions {
  group: UiNodeGroup;
  name: string;
  type: UiNodeInputType;
  value?: unknown;
  required?: boolean;
  disabled?: boolean;
  autocomplete?: UiNodeAutocomplete;
  /** Goes to `meta.label` (Kratos puts labels in meta; `attributes.label` is only used for some buttons). */
  label?: UiText;
  pattern?: string;
  maxlength?: number;
  onclick?: string;
  onclickTrigger?: WebAuthnTrigger;
  onloadTrigger?: WebAuthnTrigger;
}

/** An `<input>` node. Optional attributes are set only when given, so the JSON matches Kratos's omitempty fields. */
export function inputNode(o: InputNodeOptions): UiNode {
  const attributes: UiNodeInputAttributes = { name: o.name, type: o.type, disabled: o.disabled ?? false, node_type: "input" };
  if (o.value !== undefined) attributes.value = o.value;
  if (o.required) attributes.required = true;
  if (o.autocomplete !== undefined) attributes.autocomplete = o.autocomplete;
  if (o.pattern !== undefined) attributes.pattern = o.pattern;
  if (o.maxlength !== undefined) attributes.maxlength = o.maxlength;
  if (o.onclick !== undefined) attributes.onclick = o.onclick;
  if (o.onclickTrigger !== undefined) attributes.onclickTrigger = o.onclickTrigger;
  if (o.onloadTrigger !== undefined) attributes.onloadTrigger = o.onloadTrigger;
  return { type: "input", group: o.group, attributes, messages: [], meta: o.label ? { label: o.label } : {} };
}

/** The hidden CSRF field every browser flow carries (Kratos `node.NewCSRFNode`). */
export function csrfNode(token: string): UiNode {
  return inputNode({ group: "default", name: "csrf_token", type: "hidden", value: token, required: true });
}

/** The submit button that selects a strategy: `name="method"`, `value=<method>`. */
export function submitNode(group: UiNodeGroup, method: string, label: UiText): UiNode {
  return inputNode({ group, name: "method", type: "submit", value: method, label });
}

/** A text node (e.g. TOTP secret, lookup codes). */
export function textNode(group: UiNodeGroup, id: string, text: UiText): UiNode {
  return { type: "text", group, attributes: { node_type: "text", id, text }, messages: [], meta: {} };
}

/** An image node (e.g. the TOTP QR code as a data URL). */
export function imageNode(group: UiNodeGroup, id: string, src: string, width: number, height: number, label?: UiText): UiNode {
  return { type: "img", group, attributes: { node_type: "img", id, src, width, height }, messages: [], meta: label ? { label } : {} };
}

/** An anchor node. */
export function anchorNode(group: UiNodeGroup, id: string, href: string, title: UiText): UiNode {
  return { type: "a", group, attributes: { node_type: "a", id, href, title }, messages: [], meta: {} };
}

/** A script node (WebAuthn's `webauthn.js`). Kratos sends every attribute, empty strings included. */
export function scriptNode(
  group: UiNodeGroup,
  o: { id: string; src: string; integrity?: string; nonce?: string; async?: boolean; crossorigin?: string; referrerpolicy?: string },
): UiNode {
  const attributes: UiNodeScriptAttributes = {
    node_type: "script",
    id: o.id,
    src: o.src,
    async: o.async ?? true,
    referrerpolicy: o.referrerpolicy ?? "no-referrer",
    crossorigin: o.crossorigin ?? "anonymous",
    integrity: o.integrity ?? "",
    type: "text/javascript",
    nonce: o.nonce ?? "",
  };
  return { type: "script", group, attributes, messages: [], meta: {} };
}

function inputTypeFor(type: string | undefined, format: string | undefined): UiNodeInputType {
  switch (format) {
    case "email":
      return "email";
    case "tel":
      return "tel";
    case "date":
      return "date";
    case "date-time":
      return "datetime-local";
    case "uri":
      return "url";
  }
  if (type === "number" || type === "integer") return "number";
  if (type === "boolean") return "checkbox";
  return "text";
}

/**
 * One input per leaf trait of the schema, in schema order, named with dots (`traits.name.first`). Type follows the
 * format/type, `required` the schema's `required` (a nested field is required only if its parents are), `autocomplete`
 * the identifier extension (email / tel / username), the label is Kratos's generated label (1070002, `{title, name}`)
 * when the property has a `title`. `values` are the traits (not prefixed) to prefill, e.g. after a failed submit.
 */
export function traitsNodes(
  schema: IdentitySchema,
  group: "default" | "password" | "profile" | "code",
  values?: Record<string, unknown>,
): UiNode[] {
  return listTraitFields(schema.schema).map((f) => {
    const name = ["traits", ...f.path].join(".");
    let value: unknown = values;
    for (const seg of f.path) value = value && typeof value === "object" ? (value as Record<string, unknown>)[seg] : undefined;
    let autocomplete: UiNodeAutocomplete | undefined;
    if (f.identifier) autocomplete = f.kind === "email" ? "email" : f.kind === "phone" ? "tel" : "username";
    return inputNode({
      group,
      name,
      type: inputTypeFor(f.type, f.format),
      value: value === undefined || value === null || typeof value === "object" ? undefined : value,
      required: f.required,
      autocomplete,
      pattern: f.pattern,
      label: f.title ? generatedLabel(f.title, name) : undefined,
    });
  });
}
