/**
 * What follows a stored settings change (Kratos `settings/hook.go` and the configured after-hooks):
 * - `selfservice.flows.settings.after.password.hooks: [{hook: revoke_active_sessions}]`: every other session of the
 *   identity is revoked (the one that made the change stays);
 * - the strategy's notices (`password_changed`, `registration_attempt`) are queued through the courier;
 * - each new unverified address gets its verification started: through the verification flow's `AddressVerifier`
 *   when wired, else a `verification` message linking to the verification flow (so the address still receives one);
 * - `after.profile.hooks: [{hook: show_verification_ui}]`: a `show_verification_ui` entry in `continue_with` when the
 *   verifier answered with a flow, only with `security.account_enumeration.mitigate: false` (see docs/settings.md).
 * Message failures are logged and never undo or fail the change the user already made.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely, Transaction } from "kysely";
import type { Config, HookConfig } from "../../config/config.ts";
import type { Identity, VerifiableAddress } from "../../identity/identity.ts";
import type { DB } from "../../persistence/schema.ts";
import type { SettingsResult } from "../../strategies/strategy.ts";
import type { Flow } from "../flow.ts";
import { createSecurityEvents } from "../../security/events.ts";

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

export function hooksFor(config: Config, method: string): readonly HookConfig[] {
  const after = config.selfservice.flows.settings.after as unknown as Record<string, { hooks?: HookConfig[] } | undefined>;
  return after[method]?.hooks ?? [];
}

/** Runs the after-change work; returns the `continue_with` entries it produced. */
export async function runSettingsHooks(
  deps: SettingsHookDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  o: { flow: Flow; method: string; sessionId: string; result: SettingsResult },
): Promise<Array<Record<string, unknown>>> {
  const hooks = hooksFor(deps.config, o.method).map((h) => h.hook);
  const { identity } = o.result;
  if (hooks.includes("revoke_active_sessions")) await deps.revokeAllForIdentity(identity.id, o.sessionId);

  const queue = async (msg: { template_type: string; recipient: string; data: Record<string, unknown> }): Promise<void> => {
    if (!deps.courier) {
      req.log.warn({ template_type: msg.template_type }, "settings: no courier wired, message not queued");
      return;
    }
    try {
      await deps.courier.enqueue(deps.db, msg);
    } catch (err) {
      req.log.error({ err, template_type: msg.template_type }, "settings: could not queue a message");
    }
  };
  for (const n of o.result.notices) await queue(n);
  // Security events (one log line each; no address, no secret).
  const events = createSecurityEvents(req.log);
  const fields = { identity_id: identity.id, client_ip: req.ip, flow_id: o.flow.id, method: o.method };
  if (o.method === "password") events("password_changed", fields);
  for (const n of o.result.notices) if (n.template_type === "registration_attempt") events("enumeration_notice_sent", { ...fields, reason: n.template_type });

  const continueWith: Array<Record<string, unknown>> = [];
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  for (const address of o.result.verify) {
    if (deps.verifier) {
      try {
        const started = await deps.verifier.start(req, reply, o.flow, identity, address);
        // With enumeration mitigation the entry is left out: a change to a taken address starts no verification,
        // and the two answers must not differ.
        if (started && hooks.includes("show_verification_ui") && !deps.config.security.account_enumeration.mitigate) continueWith.push(started);
      } catch (err) {
        req.log.error({ err }, "settings: could not start the verification of a changed address");
      }
    } else if (address.via === "email") {
      await queue({ template_type: "verification", recipient: address.value, data: { verification_url: `${base}self-service/verification/browser` } });
    }
  }
  return continueWith;
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
      const started = await hooks.afterRegistration(req, reply, flow, { ...identity, verifiable_addresses: [address] });
      return started[0];
    },
  };
}
