/**
 * The small interfaces strategies implement. A strategy is a plain object; the flow engine walks the ordered list in
 * `strategies/index.ts` and asks the one whose `id` equals the submitted `method`. Optional capabilities are optional
 * members; implementations are checked with `satisfies`.
 */
import type { FastifyRequest } from "fastify";
import type { Flow } from "../flow/flow.ts";
import type { Body } from "../flow/body.ts";
import type { Identity } from "../identity/identity.ts";

export interface SubmitContext {
  req: FastifyRequest;
  flow: Flow;
  /** The submitted body, nested (`traits.email` -> `{traits: {email}}`). */
  body: Body;
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
