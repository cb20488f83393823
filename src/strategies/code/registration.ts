/**
 * Passwordless registration with a one-time code by email (`selfservice.methods.code.passwordless_enabled`), Kratos's
 * `strategy/code/strategy_registration.go` on the wire:
 * - choose_method: `{method: "code", traits}` validates the traits against the identity schema (Kratos message ids on
 *   the trait nodes), then queues a code to the traits' code identifier (`ory.sh/kratos.credentials.code.identifier`,
 *   email) and answers the flow in state `sent_email` with 1040005, the traits kept as hidden inputs;
 * - an address that already belongs to an account (any credential identifier) gets, with enumeration mitigation on
 *   (default), exactly the same answer after the same database work, but the message is `registration_attempt` to
 *   the owner and the code row can never be redeemed: nothing is created or changed, and the owner learns of the
 *   attempt. With mitigation off it answers 4000007 at once (no message), as the password method does;
 * - sent_email: `{method: "code", traits, code}` checks the traits equal the ones the code was sent for (else 4000036),
 *   redeems the code (wrong, expired, spent or foreign: 4040003, counted against `max_submissions` and the address's
 *   brute-force throttle) and creates the identity with that address verified. The registration handler then runs
 *   `after.code` hooks (`session` signs in);
 * - `resend=code` sends a new code for the submitted traits (the old one stops working).
 */
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { IdentityService } from "../../identity/identity-service.ts";
import type { IdentitySchemaRegistry } from "../../identity/schema/registry.ts";
import { FlowValidationError } from "../../flow/errors.ts";
import type { Flow } from "../../flow/flow.ts";
import { duplicateCredentials, identifierMissing, registrationCodeInvalidOrUsed, registrationCodeSent, traitsMismatch, type UiText } from "../../ui/messages.ts";
import { isAppError } from "../../util/app-error.ts";
import type { RegistrationStrategy, SubmitContext } from "../strategy.ts";
import { coerceFormTraits } from "../password/traits.ts";
import { MAX_ADDRESS_LENGTH } from "./addresses.ts";
import { submittedTooOften } from "./code-flows.ts";
import type { Sender } from "./sender.ts";
import { CodeSent, redeemGuarded, wantsResend, type GuardDeps } from "./passwordless/guard.ts";
import { populateRegistrationChoose, registrationSentForm } from "./passwordless/nodes.ts";

export interface CodeRegistrationDeps extends GuardDeps {
  config: Config;
  repo: IdentityRepo;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  sender: Sender;
}

/** What the code registration keeps on the flow (`flow.internal.code`): the address and the traits it was sent for. */
interface RegistrationState {
  address: string;
  /** Canonical JSON of the normalized traits. */
  traits: string;
}

const stateOf = (flow: Flow): RegistrationState | undefined => {
  const s = flow.internal.code as Partial<RegistrationState> | undefined;
  return s && typeof s.address === "string" && typeof s.traits === "string" ? { address: s.address, traits: s.traits } : undefined;
};

/** JSON with object keys sorted, so equal traits compare equal whatever order they were submitted in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

export function createCodeRegistration(deps: CodeRegistrationDeps) {
  const { config, repo, schemas, identities, sender, codes, events } = deps;
  const allowMessage = async (address: string, ip: string): Promise<boolean> => (deps.throttle ? deps.throttle.allowMessage(address, ip) : true);

  /** Validated, normalized traits and the email the code goes to; throws node messages for anything invalid. */
  function readTraits(body: Record<string, unknown>): { traits: Record<string, unknown>; address: string } {
    const schemaId = schemas.defaultId;
    const schema = schemas.get(schemaId);
    const raw = body.traits === undefined ? {} : body.traits;
    const coerced = schema ? coerceFormTraits(schema, raw) : raw;
    const errors: Record<string, UiText[]> = {};
    for (const e of schemas.validateTraits(schemaId, coerced)) (errors[e.name || ""] ??= []).push(e.message);
    if (Object.keys(errors).length) throw new FlowValidationError({ nodes: errors });
    const traits = schemas.normalizeTraits(schemaId, coerced as Record<string, unknown>);
    // Email only: the first code identifier that is an address (Kratos sends to every one; SMS is not built here).
    const address = schemas.extract(schemaId, traits).identifiers.code.find((a) => a.includes("@"));
    if (!address || address.length > MAX_ADDRESS_LENGTH) throw new FlowValidationError({ form: [identifierMissing()] });
    return { traits, address };
  }

  async function send(flow: Flow, body: Record<string, unknown>, ip: string): Promise<never> {
    const { traits, address } = readTraits(body);
    // One indexed lookup on both branches: does any credential of any identity use this address as identifier?
    const taken = (await repo.list({ pageSize: 1, credentialsIdentifier: address })).length > 0;
    if (taken && !config.security.account_enumeration.mitigate) throw new FlowValidationError({ form: [duplicateCredentials()] });
    if (taken) events?.("registration_duplicate", { client_ip: ip, flow_id: flow.id, method: "code" });
    if (await allowMessage(address, ip)) await sender.sendRegistration(flow, address, taken, traits, ip);
    flow.internal.code = { address, traits: canonical(traits) } satisfies RegistrationState;
    flow.state = "sent_email";
    flow.active = "code";
    registrationSentForm(flow, schemas.get(schemas.defaultId), traits);
    throw new CodeSent(registrationCodeSent());
  }

  return {
    id: "code",

    populateRegistration(flow: Flow) {
      populateRegistrationChoose(flow, schemas.get(schemas.defaultId));
    },

    async register({ req, flow, body, afterCreate }: SubmitContext) {
      if (await codes.exhausted(flow)) throw submittedTooOften();
      const state = stateOf(flow);
      if (flow.state !== "sent_email" || !state || wantsResend(body)) return send(flow, body, req.ip);

      const { traits } = readTraits(body);
      if (canonical(traits) !== state.traits) throw new FlowValidationError({ form: [traitsMismatch()] });
      const row = await redeemGuarded(deps, { flow, kind: "registration", address: state.address, ip: req.ip, body, invalid: registrationCodeInvalidOrUsed() });
      try {
        const identity = await identities.create(
          {
            schema_id: schemas.defaultId,
            traits,
            state: "active",
            // The code proved control of the address it was sent to.
            verifiable_addresses: [{ value: row.address ?? state.address, via: "email", verified: true, status: "completed" }],
          },
          // Other unverified addresses in the traits get their verification in the identity's transaction.
          { afterCreate },
        );
        return { identity };
      } catch (e) {
        // Someone registered the address between the code being sent and redeemed; the code holder owns the mailbox.
        if (isAppError(e) && e.code === 409) throw new FlowValidationError({ form: [duplicateCredentials()] });
        throw e;
      }
    },
  } satisfies RegistrationStrategy;
}

export type CodeRegistration = ReturnType<typeof createCodeRegistration>;
