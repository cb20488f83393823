/**
 * What follows a stored settings change (Kratos `settings/hook.go` and the configured after-hooks):
 * - `selfservice.flows.settings.after.password.hooks: [{hook: revoke_active_sessions}]`: every other session of the
 *   identity is revoked (the one that made the change stays), with one `session_revoked` security event;
 * - the strategy's notices (`password_changed`, `registration_attempt`) are queued through the courier;
 * - each new unverified address gets its verification started: through the verification flow's `AddressVerifier`
 *   when wired, else a `verification` message linking to the verification flow (so the address still receives one);
 * - `after.profile.hooks: [{hook: show_verification_ui}]`: a `show_verification_ui` entry in `continue_with` when the
 *   verifier answered with a flow, only with `security.account_enumeration.mitigate: false` (see docs/settings.md).
 *
 * Messages are never dropped silently. The identity service stores the change in a transaction of its own (it takes
 * no caller transaction), so a message cannot commit with it; instead each enqueue is retried on transient lock
 * errors, and what still cannot be queued is kept on the flow (`flow.internal.pending_messages`) and the submit
 * answers 400 with the flow and 4991001 ("saved, but the email could not be sent yet; submit again"), never a 5xx.
 * The next submit of that flow queues the kept messages first (`flushPendingMessages`), so submitting again is the
 * retry. A process crash between the change and the enqueue still loses the message (docs/settings.md).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely, Transaction } from "kysely";
import type { Config, HookConfig } from "../../config/config.ts";
import type { Identity, VerifiableAddress } from "../../identity/identity.ts";
import type { DB } from "../../persistence/schema.ts";
import { retryOnLockError } from "../../persistence/retry.ts";
import type { SettingsNotice, SettingsResult } from "../../strategies/strategy.ts";
import { FlowValidationError } from "../errors.ts";
import type { Flow } from "../flow.ts";
import { createSecurityEvents } from "../../security/events.ts";
import { messagesNotQueued } from "./errors.ts";
import { markStandIn, standInNotice } from "../registration/enumeration.ts";

/** The slice of the courier the settings flow uses (`src/courier/courier.ts`). */
export interface CourierPort {
  enqueue(q: Kysely<DB> | Transaction<DB>, msg: { template_type: string; recipient: string; data: Record<string, unknown> }): Promise<string>;
}

/**
 * Starts the verification of a new address (implemented by the verification flow): creates a verification flow of the
 * settings flow's type, stores a code and queues `verification_code`. Returns Kratos's `show_verification_ui`
 * `continue_with` entry, or undefined when verification is off.
 */
export interface AddressVerifier {
  start(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, address: VerifiableAddress): Promise<Record<string, unknown> | undefined>;
}

export interface SettingsHookDeps {
  config: Config;
  db: Kysely<DB>;
  publicBaseUrl: string;
  revokeAllForIdentity(identityId: string, exceptSessionId?: string): Promise<number>;
  courier?: CourierPort;
  verifier?: AddressVerifier;
}

/** `flow.internal` key of the messages a stored change still owes (see the module comment). */
export const PENDING_MESSAGES = "pending_messages";

interface Pending {
  notices: SettingsNotice[];
  verify: VerifiableAddress[];
}

/** The submit answer while messages are owed: 400 with the flow and 4991001. */
export class MessagesNotQueuedError extends FlowValidationError {
  constructor() {
    super({ form: [messagesNotQueued()] });
    this.name = "MessagesNotQueuedError";
  }
}

/** How often one enqueue is retried on a transient lock error (SQLITE_BUSY, deadlocks) before it counts as failed. */
const ENQUEUE_RETRIES = 3;

export function hooksFor(config: Config, method: string): readonly HookConfig[] {
  const after = config.selfservice.flows.settings.after as unknown as Record<string, { hooks?: HookConfig[] } | undefined>;
  return after[method]?.hooks ?? [];
}

const isEmpty = (p: Pending): boolean => p.notices.length === 0 && p.verify.length === 0;

/** Queues notices and starts verifications; returns what failed and the verification flows started. */
async function deliver(
  deps: SettingsHookDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  flow: Flow,
  identity: Identity,
  work: Pending,
): Promise<{ failed: Pending; started: Array<Record<string, unknown>> }> {
  const failed: Pending = { notices: [], verify: [] };
  const started: Array<Record<string, unknown>> = [];
  const queue = async (msg: SettingsNotice): Promise<void> => {
    if (!deps.courier) {
      req.log.warn({ template_type: msg.template_type }, "settings: no courier wired, message not queued");
      return;
    }
    const courier = deps.courier;
    try {
      await retryOnLockError(() => courier.enqueue(deps.db, msg), ENQUEUE_RETRIES);
    } catch (err) {
      req.log.error({ err, template_type: msg.template_type, flow_id: flow.id }, "settings: could not queue a message; kept on the flow for the next submit");
      failed.notices.push(msg);
    }
  };
  for (const n of work.notices) await queue(n);
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  for (const address of work.verify) {
    if (deps.verifier) {
      try {
        const s = await deps.verifier.start(req, reply, flow, identity, address);
        if (s) started.push(s);
      } catch (err) {
        req.log.error({ err, flow_id: flow.id }, "settings: could not start the verification of a changed address; kept on the flow for the next submit");
        failed.verify.push(address);
      }
    } else if (address.via === "email") {
      await queue({ template_type: "verification", recipient: address.value, data: { verification_url: `${base}self-service/verification/browser` } });
    }
  }
  return { failed, started };
}

/** Runs the after-change work; returns the `continue_with` entries it produced. Throws `MessagesNotQueuedError`. */
export async function runSettingsHooks(
  deps: SettingsHookDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  o: { flow: Flow; method: string; sessionId: string; result: SettingsResult },
): Promise<Array<Record<string, unknown>>> {
  const hooks = hooksFor(deps.config, o.method).map((h) => h.hook);
  const { identity } = o.result;
  // Security events (one log line each; no address, no secret).
  const events = createSecurityEvents(req.log);
  const fields = { identity_id: identity.id, client_ip: req.ip, flow_id: o.flow.id, method: o.method };
  if (hooks.includes("revoke_active_sessions")) {
    const revoked = await deps.revokeAllForIdentity(identity.id, o.sessionId);
    if (revoked > 0) events("session_revoked", { ...fields, reason: "revoke_active_sessions" });
  }

  const { failed, started } = await deliver(deps, req, reply, o.flow, identity, { notices: o.result.notices, verify: o.result.verify });
  if (o.method === "password") events("password_changed", fields);
  for (const n of o.result.notices) {
    if (n.template_type === "registration_attempt" && !failed.notices.includes(n)) events("enumeration_notice_sent", { ...fields, reason: n.template_type });
  }
  // With enumeration mitigation the entry is left out: a change to a taken address starts no verification, and the
  // two answers must not differ.
  const continueWith = hooks.includes("show_verification_ui") && !deps.config.security.account_enumeration.mitigate ? started : [];
  if (!isEmpty(failed)) {
    o.flow.internal[PENDING_MESSAGES] = failed;
    throw new MessagesNotQueuedError();
  }
  return continueWith;
}

function pendingOf(flow: Flow): Pending | undefined {
  const p = flow.internal[PENDING_MESSAGES] as Partial<Pending> | undefined;
  if (!p || typeof p !== "object") return undefined;
  return { notices: Array.isArray(p.notices) ? p.notices : [], verify: Array.isArray(p.verify) ? p.verify : [] };
}

/**
 * Before a submit of `flow`: queues the messages an earlier submit of it stored a change for but could not queue.
 * Resolves true when it queued some (the caller stores the flow at once, so they are never queued twice), false when
 * none were owed; throws `MessagesNotQueuedError` (with the flow still owing what failed) when they fail again.
 * A verification is only started again for an address the identity still has, unverified.
 */
export async function flushPendingMessages(deps: SettingsHookDeps, req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity): Promise<boolean> {
  const pending = pendingOf(flow);
  if (!pending) return false;
  const verify = pending.verify
    .map((a) => identity.verifiable_addresses.find((x) => x.via === a.via && x.value === a.value))
    .filter((a): a is VerifiableAddress => a !== undefined && !a.verified);
  const { failed } = await deliver(deps, req, reply, flow, identity, { notices: pending.notices, verify });
  if (!isEmpty(failed)) {
    flow.internal[PENDING_MESSAGES] = failed;
    throw new MessagesNotQueuedError();
  }
  delete flow.internal[PENDING_MESSAGES];
  return true;
}

/**
 * An `AddressVerifier` over the verification flow's hooks: `afterRegistration` starts one verification per unverified
 * address of the identity it is given, so it is handed the identity with just the changed address.
 */
export function verifierFromHooks(hooks: {
  afterRegistration(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity): Promise<Record<string, unknown>[]>;
}): AddressVerifier {
  return {
    async start(req, reply, flow, identity, address) {
      const one = { ...identity, verifiable_addresses: [address] };
      // A stand-in (a change to a taken address, profile-strategy.ts) stays one through the copy.
      const standIn = standInNotice(identity);
      if (standIn) markStandIn(one, standIn.recipient);
      const started = await hooks.afterRegistration(req, reply, flow, one);
      return started[0];
    },
  };
}
