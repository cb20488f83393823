/**
 * Sends recovery, verification, login and registration messages for the code and link methods.
 *
 * Enumeration contract: for a given kind, the known-address and unknown-address branches do the same database work
 * (one address lookup, one identity read, one transaction deleting the flow's earlier codes and inserting a code row)
 * and queue at most one message: the code or link for a known address; for an unknown one the `*_unknown` notice
 * when `notify_unknown_recipients` is on (code login: `login_unknown` whenever enumeration mitigation is on). The
 * message row is inserted in the same transaction as the code row, so a code exists exactly when its message does;
 * nothing here waits on SMTP (the courier worker delivers later).
 */
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Identity } from "../../identity/identity.ts";
import type { Database } from "../../persistence/db.ts";
import type { Clock } from "../../util/clock.ts";
import { newId } from "../../util/ids.ts";
import type { Flow } from "../../flow/flow.ts";
import type { AddressStore } from "./addresses.ts";
import { CODE_DIGITS, newCode, newLinkToken, type CodeMethod, type CodeStore, type Q } from "./code-store.ts";

/** The courier slice used here (`courier/courier.ts`): renders and inserts a `courier_messages` row with `q`. */
export interface CourierPort {
  enqueue(q: Q, msg: { template_type: string; recipient: string; channel?: "email" | "sms"; data: Record<string, unknown> }): Promise<string>;
}

export interface SenderDeps {
  database: Database;
  config: Config;
  clock: Clock;
  repo: IdentityRepo;
  codes: CodeStore;
  addresses: AddressStore;
  courier: CourierPort;
  publicBaseUrl: string;
}

/** What templates may show of an identity: id and traits (never credentials or admin metadata). */
const identityData = (i: Identity | undefined) => (i ? { id: i.id, traits: i.traits, metadata_public: i.metadata_public ?? null } : undefined);

export function createSender(deps: SenderDeps) {
  const { database, config, codes, addresses, courier, repo } = deps;
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  const flowsCfg = config.selfservice.flows;
  const url = (kind: "recovery" | "verification", flowId: string, param: "token" | "code", secret: string) =>
    `${base}self-service/${kind}?flow=${encodeURIComponent(flowId)}&${param}=${encodeURIComponent(secret)}`;

  /** Loads the identity behind an address; the unknown branch reads a random id so both cost one query. */
  const loadIdentity = async (identityId: string | undefined): Promise<Identity | undefined> => repo.get(identityId ?? newId());

  return {
    /** Recovery by email: a code (`recovery_code`) or link (`recovery`); unknown: `recovery_unknown` if configured. */
    async sendRecovery(flow: Flow, method: CodeMethod, email: string): Promise<void> {
      const addr = await addresses.findRecovery(email);
      const identity = await loadIdentity(addr?.identity_id);
      const known = addr !== undefined && identity !== undefined;
      const secret = method === "code" ? newCode(CODE_DIGITS.recovery) : newLinkToken();
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "recovery", method, secret, identityId: known ? identity.id : null, address: email, addressId: addr?.id ?? null });
        if (known) {
          const data: Record<string, unknown> = { to: email, identity: identityData(identity) };
          if (method === "code") data.recovery_code = secret;
          else data.recovery_url = url("recovery", flow.id, "token", secret);
          await courier.enqueue(trx, { template_type: method === "code" ? "recovery_code" : "recovery", recipient: email, data });
        } else if (flowsCfg.recovery.notify_unknown_recipients) {
          await courier.enqueue(trx, { template_type: "recovery_unknown", recipient: email, data: { to: email } });
        }
      });
    },

    /** Verification by email: a code (`verification_code`, with a link carrying it) or a link (`verification`). */
    async sendVerification(flow: Flow, method: CodeMethod, email: string): Promise<void> {
      const addr = await addresses.findVerifiable(email);
      const identity = await loadIdentity(addr?.identity_id);
      const known = addr !== undefined && identity !== undefined;
      const secret = method === "code" ? newCode(CODE_DIGITS.verification) : newLinkToken();
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "verification", method, secret, identityId: known ? identity.id : null, address: email, addressId: addr?.id ?? null });
        if (known) {
          await courier.enqueue(trx, verificationMessage(flow, method, email, secret, identity));
          await addresses.markSent(addr.id, deps.clock.now(), trx);
        } else if (flowsCfg.verification.notify_unknown_recipients) {
          await courier.enqueue(trx, { template_type: "verification_unknown", recipient: email, data: { to: email } });
        }
      });
    },

    /** Verification of a known address of a known identity (after registration, `require_verified_address`). */
    async sendVerificationFor(flow: Flow, method: CodeMethod, identity: Identity, address: { id: string; value: string }): Promise<void> {
      const secret = method === "code" ? newCode(CODE_DIGITS.verification) : newLinkToken();
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "verification", method, secret, identityId: identity.id, address: address.value, addressId: address.id });
        await courier.enqueue(trx, verificationMessage(flow, method, address.value, secret, identity));
        await addresses.markSent(address.id, deps.clock.now(), trx);
      });
    },

    /**
     * Code login. `identity` is the owner of the submitted identifier (or undefined). Unknown addresses get a row too
     * and, with enumeration mitigation on, a `login_unknown` notice.
     */
    async sendLogin(flow: Flow, address: string, identity: Identity | undefined): Promise<void> {
      const secret = newCode(CODE_DIGITS.login);
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "login", method: "code", secret, identityId: identity?.id ?? null, address });
        if (identity) await courier.enqueue(trx, { template_type: "login_code", recipient: address, data: { to: address, login_code: secret, identity: identityData(identity) } });
        else if (config.security.account_enumeration.mitigate) await courier.enqueue(trx, { template_type: "login_unknown", recipient: address, data: { to: address } });
      });
    },

    /**
     * Code registration. A free address gets the code; an address that already has an account gets a
     * `registration_attempt` notice instead (mitigation on), so the answer cannot tell them apart and nobody can
     * finish the registration. The row of a free address carries the pseudo identity id "registration".
     */
    async sendRegistration(flow: Flow, address: string, taken: boolean, traits: Record<string, unknown>): Promise<void> {
      const secret = newCode(CODE_DIGITS.registration);
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "registration", method: "code", secret, identityId: taken ? null : REGISTRATION_PSEUDO_ID, address });
        if (!taken) await courier.enqueue(trx, { template_type: "registration_code", recipient: address, data: { to: address, registration_code: secret, traits } });
        else await courier.enqueue(trx, { template_type: "registration_attempt", recipient: address, data: { to: address } });
      });
    },

    /** `recovery_used`: tells the account's address that it was just recovered. */
    async notifyRecovered(q: Q, address: string, identity: Identity): Promise<void> {
      await courier.enqueue(q, { template_type: "recovery_used", recipient: address, data: { to: address, identity: identityData(identity) } });
    },

    recoveryLinkUrl: (flowId: string, token: string) => url("recovery", flowId, "token", token),
  };

  function verificationMessage(flow: Flow, method: CodeMethod, email: string, secret: string, identity: Identity) {
    const data: Record<string, unknown> = { to: email, identity: identityData(identity) };
    if (method === "code") {
      data.verification_code = secret;
      data.verification_url = url("verification", flow.id, "code", secret);
    } else data.verification_url = url("verification", flow.id, "token", secret);
    return { template_type: method === "code" ? "verification_code" : "verification", recipient: email, data };
  }
}

/** The `identity_id` of a registration code row: the identity does not exist until the code is redeemed. */
export const REGISTRATION_PSEUDO_ID = "00000000-0000-4000-8000-000000000000";

export type Sender = ReturnType<typeof createSender>;
