/**
 * The profile strategy (Kratos `selfservice/strategy/profile/strategy.go`): settings only. Its nodes are one input per
 * trait of the identity's schema in the `profile` group, pre-filled with the current values, and a `method=profile`
 * submit labelled 1070003 "Save".
 *
 * A submit validates the traits against the identity's schema (Kratos message ids on `traits.*` nodes), normalizes
 * them, and asks for a privileged session only when a protected value changes: a credential identifier or a
 * verifiable/recovery address (Kratos's "protected traits"); other traits change with any session. The change goes
 * through the identity service, which keeps the verification state of unchanged addresses and gives a changed
 * address a new, unverified entry: that address is returned in `verify` for the flow to start its verification.
 *
 * Enumeration (issue 6): a new identifier that belongs to another identity would be a 409 from the unique index. The
 * change is then NOT stored, but the answer is built exactly as for a stored change (the submitted traits, the new
 * address as a fresh unverified entry), and the owner of the address receives a `registration_attempt` notice instead
 * of a verification code, so the requester's answer and the mail traffic look the same. The requester finds the old
 * value on the next read of the identity; docs/settings.md states this residual signal. With
 * `security.account_enumeration.mitigate: false` the conflict answers Kratos's 4000007 instead.
 *
 * Message caps (`security.brute_force.messages`): each notice asks `throttle.allowMessage(address, client ip)` first,
 * as the verification code of a free address does in the sender, so repeated changes to someone's address send that
 * owner at most `messages.per_address` notices per window (and one client at most 4x that in all). Beyond the cap the
 * answer is the same and nothing is queued.
 */
import type { Config } from "../../config/config.ts";
import type { Flow } from "../../flow/flow.ts";
import { FlowValidationError } from "../../flow/errors.ts";
import { markStandIn } from "../../flow/registration/enumeration.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { IdentityService } from "../../identity/identity-service.ts";
import type { Identity, RecoveryAddress, VerifiableAddress } from "../../identity/identity.ts";
import type { CredentialIdentifierType, ExtractedTraits, IdentitySchemaRegistry } from "../../identity/schema/registry.ts";
import { duplicateCredentials, saveLabel, type UiText } from "../../ui/messages.ts";
import { submitNode, traitsNodes } from "../../ui/node.ts";
import { isAppError } from "../../util/app-error.ts";
import type { SecurityEvents } from "../../security/events.ts";
import type { Throttle } from "../../security/throttle/throttle.ts";
import type { Clock } from "../../util/clock.ts";
import { newId } from "../../util/ids.ts";
import { coerceFormTraits } from "../password/traits.ts";
import type { SettingsContext, SettingsNotice, SettingsResult, SettingsStrategy } from "../strategy.ts";

export interface ProfileStrategyDeps {
  config: Config;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  repo: IdentityRepo;
  clock: Clock;
  /** Brute-force protection (message caps); absent when `security.brute_force.enabled` is false. */
  throttle?: Pick<Throttle, "allowMessage">;
  events?: SecurityEvents;
}

const addressKey = (a: { via: string; value: string }): string => `${a.via}:${a.value}`;

/** A stable text of everything the schema marks as protected (identifiers and addresses), to detect a change. */
function protectedFingerprint(x: ExtractedTraits): string {
  const ids = Object.entries(x.identifiers).map(([t, v]) => [t, [...v].sort()]);
  return JSON.stringify([ids, x.verifiable_addresses.map(addressKey).sort(), x.recovery_addresses.map(addressKey).sort()]);
}

export function createProfileStrategy(deps: ProfileStrategyDeps) {
  const { config, schemas, identities, repo, clock, throttle, events } = deps;

  /** The identity as a stored change would show it, without storing anything (the conflict answer). */
  function asIfChanged(identity: Identity, traits: Record<string, unknown>, after: ExtractedTraits): Identity {
    const now = clock.now().toISOString();
    const oldVa = new Map(identity.verifiable_addresses.map((a) => [addressKey(a), a]));
    const oldRa = new Map(identity.recovery_addresses.map((a) => [addressKey(a), a]));
    const verifiable_addresses = after.verifiable_addresses.map(
      (a): VerifiableAddress => oldVa.get(addressKey(a)) ?? { id: newId(), value: a.value, verified: false, via: a.via, status: "pending", created_at: now, updated_at: now },
    );
    const recovery_addresses = after.recovery_addresses.map(
      (a): RecoveryAddress => oldRa.get(addressKey(a)) ?? { id: newId(), value: a.value, via: a.via, created_at: now, updated_at: now },
    );
    return { ...identity, traits, verifiable_addresses, recovery_addresses, updated_at: now };
  }

  /** Notices for the owners of identifiers this change tried to take: the address itself when it is one of theirs. */
  async function conflictNotices(ctx: SettingsContext, before: ExtractedTraits, after: ExtractedTraits): Promise<Map<string, SettingsNotice>> {
    const { identity } = ctx;
    const notices = new Map<string, SettingsNotice>();
    for (const [type, values] of Object.entries(after.identifiers) as Array<[CredentialIdentifierType, string[]]>) {
      for (const value of values) {
        if (before.identifiers[type].includes(value)) continue;
        const owner = await repo.findByCredentialIdentifier(type, value);
        if (!owner || owner.id === identity.id) continue;
        const own = [...owner.verifiable_addresses, ...owner.recovery_addresses].filter((a) => a.via === "email");
        const recipients = own.some((a) => a.value === value) ? [value] : [...new Set(own.map((a) => a.value))];
        for (const r of recipients) notices.set(r, { template_type: "registration_attempt", recipient: r, data: {} });
      }
    }
    return notices;
  }

  /** The notices within the message caps; a capped one is left out (and logged). */
  async function withinCaps(ctx: SettingsContext, notices: Iterable<SettingsNotice>): Promise<SettingsNotice[]> {
    const { identity, req, flow } = ctx;
    const allowed: SettingsNotice[] = [];
    for (const n of notices) {
      if (!throttle || (await throttle.allowMessage(n.recipient, req.ip))) allowed.push(n);
      else events?.("message_capped", { identity_id: identity.id, client_ip: req.ip, flow_id: flow.id, method: "profile", reason: n.template_type });
    }
    return allowed;
  }

  /**
   * The conflict answer with mitigation on. A stored change starts the verification of the new address (a flow, a
   * code row and a message, in one transaction). So that a taken address costs the same work, its first new email
   * address "stands in": the same verification runs, but the code row belongs to no identity (it can never be
   * redeemed) and the message is the owner's `registration_attempt` notice (`markStandIn`, as in registration). The
   * message cap is asked there, once. Other owners' notices are queued as before.
   */
  async function conflictAnswer(ctx: SettingsContext, traits: Record<string, unknown>, before: ExtractedTraits, after: ExtractedTraits): Promise<SettingsResult> {
    const asIf = asIfChanged(ctx.identity, traits, after);
    const notices = await conflictNotices(ctx, before, after);
    const known = new Set(ctx.identity.verifiable_addresses.map(addressKey));
    const fresh = asIf.verifiable_addresses.find((a) => !a.verified && a.via === "email" && !known.has(addressKey(a)));
    if (fresh && notices.size > 0 && config.selfservice.flows.verification.enabled) {
      const recipient = notices.has(fresh.value) ? fresh.value : (notices.keys().next().value as string);
      notices.delete(recipient);
      markStandIn(asIf, recipient);
      return { identity: asIf, notices: await withinCaps(ctx, notices.values()), verify: [fresh] };
    }
    return { identity: asIf, notices: await withinCaps(ctx, notices.values()), verify: [] };
  }

  return {
    id: "profile",

    populateSettings(flow: Flow, identity: Identity): void {
      const schema = schemas.get(identity.schema_id);
      if (schema) flow.ui.nodes.push(...traitsNodes(schema, "profile", identity.traits));
      flow.ui.nodes.push(submitNode("profile", "profile", saveLabel()));
    },

    async settings(ctx: SettingsContext): Promise<SettingsResult> {
      const { body, identity, requirePrivileged } = ctx;
      const schemaId = identity.schema_id;
      const schema = schemas.get(schemaId);
      const raw = body.traits === undefined ? {} : body.traits;
      const traits = schema ? coerceFormTraits(schema, raw) : raw;
      const errors: Record<string, UiText[]> = {};
      for (const e of schemas.validateTraits(schemaId, traits)) (errors[e.name || ""] ??= []).push(e.message);
      if (Object.keys(errors).length) throw new FlowValidationError({ nodes: errors });

      const normalized = schemas.normalizeTraits(schemaId, traits as Record<string, unknown>);
      const before = schemas.extract(schemaId, identity.traits);
      const after = schemas.extract(schemaId, normalized);
      if (protectedFingerprint(before) !== protectedFingerprint(after)) requirePrivileged();

      try {
        const updated = await identities.update(identity.id, { schema_id: schemaId, traits: normalized, state: identity.state });
        const known = new Set(identity.verifiable_addresses.map(addressKey));
        const verify = updated.verifiable_addresses.filter((a) => !a.verified && !known.has(addressKey(a)));
        return { identity: updated, notices: [], verify };
      } catch (e) {
        if (!isAppError(e) || e.code !== 409) throw e;
        // Without enumeration mitigation, Kratos's answer: the identifier is taken (4000007).
        if (!config.security.account_enumeration.mitigate) throw new FlowValidationError({ form: [duplicateCredentials()] });
        return conflictAnswer(ctx, normalized, before, after);
      }
    },
  } satisfies SettingsStrategy;
}

export type ProfileStrategy = ReturnType<typeof createProfileStrategy>;
