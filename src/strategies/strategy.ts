/**
 * The small interfaces strategies implement. A strategy is a plain object; the flow engine walks the ordered list in
 * `strategies/index.ts` and asks the one whose `id` equals the submitted `method`. Optional capabilities are optional
 * members; implementations are checked with `satisfies`.
 */
import type { FastifyRequest } from "fastify";
import type { Kysely, Transaction } from "kysely";
import type { Flow } from "../flow/flow.ts";
import type { Body } from "../flow/body.ts";
import type { Identity } from "../identity/identity.ts";
import type { AfterCreate } from "../identity/identity-service.ts";
import type { DB } from "../persistence/schema.ts";

export interface SubmitContext {
  req: FastifyRequest;
  flow: Flow;
  /** The submitted body, nested (`traits.email` -> `{traits: {email}}`). */
  body: Body;
  /**
   * Registration only: what must be written in the new identity's transaction (its verification flow, code and
   * message). A registration strategy passes it to `identities.create(raw, { afterCreate })`.
   */
  afterCreate?: AfterCreate;
}

export interface LoginResult {
  identity: Identity;
  /** Work to run after the response has been sent (e.g. a password rehash); failures are logged, never answered. */
  afterResponse?: () => Promise<void>;
}

export interface LoginStrategy {
  /** The `method` value that selects this strategy ("password"). */
  readonly id: string;
  /** Adds this strategy's nodes to a new login flow (after the CSRF node). */
  populateLogin(flow: Flow): void;
  /**
   * Verifies the submission. Throws `FlowValidationError` for anything the user can fix (wrong credentials, missing
   * fields) and `AppError` for fatal problems. Must take the same time for unknown and known identifiers.
   */
  login(ctx: SubmitContext): Promise<LoginResult>;
}

export interface RegistrationResult {
  identity: Identity;
}

export interface RegistrationStrategy {
  readonly id: string;
  populateRegistration(flow: Flow): void;
  /** Validates and creates the identity. Throws `FlowValidationError` with node messages on invalid input. */
  register(ctx: SubmitContext): Promise<RegistrationResult>;
}

/** What the settings flow knows when a strategy handles a submit: the signed-in identity (with credentials). */
export interface SettingsContext extends SubmitContext {
  /** The identity being changed, loaded with credentials (never the session's trimmed copy). */
  identity: Identity;
  /**
   * Throws `session_refresh_required` when the session is older than `privileged_session_max_age`. Strategies call it
   * before touching anything that needs a recent login (password: always; profile: identifiers and addresses only).
   */
  requirePrivileged(): void;
}

/** A message to queue through the courier once the change is stored (e.g. `password_changed`). */
export interface SettingsNotice {
  template_type: string;
  recipient: string;
  data: Record<string, unknown>;
}

export interface SettingsResult {
  /** The identity as the answer shows it (after the change). */
  identity: Identity;
  /** Messages the flow queues after the change (`password_changed`, `registration_attempt` ...). */
  notices: SettingsNotice[];
  /** New, unverified addresses whose verification the flow starts. */
  verify: Identity["verifiable_addresses"];
}

export interface SettingsStrategy {
  readonly id: string;
  /** Adds this strategy's nodes to a settings flow, pre-filled from `identity` where that makes sense. */
  populateSettings(flow: Flow, identity: Identity): void;
  /**
   * Validates and stores the change. Throws `FlowValidationError` for anything the user can fix, `AppError` for the
   * rest (e.g. `session_refresh_required` through `ctx.requirePrivileged()`).
   */
  settings(ctx: SettingsContext): Promise<SettingsResult>;
}

/** What a recovery submit produced: a message was sent (state `sent_email`), or the identity proved control. */
export type RecoveryOutcome = { status: "sent" } | { status: "recovered"; identity: Identity; address: string | null };

export interface RecoveryStrategy {
  /** "code" or "link"; only the one named by `selfservice.flows.recovery.use` is offered. */
  readonly id: string;
  populateRecovery(flow: Flow): void;
  /**
   * Sends a code / link for `email` (the same answer whether or not the address exists) or redeems a code. Throws
   * `FlowValidationError` for input the user can fix and for wrong codes (after counting them).
   */
  recover(ctx: SubmitContext): Promise<RecoveryOutcome>;
}

export type VerificationOutcome = { status: "sent" } | { status: "verified" };

/**
 * A verification message prepared for a caller's transaction: the message cap was asked (`allowed`) and the flow
 * moved to `sent_email` (in memory); `write` stores the code row, the message (if allowed) and the address's `sent`
 * status with `q`; `done` logs what was sent, after the commit.
 */
export interface PreparedMessage {
  allowed: boolean;
  write(q: Kysely<DB> | Transaction<DB>): Promise<void>;
  done(): void;
}

export interface VerificationStrategy {
  readonly id: string;
  populateVerification(flow: Flow): void;
  /** Sends a code / link for `email` or redeems a code; same contract as `RecoveryStrategy.recover`. */
  verify(ctx: SubmitContext): Promise<VerificationOutcome>;
  /**
   * Sends a message for one known address of `identity` on a new flow (post-registration, `require_verified_address`).
   * `ip` is the client IP of the request it belongs to (message caps, security events); undefined without one.
   */
  sendFor(flow: Flow, identity: Identity, address: { id: string; value: string }, ip: string | undefined): Promise<void>;
  /**
   * `sendFor` in two steps, for a caller's transaction (registration: the identity's insert). The message cap is asked
   * here, before any transaction, unless `allowed` carries the decision already taken for this message.
   */
  prepareFor(flow: Flow, identity: Identity, address: { id: string; value: string }, ip: string | undefined, allowed?: boolean): Promise<PreparedMessage>;
}
