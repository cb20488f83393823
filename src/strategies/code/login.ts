/**
 * Passwordless login with a one-time code by email (`selfservice.methods.code.passwordless_enabled`), Kratos's
 * `strategy/code/strategy_login.go` on the wire:
 * - choose_method: `{method: "code", identifier}` queues a code and answers the flow in state `sent_email` with
 *   1010014 (400 JSON / 303 to the UI, as Kratos). With `security.account_enumeration.mitigate` (default on) an
 *   address without an account gets exactly the same answer after the same database work (one identifier lookup, one
 *   transaction writing a code row and one message): the message is `login_unknown` instead of `login_code`, and the
 *   row can never be redeemed. With mitigation off, an unknown address answers 4000035 as Kratos does;
 * - sent_email: `{method: "code", code}` redeems the flow's code (the address stored on the flow is authoritative; a
 *   submitted `identifier` is not needed and not trusted). Wrong, expired, spent, unknown-branch or foreign codes
 *   answer 4010008 and count against `max_submissions` and the address's brute-force throttle. A right code marks
 *   the address verified and signs in (`identity_disabled` for an inactive identity, only after a right code);
 * - `resend=code` in either state sends a new code (the old one stops working); the failure count is kept. Sends
 *   count against `security.brute_force.messages` (per address and per IP): over the cap the answer is unchanged
 *   and nothing is sent.
 * Email only: the identifier must be an email address (SMS is not supported).
 */
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { IdentitySchemaRegistry } from "../../identity/schema/registry.ts";
import { FlowValidationError, identityDisabled } from "../../flow/errors.ts";
import type { Flow } from "../../flow/flow.ts";
import { loginCodeInvalidOrUsed, loginCodeSent, noCodeUser, noStrategyFound } from "../../ui/messages.ts";
import type { Clock } from "../../util/clock.ts";
import type { LoginStrategy, SubmitContext } from "../strategy.ts";
import type { AddressStore } from "./addresses.ts";
import { readEmail } from "./input.ts";
import type { Sender } from "./sender.ts";
import { submittedTooOften } from "./code-flows.ts";
import { CodeSent, redeemGuarded, wantsResend, type GuardDeps } from "./passwordless/guard.ts";
import { loginSentForm, populateLoginChoose } from "./passwordless/nodes.ts";

export interface CodeLoginDeps extends GuardDeps {
  config: Config;
  clock: Clock;
  repo: IdentityRepo;
  schemas: IdentitySchemaRegistry;
  sender: Sender;
  addresses: AddressStore;
}

/** What the code login keeps on the flow (`flow.internal.code`): the address the current code was sent to. */
interface LoginState {
  address: string;
}

const stateOf = (flow: Flow): LoginState | undefined => {
  const s = flow.internal.code as Partial<LoginState> | undefined;
  return s && typeof s.address === "string" ? { address: s.address } : undefined;
};

export function createCodeLogin(deps: CodeLoginDeps) {
  const { config, clock, repo, schemas, sender, addresses, codes, events } = deps;
  // Passwordless login is a first factor: it solves aal1 only (aal2 belongs to `mfa_enabled`, not built here).
  const allowMessage = async (address: string, ip: string): Promise<boolean> => (deps.throttle ? deps.throttle.allowMessage(address, ip) : true);
  const solves = (flow: Flow): boolean => (flow.internal.requested_aal ?? "aal1") === "aal1";

  async function send(flow: Flow, body: Record<string, unknown>, ip: string): Promise<never> {
    const address = readEmail(body, "identifier");
    // One lookup on both branches: the identifier index, then the identity row, whatever the outcome.
    const identity = await repo.findByCredentialIdentifier("code", address);
    if (!identity && !config.security.account_enumeration.mitigate) throw new FlowValidationError({ form: [noCodeUser()] });
    // Over the per-address / per-IP message cap the answer stays the same and nothing is sent (the earlier code,
    // if any, keeps working). The cap never looks at the account, so both branches behave alike.
    if (await allowMessage(address, ip)) await sender.sendLogin(flow, address, identity, ip);
    flow.internal.code = { address } satisfies LoginState;
    flow.state = "sent_email";
    flow.active = "code";
    loginSentForm(flow, address);
    throw new CodeSent(loginCodeSent());
  }

  return {
    id: "code",

    populateLogin(flow: Flow) {
      if (solves(flow)) populateLoginChoose(flow, schemas.get(schemas.defaultId));
    },

    async login({ req, flow, body }: SubmitContext) {
      if (!solves(flow)) throw new FlowValidationError({ form: [noStrategyFound("login")] });
      const state = stateOf(flow);
      // A flow that used up its wrong-code allowance stays refused, resend or not.
      if (await codes.exhausted(flow)) throw submittedTooOften();
      if (flow.state !== "sent_email" || !state || wantsResend(body)) return send(flow, body, req.ip);
      const row = await redeemGuarded(deps, { flow, kind: "login", address: state.address, ip: req.ip, body, invalid: loginCodeInvalidOrUsed() });
      // The code proves control of the address: mark it verified before loading the identity the session shows.
      if (row.address) await addresses.markVerifiedByValue(row.identity_id, row.address, clock.now());
      const identity = await repo.get(row.identity_id);
      if (!identity) throw new FlowValidationError({ form: [loginCodeInvalidOrUsed()] });
      if (identity.state !== "active") throw identityDisabled();
      events?.("login_succeeded", { identity_id: identity.id, client_ip: req.ip, flow_id: flow.id, method: "code" });
      return { identity };
    },
  } satisfies LoginStrategy;
}

export type CodeLogin = ReturnType<typeof createCodeLogin>;
