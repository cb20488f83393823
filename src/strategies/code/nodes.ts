/**
 * The code method's UI nodes, as Kratos v26 builds them (`selfservice/strategy/code/*.go`, snapshots in its tests).
 */
import { anchorNode, inputNode, submitNode, type UiNode } from "../../ui/node.ts";
import {
  continueLabel,
  emailLabel,
  loginCodeLabel,
  recoveryCodeLabel,
  registrationCodeLabel,
  resendCodeLabel,
  submitLabel,
  verificationCodeLabel,
  type UiText,
} from "../../ui/messages.ts";
import { CODE_DIGITS } from "./code-store.ts";

/** choose_method: the address to send to and the submit button. */
export function emailNodes(group: "code" | "link", value: string | undefined, button: UiText): UiNode[] {
  return [
    inputNode({ group, name: "email", type: "email", value, required: true, label: emailLabel() }),
    submitNode(group, group, button),
  ];
}

/** sent_email: the code input, the method, the submit and the resend button carrying the address. */
export function codeEntryNodes(kind: "recovery" | "verification", email: string): UiNode[] {
  const recovery = kind === "recovery";
  return [
    inputNode({
      group: "code",
      name: "code",
      type: "text",
      required: true,
      pattern: recovery ? "[0-9]+" : undefined,
      maxlength: recovery ? CODE_DIGITS.recovery : undefined,
      label: recovery ? recoveryCodeLabel() : verificationCodeLabel(),
    }),
    inputNode({ group: "code", name: "method", type: "hidden", value: "code" }),
    submitNode("code", "code", recovery ? continueLabel() : submitLabel()),
    inputNode({ group: "code", name: "email", type: "submit", value: email, label: resendCodeLabel() }),
  ];
}

/** Code login / registration after the code was sent. */
export function loginCodeEntryNodes(kind: "login" | "registration", identifierName: string, identifier: string): UiNode[] {
  return [
    inputNode({ group: "code", name: identifierName, type: "hidden", value: identifier, required: true }),
    inputNode({ group: "code", name: "code", type: "text", required: true, autocomplete: "one-time-code", label: kind === "login" ? loginCodeLabel() : registrationCodeLabel() }),
    inputNode({ group: "code", name: "method", type: "hidden", value: "code" }),
    submitNode("code", "code", continueLabel()),
    inputNode({ group: "code", name: "resend", type: "submit", value: "code", label: resendCodeLabel() }),
  ];
}

/** passed_challenge of a verification flow: a link on to where the user was going. */
export function continueNode(href: string): UiNode {
  return anchorNode("code", "continue", href, continueLabel());
}
