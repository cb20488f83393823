/**
 * Enumeration-safe registration (`security.account_enumeration.mitigate`, on by default; Kratos answers 4000007).
 *
 * Contract, while `registrationMitigated()` holds:
 * - a registration never signs in (the `session` hook waits: the user signs in after verifying the address);
 * - a new registration creates the identity and starts a verification flow for its address (a code by mail);
 * - a registration whose identifier already exists creates and changes nothing: the strategy throws
 *   `DuplicateRegistration` carrying a *stand-in* identity (fresh ids, the submitted traits, the shape a new identity
 *   has), the handler answers with it exactly as for a new one, and the verification flow it starts for the stand-in
 *   queues one `registration_attempt` notice to the existing account instead of a code (see `standInNotice`).
 * Both branches hash the password, ask the message cap once, write one verification flow, one code row and one message
 * (the new identity's inside its insert transaction, the stand-in's in one of its own after the failed insert, which
 * also rehearses the identity and address rows the failed insert did not reach: `IdentityRepo.rehearseInsert`), and
 * wait on no I/O the other does not do. Without verification (`selfservice.flows.verification.enabled: false`) or without an email
 * address in the traits there is no channel to tell a newcomer from the owner: registration keeps Kratos's answers.
 */
import type { Config } from "../../config/config.ts";
import type { Identity, RecoveryAddress, VerifiableAddress } from "../../identity/identity.ts";
import { newId } from "../../util/ids.ts";

/** Whether registration hides existing accounts for traits with these verifiable addresses. */
export function registrationMitigated(config: Pick<Config, "security" | "selfservice">, addresses: ReadonlyArray<{ via: string }>): boolean {
  return config.security.account_enumeration.mitigate && config.selfservice.flows.verification.enabled === true && addresses.some((a) => a.via === "email");
}

/** Thrown by a registration strategy for an identifier that exists, while mitigation is on. Not an error answer. */
export class DuplicateRegistration extends Error {
  constructor(
    /** What the answer shows: looks exactly like a new identity, exists nowhere. */
    readonly standIn: Identity,
    /** The account that holds the identifier (undefined if it vanished meanwhile). */
    readonly owner: Identity | undefined,
  ) {
    super("registration of an existing identifier");
  }
}

/** The addresses of a new identity, as the identity service derives them (fresh ids, unverified, `pending`). */
export function standInIdentity(o: {
  schemaId: string;
  traits: Record<string, unknown>;
  verifiable: ReadonlyArray<{ via: "email" | "sms"; value: string }>;
  recovery: ReadonlyArray<{ via: "email" | "sms"; value: string }>;
  now: Date;
}): Identity {
  const now = o.now.toISOString();
  const verifiable_addresses = o.verifiable.map(
    (a): VerifiableAddress => ({ id: newId(), value: a.value, verified: false, via: a.via, status: "pending", created_at: now, updated_at: now }),
  );
  const recovery_addresses = o.recovery.map((a): RecoveryAddress => ({ id: newId(), value: a.value, via: a.via, created_at: now, updated_at: now }));
  return {
    id: newId(),
    schema_id: o.schemaId,
    state: "active",
    traits: o.traits,
    metadata_public: null,
    metadata_admin: null,
    organization_id: null,
    verifiable_addresses,
    recovery_addresses,
    credentials: {},
    created_at: now,
    updated_at: now,
  };
}

/**
 * Stand-ins and who to tell. The verification hooks hand the stand-in to the strategy's `sendFor` like any identity;
 * the sender asks `standInNotice(identity)` and, for a stand-in, queues `registration_attempt` to `recipient` instead
 * of a code. Keyed by object identity (a WeakMap), so nothing leaks past the request.
 */
const standIns = new WeakMap<Identity, { recipient: string }>();

export function markStandIn(standIn: Identity, recipient: string): void {
  standIns.set(standIn, { recipient });
}

export function standInNotice(identity: Identity): { recipient: string } | undefined {
  return standIns.get(identity);
}

/**
 * Where the existing account's owner is told: the submitted address when the account has it, else the account's first
 * email address, else the submitted address (the notice then reaches whoever owns it).
 */
export function noticeRecipient(submitted: string, owner: Identity | undefined): string {
  const emails = [...(owner?.verifiable_addresses ?? []), ...(owner?.recovery_addresses ?? [])].filter((a) => a.via === "email").map((a) => a.value);
  return emails.includes(submitted) ? submitted : (emails[0] ?? submitted);
}
