/**
 * UI nodes of passwordless code login and registration, as Kratos v26 builds them
 * (`selfservice/strategy/code/strategy.go` `populateChooseMethodFlow` / `populateEmailSentFlow`, `node.go`):
 * - choose_method, login: the `identifier` input (default group; the password strategy's node when present) and the
 *   submit `method=code` labelled 1010015; registration: the traits inputs (default group; the password strategy's
 *   when present) and the submit `method=code` labelled 1040006;
 * - sent_email: the CSRF node, the submitted identifier (login) or traits (registration) as hidden default-group
 *   inputs carrying their values, a hidden `method=code`, the `code` input (1070013 / 1070012), the continue submit
 *   `method=code` (1070009) and the resend submit `resend=code` (1070008).
 */
import type { Flow } from "../../../flow/flow.ts";
import type { IdentitySchema } from "../../../identity/schema/registry.ts";
import { continueLabel, loginCodeButton, loginCodeLabel, registrationCodeButton, registrationCodeLabel, resendCodeLabel } from "../../../ui/messages.ts";
import { inputNode, submitNode, traitsNodes, type UiNode, type UiNodeInputAttributes } from "../../../ui/node.ts";
import { identifierLabel } from "../../password/nodes.ts";

const inputName = (n: UiNode): string | undefined => (n.attributes.node_type === "input" ? (n.attributes as UiNodeInputAttributes).name : undefined);

/** choose_method of a login flow: adds the identifier input unless another strategy did, then the code submit. */
export function populateLoginChoose(flow: Flow, schema: IdentitySchema | undefined): void {
  if (!flow.ui.nodes.some((n) => inputName(n) === "identifier")) {
    flow.ui.nodes.push(inputNode({ group: "default", name: "identifier", type: "text", value: "", required: true, label: identifierLabel(schema) }));
  }
  flow.ui.nodes.push(submitNode("code", "code", loginCodeButton()));
}

/** choose_method of a registration flow: adds the traits inputs unless another strategy did, then the code submit. */
export function populateRegistrationChoose(flow: Flow, schema: IdentitySchema | undefined): void {
  if (schema && !flow.ui.nodes.some((n) => inputName(n)?.startsWith("traits.") === true)) flow.ui.nodes.push(...traitsNodes(schema, "default"));
  flow.ui.nodes.push(submitNode("code", "code", registrationCodeButton()));
}

/** The code entry, continue and resend nodes both flows end with. */
function codeEntry(kind: "login" | "registration"): UiNode[] {
  return [
    inputNode({ group: "code", name: "method", type: "hidden", value: "code" }),
    inputNode({ group: "code", name: "code", type: "text", required: true, label: kind === "login" ? loginCodeLabel() : registrationCodeLabel() }),
    submitNode("code", "code", continueLabel()),
    inputNode({ group: "code", name: "resend", type: "submit", value: "code", label: resendCodeLabel() }),
  ];
}

/** Keeps the CSRF node (first) and replaces the rest of the form. */
function replaceForm(flow: Flow, nodes: UiNode[]): void {
  const csrf = flow.ui.nodes.filter((n) => inputName(n) === "csrf_token");
  flow.ui.nodes = [...csrf, ...nodes];
}

/** sent_email of a login flow: the identifier becomes hidden so a resend or the code submit carries it. */
export function loginSentForm(flow: Flow, identifier: string): void {
  replaceForm(flow, [inputNode({ group: "default", name: "identifier", type: "hidden", value: identifier, required: true }), ...codeEntry("login")]);
}

/** sent_email of a registration flow: the traits stay in the form as hidden inputs holding the submitted values. */
export function registrationSentForm(flow: Flow, schema: IdentitySchema | undefined, traits: Record<string, unknown>): void {
  const hidden = schema
    ? traitsNodes(schema, "default", traits).map((n) => {
        (n.attributes as UiNodeInputAttributes).type = "hidden";
        return n;
      })
    : [];
  replaceForm(flow, [...hidden, ...codeEntry("registration")]);
}
