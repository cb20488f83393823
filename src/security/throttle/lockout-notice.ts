/**
 * What happens when a lockout episode starts (`ThrottleDeps.onLockout`): one `identifier_locked` security event, and
 * one `login_throttled` email to each email address of the account behind the locked identifier, if there is one.
 *
 * The locked identifier is a password identifier, or `<kind>_code:<address>` for code guesses (login, registration,
 * recovery, verification codes; `parseThrottleSubject`). A password identifier is looked up as login looks it up. For
 * a code kind the address is the identifier, normalized as at login, and its account is the one holding it as a code
 * or password identifier, else as a verifiable or recovery address. Unknown identifiers get the event (without an
 * identity id) and no email, so nothing about the account leaks into the traffic an attacker can cause.
 *
 * Runs after the failing request was answered (the throttle does not await it), so no answer waits on these lookups.
 */
import type { Kysely } from "kysely";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Identity } from "../../identity/identity.ts";
import type { Database } from "../../persistence/db.ts";
import type { DB } from "../../persistence/schema.ts";
import { createAddressStore } from "../../strategies/code/addresses.ts";
import type { SecurityEvents } from "../events.ts";
import { parseThrottleSubject } from "./keys.ts";
import type { LockoutContext } from "./throttle.ts";

export interface LockoutNotifierDeps {
  repo: Pick<IdentityRepo, "findByCredentialIdentifier" | "get">;
  database: Database;
  courier: { enqueue(q: Kysely<DB>, msg: { template_type: string; recipient: string; data: Record<string, unknown> }): Promise<string> };
  events: SecurityEvents;
}

/** An `onLockout` callback for `createThrottle`. */
export function createLockoutNotifier(deps: LockoutNotifierDeps): (identifier: string, context: LockoutContext) => Promise<void> {
  const { repo, database, courier, events } = deps;
  const addresses = createAddressStore(database);

  async function ownerOf(subject: string): Promise<{ identity: Identity | undefined; kind: string }> {
    const { kind, identifier } = parseThrottleSubject(subject);
    if (kind === "password") return { identity: await repo.findByCredentialIdentifier("password", identifier), kind };
    const byCredential = (await repo.findByCredentialIdentifier("code", identifier)) ?? (await repo.findByCredentialIdentifier("password", identifier));
    if (byCredential) return { identity: byCredential, kind };
    const address = (await addresses.findVerifiable(identifier)) ?? (await addresses.findRecovery(identifier));
    return { identity: address ? await repo.get(address.identity_id) : undefined, kind };
  }

  return async (subject, context) => {
    const { identity, kind } = await ownerOf(subject);
    events("identifier_locked", {
      identity_id: identity?.id,
      client_ip: context.client_ip,
      flow_id: context.flow_id,
      method: kind === "password" ? "password" : "code",
      reason: kind === "password" ? undefined : kind,
    });
    if (!identity) return;
    const to = new Set([...identity.verifiable_addresses, ...identity.recovery_addresses].filter((a) => a.via === "email").map((a) => a.value));
    for (const recipient of to) {
      await courier.enqueue(database.db, { template_type: "login_throttled", recipient, data: { to: recipient, identity: { id: identity.id, traits: identity.traits } } });
    }
  };
}
