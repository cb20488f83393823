/**
 * What follows a stored settings change (Kratos `settings/hook.go` and the configured after-hooks):
 * - `selfservice.flows.settings.after.password.hooks: [{hook: revoke_active_sessions}]`: every other session of the
 *   identity is revoked (the one that made the change stays);
 * - the strategy's notices (`password_changed`, `registration_attempt`) are queued through the courier;
 * - each new unverified address gets its verification started: through the verification flow's `AddressVerifier`
 *   when wired, else a `verification` message linking to the verification flow (so the address still receives one);
 * - `after.profile.hooks: [{hook: show_verification_ui}]`: a `show_verification_ui` entry in `continue_with` when the
 *   verifier answered with a flow.
 * Message failures are logged and never undo or fail the change the user already made.
 */
import type { FastifyRequest } from "fastify";
import type { Kysely, Transaction } from "kysely";
import type { Config, HookConfig } from "../../config/config.ts";
import type { Identity, VerifiableAddress } from "../../identity/identity.ts";
import type { DB } from "../../persistence/schema.ts";
import type { SettingsResult } from "../../strategies/strategy.ts";

/** The slice of the courier the settings flow uses (`src/courier/courier.ts`). */
export interface CourierPort {
  enqueue(q: Kysely<DB> | Transaction<DB>, msg: { template_type: string; recipient: string; data: Record<string, unknown> }): Promise<string>;
}

/**
 * Starts the verification of a new address (implemented by the verification flow): creates its flow, stores a code and
 * queues `verification_code` with `q`. Returns the verification flow, if one was created, for `continue_with`.
 */
export interface AddressVerifier {
  start(q: Kysely<DB>, req: FastifyRequest, identity: Identity, address: VerifiableAddress): Promise<{ flow_id: string; url?: string } | undefined>;
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
  o: { method: string; sessionId: string; result: SettingsResult },
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

  const continueWith: Array<Record<string, unknown>> = [];
  const base = deps.publicBaseUrl.endsWith("/") ? deps.publicBaseUrl : `${deps.publicBaseUrl}/`;
  for (const address of o.result.verify) {
    if (deps.verifier) {
      try {
        const started = await deps.verifier.start(deps.db, req, identity, address);
        if (started && hooks.includes("show_verification_ui")) {
          continueWith.push({ action: "show_verification_ui", flow: { id: started.flow_id, verifiable_address: address.value, ...(started.url ? { url: started.url } : {}) } });
        }
      } catch (err) {
        req.log.error({ err }, "settings: could not start the verification of a changed address");
      }
    } else if (address.via === "email") {
      await queue({ template_type: "verification", recipient: address.value, data: { verification_url: `${base}self-service/verification/browser` } });
    }
  }
  return continueWith;
}
