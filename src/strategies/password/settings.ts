/**
 * The password strategy's settings capability (Kratos `selfservice/strategy/password/settings.go`): one
 * `password` input (new-password, 1070001) and a `method=password` submit labelled 1070003 "Save", both in the
 * `password` group.
 *
 * A change needs a privileged session (checked first, before any input is read, as Kratos). The new password is
 * capped in length before any normalization or hashing, refused with 4000039 when it verifies against the current
 * hash, then run through the full password policy with the identity's identifiers and trait values as context. The
 * new hash replaces the credential through the identity service (an identity without a password credential gets one,
 * keyed by its schema identifiers). A `password_changed` notice goes to every email address of the account.
 */
import { FlowValidationError } from "../../flow/errors.ts";
import type { Flow } from "../../flow/flow.ts";
import type { Identity } from "../../identity/identity.ts";
import { inputNode, submitNode, type UiNode } from "../../ui/node.ts";
import { minLength, passwordLabel, passwordSameAsOld, passwordTooLong, requiredProperty, saveLabel, wrongType } from "../../ui/messages.ts";
import { measurePassword } from "../../security/password/normalize.ts";
import type { SettingsContext, SettingsNotice, SettingsResult, SettingsStrategy } from "../strategy.ts";
import type { PasswordStrategyDeps } from "./password-strategy.ts";

type Deps = Pick<PasswordStrategyDeps, "config" | "schemas" | "identities" | "hasher" | "policy">;

/** Kratos's settings nodes for the password method. */
export function passwordSettingsNodes(): UiNode[] {
  return [
    inputNode({ group: "password", name: "password", type: "password", required: true, autocomplete: "new-password", label: passwordLabel() }),
    submitNode("password", "password", saveLabel()),
  ];
}

/** Every email address of an identity (verifiable and recovery), de-duplicated: where account notices go. */
export function emailAddresses(identity: Identity): string[] {
  const out = new Set<string>();
  for (const a of identity.verifiable_addresses) if (a.via === "email") out.add(a.value);
  for (const a of identity.recovery_addresses) if (a.via === "email") out.add(a.value);
  return [...out];
}

function traitStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) traitStrings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) traitStrings(x, out);
  return out;
}

export function createPasswordSettings(deps: Deps): Pick<SettingsStrategy, "populateSettings" | "settings"> {
  const { config, identities, hasher, policy } = deps;
  const c = config.selfservice.methods.password.config;
  const maxLen = Math.max(64, c.max_password_length, c.min_password_length);

  return {
    populateSettings(flow: Flow): void {
      flow.ui.nodes.push(...passwordSettingsNodes());
    },

    async settings({ body, identity, requirePrivileged }: SettingsContext): Promise<SettingsResult> {
      requirePrivileged();
      const v = body.password;
      if (v === undefined || v === null) throw new FlowValidationError({ nodes: { password: [requiredProperty("password")] } });
      if (typeof v !== "string") throw new FlowValidationError({ nodes: { password: [wrongType(["string"], Array.isArray(v) ? "array" : typeof v)] } });
      if (v === "") throw new FlowValidationError({ nodes: { password: [minLength(1, 0)] } });
      const m = measurePassword(v, maxLen);
      if (!m.ok || m.length > maxLen) throw new FlowValidationError({ nodes: { password: [passwordTooLong(maxLen, m.length)] } });

      const current = identity.credentials.password?.config.hashed_password;
      if (typeof current === "string" && current !== "" && (await hasher.verify(v, current))) {
        throw new FlowValidationError({ nodes: { password: [passwordSameAsOld()] } });
      }
      const ids = identity.credentials.password?.identifiers ?? [];
      const words = traitStrings(identity.traits).filter((w) => !ids.includes(w));
      const violations = await policy.check(v, { identifiers: ids, words });
      if (violations.length) throw new FlowValidationError({ nodes: { password: violations } });

      const hashed = await hasher.hash(v);
      const updated = await identities.update(identity.id, {
        schema_id: identity.schema_id,
        traits: identity.traits,
        state: identity.state,
        credentials: { password: { config: { hashed_password: hashed } } },
      });
      const notices: SettingsNotice[] = emailAddresses(updated).map((recipient) => ({ template_type: "password_changed", recipient, data: {} }));
      return { identity: updated, notices, verify: [] };
    },
  };
}
