/**
 * Verification as a consequence of other flows:
 * - `afterRegistration`: every unverified verifiable address of a new identity gets a verification flow (same type as
 *   the registration flow, state `sent_email`) and a message; the answer carries one `show_verification_ui` per flow
 *   (`{action, flow: {id, verifiable_address, url}}`, Kratos's shape). `prepareRegistration` does the same in two
 *   steps so that the flows, codes and messages are written in the identity's own insert transaction;
 * - `requireVerified` (login hook `require_verified_address`, Kratos 25.4+ behaviour): an identity without any
 *   verified address gets no session; a verification flow is started for its first address and the login answers
 *   403 `session_verified_address_required` with `details.continue_with` (JSON) or a 303 to that flow (forms).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Transaction } from "kysely";
import type { Logger } from "pino";
import type { DB } from "../../persistence/schema.ts";
import { registrationMitigated } from "../registration/enumeration.ts";
import type { Identity } from "../../identity/identity.ts";
import { AppError } from "../../util/app-error.ts";
import type { PreparedMessage, VerificationStrategy } from "../../strategies/strategy.ts";
import type { FlowDeps } from "../deps.ts";
import { withParam, type FlowEngine } from "../engine.ts";
import type { Flow, FlowType } from "../flow.ts";

/** A registration's verification, prepared for a transaction (`VerificationHooks.prepareRegistration`). */
export interface RegistrationVerification {
  /** `show_verification_ui` entries for the registration answer. */
  readonly continueWith: Record<string, unknown>[];
  /** The verification flows (not stored yet), per address value, with the message-cap decision taken for each. */
  readonly entries: ReadonlyArray<{ address: string; flow: Flow; allowed: boolean }>;
  /** Stores the verification flows, their codes and messages and the addresses' `sent` status with `trx`. */
  write(trx: Transaction<DB>): Promise<void>;
  /** After the commit: logs the notices that went out. */
  done(): void;
}

export interface VerificationHooks {
  /** `show_verification_ui` entries for the registration answer ([] when verification is off or nothing to verify). */
  afterRegistration(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity): Promise<Record<string, unknown>[]>;
  /**
   * `afterRegistration` in two steps: builds the verification flows (in memory) and asks the message caps now, before
   * any transaction; `write` stores everything in the caller's transaction (the identity's insert). With `previous`
   * (a duplicate's stand-in after the insert of the would-be identity failed), its flows and cap decisions are
   * reused, so a duplicate does the same work and sets the same cookies as a new registration.
   */
  prepareRegistration(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, previous?: RegistrationVerification): Promise<RegistrationVerification>;
  /** undefined when the identity may sign in; else the error to answer with and the verification UI URL. */
  requireVerified(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity): Promise<{ error: AppError; url: string } | undefined>;
  /**
   * Whether a correct password login must be held back because enumeration-safe registration is on, none of the
   * identity's addresses is verified and one waits on a verification message (status `sent`): undefined when not,
   * else the task to run once the answer is sent (so the answer costs what a wrong password costs). The task sends a
   * verification message (with its link) to the first such address, subject to the message caps, through a flow
   * bound to no browser; the login's answer stays that of a wrong password, headers and cookies included.
   */
  holdUnverifiedLogin(req: FastifyRequest, identity: Identity): (() => Promise<void>) | undefined;
}

/** The out-of-band verification message of a held login goes out this long after the answer (plus jitter). */
export const HELD_NOTICE_DELAY_MS = 100;
const HELD_NOTICE_JITTER_MS = 500;

export const addressNotVerifiedError = (continueWith: Record<string, unknown>[]): AppError =>
  new AppError({
    id: "session_verified_address_required",
    code: 403,
    message: "your email or phone address is not yet verified",
    reason: "Your account's email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.",
    details: { continue_with: continueWith },
  });

export function createVerificationHooks(deps: Pick<FlowDeps, "config" | "flows"> & { logger?: Pick<Logger, "warn"> } & { engine: FlowEngine; strategies: readonly VerificationStrategy[] }): VerificationHooks {
  const { config, engine, flows } = deps;
  const cfg = config.selfservice.flows.verification;
  const strategy = deps.strategies.find((s) => s.id === cfg.use);

  /** `ip`: the client IP of the request the message belongs to (message caps, security events). */
  async function start(req: FastifyRequest, reply: FastifyReply | undefined, ip: string | undefined, type: FlowType, returnTo: string | undefined, identity: Identity, address: { id: string; value: string }) {
    if (!strategy) throw new Error("unreachable: no verification strategy");
    // Without a reply the flow is out of band: bound to no browser, no cookie set.
    const vf = await engine.create("verification", type, req, reply, { returnTo, populate: (f) => strategy.populateVerification(f) });
    // `sendFor` moves the new flow to `sent_email` (code entry form): store that form.
    await strategy.sendFor(vf, identity, address, ip);
    await flows.update(vf);
    const url = withParam(cfg.ui_url, "flow", vf.id);
    return { flow: vf, url, continueWith: { action: "show_verification_ui", flow: { id: vf.id, verifiable_address: address.value, url } } };
  }

  const continueWithFor = (vf: Flow, address: string) => ({
    action: "show_verification_ui",
    flow: { id: vf.id, verifiable_address: address, url: withParam(cfg.ui_url, "flow", vf.id) },
  });

  async function prepareRegistration(req: FastifyRequest, reply: FastifyReply, flow: Flow, identity: Identity, previous?: RegistrationVerification): Promise<RegistrationVerification> {
    const entries: { address: string; flow: Flow; allowed: boolean }[] = [];
    const messages: { flow: Flow; message: PreparedMessage }[] = [];
    if (cfg.enabled && strategy) {
      const reusable = [...(previous?.entries ?? [])];
      for (const a of identity.verifiable_addresses) {
        if (a.verified || a.via !== "email") continue;
        const i = reusable.findIndex((e) => e.address === a.value);
        const reused = i >= 0 ? reusable.splice(i, 1)[0] : undefined;
        const vf =
          reused?.flow ??
          (await engine.create("verification", flow.type, req, reply, { returnTo: flow.return_to, store: false, populate: (f) => strategy.populateVerification(f) }));
        // Moves the flow to `sent_email` (code entry form) in memory: stored so by `write`.
        const message = await strategy.prepareFor(vf, identity, a, req.ip, reused?.allowed);
        entries.push({ address: a.value, flow: vf, allowed: message.allowed });
        messages.push({ flow: vf, message });
      }
    }
    return {
      continueWith: entries.map((e) => continueWithFor(e.flow, e.address)),
      entries,
      async write(trx) {
        for (const m of messages) {
          await flows.create(m.flow, trx);
          await m.message.write(trx);
        }
      },
      done() {
        for (const m of messages) m.message.done();
      },
    };
  }

  return {
    async afterRegistration(req, reply, flow, identity) {
      const prepared = await prepareRegistration(req, reply, flow, identity);
      if (prepared.entries.length === 0) return [];
      await flows.transaction((trx) => prepared.write(trx));
      prepared.done();
      return prepared.continueWith;
    },

    prepareRegistration,

    holdUnverifiedLogin(req, identity) {
      if (!registrationMitigated(config, identity.verifiable_addresses)) return undefined;
      if (identity.verifiable_addresses.some((a) => a.verified)) return undefined;
      // Only addresses waiting on a verification message (`sent`: after a self-service registration or a settings
      // change) hold a login; an operator's import or admin create (`pending`) signs in as in Kratos.
      const first = identity.verifiable_addresses.find((a) => a.via === "email" && a.status === "sent");
      if (!first || !strategy) return undefined;
      // Runs after the response: the client IP is read now, while the request is live, and handed to the message
      // caps. A random delay keeps its database work off this request's heels, where a client timing answers could see it.
      const ip = req.ip;
      return async () => {
        await new Promise((r) => setTimeout(r, HELD_NOTICE_DELAY_MS + Math.random() * HELD_NOTICE_JITTER_MS));
        try {
          await start(req, undefined, ip, "browser", undefined, identity, first);
        } catch (e) {
          // The owner can still ask for a verification message themselves.
          deps.logger?.warn({ err: (e as Error).message, identity_id: identity.id }, "verification notice for a held login failed");
        }
      };
    },

    async requireVerified(req, reply, flow, identity) {
      if (identity.verifiable_addresses.some((a) => a.verified)) return undefined;
      const first = identity.verifiable_addresses.find((a) => a.via === "email");
      if (!first || !cfg.enabled || !strategy) return { error: addressNotVerifiedError([]), url: cfg.ui_url };
      const started = await start(req, reply, req.ip, flow.type, flow.return_to, identity, first);
      return { error: addressNotVerifiedError([started.continueWith]), url: started.url };
    },
  };
}
