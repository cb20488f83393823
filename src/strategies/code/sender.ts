/**
 * Sends recovery, verification, login and registration messages for the code and link methods.
 *
 * Enumeration contract: for a given kind, the known-address and unknown-address branches do the same database work
 * (one address lookup, one identity read, one transaction deleting the flow's earlier codes and inserting a code row)
 * and queue at most one message: the code or link for a known address; for an unknown one the `*_unknown` notice
 * when `notify_unknown_recipients` is on, else a shadow (written and deleted in the transaction: same cost; for
 * verification the known address's own template) (code login: `login_unknown` whenever enumeration mitigation is on). The
 * message row is inserted in the same transaction as the code row; nothing here waits on SMTP (the courier worker
 * delivers later).
 *
 * Message caps (brute-force protection, `security.brute_force.messages`): before queueing, every recovery and
 * verification message asks `throttle.allowMessage(address, ip)` (code login and registration ask it themselves before
 * calling `sendLogin` / `sendRegistration`); beyond the cap the code row is still written (same work, same answer) but no
 * message is queued. The client IP is an explicit argument of every function that sends, caps or logs (`ip`, the
 * request's `req.ip`, passed down by the flow handlers and strategies); without one (undefined: no request) the
 * per-IP cap counts per address.
 *
 * A registration stand-in (`flow/registration/enumeration.ts`) handed to `sendVerificationFor` gets a code row that
 * can never be redeemed and one `registration_attempt` notice to the existing account instead of a code.
 *
 * The sender also carries the code-guess throttle of recovery and verification (`checkGuess`/`guessFailed`/
 * `guessSucceeded`, per flow kind and address) and `clearThrottle` for a completed recovery, because it is the one
 * object of the code methods that the composition root's throttle reaches.
 */
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Identity } from "../../identity/identity.ts";
import type { Database } from "../../persistence/db.ts";
import type { Clock } from "../../util/clock.ts";
import { newId } from "../../util/ids.ts";
import type { Flow } from "../../flow/flow.ts";
import { FlowValidationError } from "../../flow/errors.ts";
import { standInNotice } from "../../flow/registration/enumeration.ts";
import type { SecurityEvents } from "../../security/events.ts";
import { clearAllForIdentifier, type Throttle } from "../../security/throttle/throttle.ts";
import { isThrottleError, throttleUiMessage } from "../../security/throttle/messages.ts";
import type { AddressStore } from "./addresses.ts";
import { CODE_DIGITS, newCode, newLinkToken, type CodeKind, type CodeMethod, type CodeStore, type Q } from "./code-store.ts";

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
  /** Brute-force protection (message caps, code guesses); absent when `security.brute_force.enabled` is false. */
  throttle?: Throttle;
  events?: SecurityEvents;
}

/** The client IP of the request a message or guess belongs to; undefined without a request (admin API, CLI). */
export type ClientIp = string | undefined;

/** What templates may show of an identity: id and traits (never credentials or admin metadata). */
type IdentityData = Pick<Identity, "id" | "traits" | "metadata_public">;
const identityData = (i: IdentityData | undefined) => (i ? { id: i.id, traits: i.traits, metadata_public: i.metadata_public ?? null } : undefined);

export function createSender(deps: SenderDeps) {
  const { database, config, codes, addresses, courier, repo } = deps;
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  const flowsCfg = config.selfservice.flows;
  const url = (kind: "recovery" | "verification", flowId: string, param: "token" | "code", secret: string) =>
    `${base}self-service/${kind}?flow=${encodeURIComponent(flowId)}&${param}=${encodeURIComponent(secret)}`;

  /** Loads the identity behind an address; the unknown branch reads a random id so both cost one query. */
  const loadIdentity = async (identityId: string | undefined): Promise<Identity | undefined> => repo.get(identityId ?? newId());
  const { throttle, events } = deps;

  /** The message cap for `address` (counted before the transaction; both branches ask, whatever they send). */
  async function allow(flow: Flow, address: string, ip: ClientIp): Promise<boolean> {
    if (!throttle) return true;
    if (await throttle.allowMessage(address, ip ?? `unbound:${address}`)) return true;
    events?.("message_capped", { client_ip: ip, flow_id: flow.id, reason: flow.kind });
    return false;
  }

  const notice = (flow: Flow, ip: ClientIp, template: string, identityId?: string) =>
    events?.("enumeration_notice_sent", { identity_id: identityId, client_ip: ip, flow_id: flow.id, reason: template });

  /**
   * The unknown branch without `notify_unknown_recipients`: renders and writes the notice like a real one and deletes
   * it in the same transaction, so nothing is sent but the answer costs what the known branch's message costs
   * (rendering and one outbox write); no other transaction ever sees the row.
   */
  async function shadow(trx: Q, msg: Parameters<typeof courier.enqueue>[1]): Promise<void> {
    const id = await courier.enqueue(trx, msg);
    await trx.deleteFrom("courier_messages").where("id", "=", id).execute();
  }

  /** Throttle key of a code kind's guesses for one address (separate from the login identifier's counter). */
  const guessKey = (kind: CodeKind, address: string) => `${kind}_code:${address}`;

  /**
   * `sendVerificationFor` in two steps, for a caller's transaction (a registration writes it with the identity):
   * the message cap is asked now (unless `allowed` carries the decision already taken for this message), `write`
   * stores the code row, the message and the address's `sent` status with the caller's `q`, `done` logs the notice
   * after the commit.
   */
  async function prepareVerificationFor(flow: Flow, method: CodeMethod, identity: Identity, address: { id: string; value: string }, ip: ClientIp, allowed?: boolean) {
    const secret = method === "code" ? newCode(CODE_DIGITS.verification) : newLinkToken();
    // A registration stand-in: the row cannot be redeemed (no identity), the owner is told instead; the address
    // update touches no row (the stand-in's address id exists nowhere) but costs the same statement.
    const standIn = standInNotice(identity);
    const recipient = standIn?.recipient ?? address.value;
    const ok = allowed ?? (await allow(flow, recipient, ip));
    return {
      allowed: ok,
      async write(trx: Q): Promise<void> {
        await codes.issue(trx, { flowId: flow.id, kind: "verification", method, secret, identityId: standIn ? null : identity.id, address: address.value, addressId: standIn ? null : address.id });
        if (ok && standIn) await courier.enqueue(trx, { template_type: "registration_attempt", recipient, data: { to: recipient } });
        else if (ok) await courier.enqueue(trx, verificationMessage(flow, method, address.value, secret, identity));
        await addresses.markSent(address.id, deps.clock.now(), trx, standIn ? undefined : identity.id);
      },
      done(): void {
        if (ok && standIn) notice(flow, ip, "registration_attempt");
      },
    };
  }

  return {
    /** Recovery by email: a code (`recovery_code`) or link (`recovery`); unknown: `recovery_unknown` if configured. */
    async sendRecovery(flow: Flow, method: CodeMethod, email: string, ip: ClientIp): Promise<void> {
      const addr = await addresses.findRecovery(email);
      const identity = await loadIdentity(addr?.identity_id);
      const known = addr !== undefined && identity !== undefined;
      const secret = method === "code" ? newCode(CODE_DIGITS.recovery) : newLinkToken();
      const allowed = await allow(flow, email, ip);
      events?.("recovery_requested", { identity_id: known ? identity.id : undefined, client_ip: ip, flow_id: flow.id, method });
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "recovery", method, secret, identityId: known ? identity.id : null, address: email, addressId: addr?.id ?? null });
        if (!allowed) return;
        if (known) {
          const data: Record<string, unknown> = { to: email, identity: identityData(identity) };
          if (method === "code") data.recovery_code = secret;
          else data.recovery_url = url("recovery", flow.id, "token", secret);
          await courier.enqueue(trx, { template_type: method === "code" ? "recovery_code" : "recovery", recipient: email, data });
        } else if (flowsCfg.recovery.notify_unknown_recipients) {
          await courier.enqueue(trx, { template_type: "recovery_unknown", recipient: email, data: { to: email } });
          notice(flow, ip, "recovery_unknown");
        } else await shadow(trx, { template_type: "recovery_unknown", recipient: email, data: { to: email } });
      });
    },

    /** Verification by email: a code (`verification_code`, with a link carrying it) or a link (`verification`). */
    async sendVerification(flow: Flow, method: CodeMethod, email: string, ip: ClientIp): Promise<void> {
      const addr = await addresses.findVerifiable(email);
      const identity = await loadIdentity(addr?.identity_id);
      const known = addr !== undefined && identity !== undefined;
      const secret = method === "code" ? newCode(CODE_DIGITS.verification) : newLinkToken();
      const allowed = await allow(flow, email, ip);
      events?.("verification_requested", { identity_id: known ? identity.id : undefined, client_ip: ip, flow_id: flow.id, method });
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "verification", method, secret, identityId: known ? identity.id : null, address: email, addressId: addr?.id ?? null });
        if (!allowed) return;
        if (known) {
          await courier.enqueue(trx, verificationMessage(flow, method, email, secret, identity));
          await addresses.markSent(addr.id, deps.clock.now(), trx, addr.identity_id);
        } else if (flowsCfg.verification.notify_unknown_recipients) {
          await courier.enqueue(trx, { template_type: "verification_unknown", recipient: email, data: { to: email } });
          notice(flow, ip, "verification_unknown");
        } else {
          // Nobody is told. The message a known address gets (its template, a code, a link, identity data of the same
          // shape) is rendered, written and deleted in its place, as the known branch writes it and updates the address:
          // two statements and one rendering each (a `verification_unknown` notice renders less and answered faster).
          await shadow(trx, verificationMessage(flow, method, email, secret, { id: newId(), traits: { email }, metadata_public: null }));
        }
      });
    },

    /** Verification of a known address of a known identity (after registration, `require_verified_address`). */
    async sendVerificationFor(flow: Flow, method: CodeMethod, identity: Identity, address: { id: string; value: string }, ip: ClientIp): Promise<void> {
      const prepared = await prepareVerificationFor(flow, method, identity, address, ip);
      await database.db.transaction().execute((trx) => prepared.write(trx));
      prepared.done();
    },

    prepareVerificationFor,

    /**
     * Code login. `identity` is the owner of the submitted identifier (or undefined). Unknown addresses get a row too
     * and, with enumeration mitigation on, a `login_unknown` notice.
     */
    async sendLogin(flow: Flow, address: string, identity: Identity | undefined, ip: ClientIp): Promise<void> {
      const secret = newCode(CODE_DIGITS.login);
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "login", method: "code", secret, identityId: identity?.id ?? null, address });
        if (identity) await courier.enqueue(trx, { template_type: "login_code", recipient: address, data: { to: address, login_code: secret, identity: identityData(identity) } });
        else if (config.security.account_enumeration.mitigate) {
          await courier.enqueue(trx, { template_type: "login_unknown", recipient: address, data: { to: address } });
          notice(flow, ip, "login_unknown");
        }
      });
    },

    /**
     * Code registration. A free address gets the code; an address that already has an account gets a
     * `registration_attempt` notice instead (mitigation on), so the answer cannot tell them apart and nobody can
     * finish the registration. The row of a free address carries the pseudo identity id "registration".
     */
    async sendRegistration(flow: Flow, address: string, taken: boolean, traits: Record<string, unknown>, ip: ClientIp): Promise<void> {
      const secret = newCode(CODE_DIGITS.registration);
      await database.db.transaction().execute(async (trx) => {
        await codes.issue(trx, { flowId: flow.id, kind: "registration", method: "code", secret, identityId: taken ? null : REGISTRATION_PSEUDO_ID, address });
        if (!taken) await courier.enqueue(trx, { template_type: "registration_code", recipient: address, data: { to: address, registration_code: secret, traits } });
        else {
          await courier.enqueue(trx, { template_type: "registration_attempt", recipient: address, data: { to: address } });
          notice(flow, ip, "registration_attempt");
        }
      });
    },

    /** `recovery_used`: tells the account's address that it was just recovered. */
    async notifyRecovered(q: Q, address: string, identity: Identity): Promise<void> {
      await courier.enqueue(q, { template_type: "recovery_used", recipient: address, data: { to: address, identity: identityData(identity) } });
    },

    recoveryLinkUrl: (flowId: string, token: string) => url("recovery", flowId, "token", token),

    /**
     * Before redeeming a `kind` code sent to `address`: throws the 429 `FlowValidationError` (4990001/4990002,
     * Retry-After) while that address's guesses are throttled. Never looks an account up.
     */
    async checkGuess(flow: Flow, kind: CodeKind, address: string, ip: ClientIp): Promise<void> {
      if (!throttle) return;
      try {
        await throttle.check(guessKey(kind, address), ip ?? `unbound:${address}`);
      } catch (e) {
        const message = throttleUiMessage(e);
        if (!message || !isThrottleError(e)) throw e;
        events?.("code_throttled", { client_ip: ip, flow_id: flow.id, reason: kind });
        throw new FlowValidationError({ form: [message], status: e.code, headers: e.headers });
      }
    },

    /** After a wrong `kind` code for `address` (also counted against the flow's `max_submissions`). */
    async guessFailed(flow: Flow, kind: CodeKind, address: string, ip: ClientIp): Promise<void> {
      events?.("code_failed", { client_ip: ip, flow_id: flow.id, reason: kind });
      await throttle?.failed(guessKey(kind, address), ip ?? `unbound:${address}`, { flow_id: flow.id });
    },

    /** After a correct `kind` code for `address`: its guess counter starts over. */
    async guessSucceeded(kind: CodeKind, address: string): Promise<void> {
      await throttle?.succeeded(guessKey(kind, address));
    },

    /**
     * Forgets every throttle of these identifiers (a completed recovery proves the owner is back): the password
     * counter and each code-guess counter (`<kind>_code:<identifier>`).
     */
    async clearThrottle(identifiers: readonly string[]): Promise<void> {
      await clearAllForIdentifier(throttle, new Set(identifiers));
    },

    events,
  };

  function verificationMessage(flow: Flow, method: CodeMethod, email: string, secret: string, identity: IdentityData) {
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
