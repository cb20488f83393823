/**
 * The password strategy's UI nodes, as Kratos v26 builds them (`selfservice/strategy/password/{login,registration}.go`):
 * login: identifier (default group, label from the schema or 1070004 "ID"), password (current-password, 1070001),
 * submit method=password (1010022); registration: the traits inputs (default group), password (new-password),
 * submit method=password (1040001 "Sign up").
 */
import type { IdentitySchema } from "../../identity/schema/registry.ts";
import { listTraitFields } from "../../identity/schema/fields.ts";
import { inputNode, submitNode, traitsNodes, type UiNode } from "../../ui/node.ts";
import { generatedLabel, idLabel, loginPassword, passwordLabel, registrationButton, type UiText } from "../../ui/messages.ts";

/**
 * Kratos's `GetIdentifierLabelFromSchema`: when exactly one trait is an identifier (password/webauthn/code identifier,
 * passkey display name, totp account name) and it has a title, the label is that title (1070002); else 1070004 "ID".
 */
export function identifierLabel(schema: IdentitySchema | undefined): UiText {
  if (!schema) return idLabel();
  let titled = labels.get(schema);
  if (titled === undefined) {
    const candidates = listTraitFields(schema.schema).filter((f) => {
      const c = f.extension?.credentials;
      return Boolean(c?.password?.identifier || c?.webauthn?.identifier || c?.passkey?.display_name || c?.totp?.account_name || c?.code?.identifier);
    });
    titled = candidates.length === 1 && candidates[0].title ? { title: candidates[0].title, name: ["traits", ...candidates[0].path].join(".") } : null;
    labels.set(schema, titled);
  }
  return titled ? generatedLabel(titled.title, titled.name) : idLabel();
}

/** Which trait labels the identifier, per schema (walked once per loaded schema, not per login flow). */
const labels = new WeakMap<IdentitySchema, { title: string; name: string } | null>();

export function loginNodes(schema: IdentitySchema | undefined): UiNode[] {
  return [
    inputNode({ group: "default", name: "identifier", type: "text", value: "", required: true, label: identifierLabel(schema) }),
    inputNode({ group: "password", name: "password", type: "password", required: true, autocomplete: "current-password", label: passwordLabel() }),
    submitNode("password", "password", loginPassword()),
  ];
}

export function registrationNodes(schema: IdentitySchema, traits?: Record<string, unknown>): UiNode[] {
  return [
    ...traitsNodes(schema, "default", traits),
    inputNode({ group: "password", name: "password", type: "password", required: true, autocomplete: "new-password", label: passwordLabel() }),
    submitNode("password", "password", registrationButton()),
  ];
}
