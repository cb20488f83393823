/**
 * The code method for recovery and verification (Kratos `strategy/code/strategy_{recovery,verification}.go`):
 * - a submit with `email` (first send, or the resend button) queues a code and moves the flow to `sent_email` with
 *   1060003 / 1080003, whether or not the address exists;
 * - a submit with `code` on a `sent_email` flow redeems it; a wrong, expired, spent or foreign code answers
 *   4060006 / 4070006 with HTTP 200 and the flow, as Kratos (its code strategy re-renders the flow without an error
 *   status); a malformed code (not decimal digits, over-long) gets the same message with 400; every code submission counts against `max_submissions` (taken before the comparison, so
 *   concurrent guesses all count); once used up, the flow refuses every further submit. A right recovery code is
 *   returned unspent with its `spend` (the handler spends it in the transaction queueing `recovery_used`); a right
 *   verification code is spent in the transaction that marks the address verified;
 * - guesses are also throttled per address across flows (`security.brute_force.identifier`, key `<kind>_code:<address>`):
 *   a throttled guess answers 429 with 4990001/4990002 before the code is compared.
 */
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import { errors, type AppError } from "../../util/app-error.ts";
import { FlowValidationError } from "../../flow/errors.ts";
import type { Flow } from "../../flow/flow.ts";
import { codeInvalidOrUsed, recoveryCodeSent, requiredProperty, submitLabel, verificationCodeSent, continueLabel } from "../../ui/messages.ts";
import type { RecoveryStrategy, SubmitContext, VerificationStrategy } from "../strategy.ts";
import type { AddressStore } from "./addresses.ts";
import type { CodeKind, CodeRow, CodeStore, Q } from "./code-store.ts";
import { present, readCode, readEmail } from "./input.ts";
import { codeEntryNodes, emailNodes } from "./nodes.ts";
import type { ClientIp, Sender } from "./sender.ts";

export interface CodeFlowsDeps {
  codes: CodeStore;
  sender: Sender;
  repo: IdentityRepo;
  addresses: AddressStore;
  clock: { now(): Date };
}

/** The flow used up its wrong-code allowance (Kratos `ErrCodeSubmittedTooOften`). */
export const submittedTooOften = (): AppError => errors.badRequest("The request was submitted too often. Please request another code.");

/**
 * A well-formed code that matches nothing live on the flow (wrong, expired, spent, foreign): 4060006 / 4070006 with
 * HTTP 200, as Kratos answers it (`strategy_recovery.go` / `strategy_verification.go` re-render the flow and return no
 * error). `malformed` (a code that cannot be one) keeps the validation status 400.
 */
export const wrongCode = (kind: "recovery" | "verification", malformed = false): FlowValidationError =>
  new FlowValidationError({ form: [codeInvalidOrUsed(kind)], status: malformed ? 400 : 200 });

/** Keeps the CSRF node (first) and replaces the rest of the form. */
export function replaceNodes(flow: Flow, nodes: Flow["ui"]["nodes"]): void {
  const csrf = flow.ui.nodes.filter((n) => n.attributes.node_type === "input" && n.attributes.name === "csrf_token");
  flow.ui.nodes = [...csrf, ...nodes];
}

/** The address a flow's code went to (kept in `internal` when sending; the key of its guess throttle). */
export const codeAddressOf = (flow: Flow): string => String(flow.internal.code_address ?? `flow:${flow.id}`);
const rememberAddress = (flow: Flow, address: string): void => {
  flow.internal.code_address = address;
};

/**
 * Checks the submitted code on `flow` and returns its live row, NOT spent (the caller spends it, with `codes.spend`,
 * in the transaction of what the code proves), or throws after counting the failure. Every submission takes one of
 * the flow's `max_submissions` before the code is compared (refused once they are used up, concurrent requests
 * included). With `guard`, guesses are also throttled per address (brute-force protection, on top of
 * `max_submissions`): checked before the code is compared, counted after, against the guard's client `ip`.
 */
export async function matchSubmittedCode(
  codes: CodeStore,
  flow: Flow,
  kind: Extract<CodeKind, "recovery" | "verification">,
  body: Record<string, unknown>,
  guard?: { sender: Pick<Sender, "checkGuess" | "guessFailed" | "guessSucceeded">; address: string; ip: ClientIp },
): Promise<CodeRow> {
  if (await codes.exhausted(flow)) throw submittedTooOften();
  const c = readCode(body);
  if (guard) await guard.sender.checkGuess(flow, kind, guard.address, guard.ip);
  if (!(await codes.takeSubmission(flow))) throw submittedTooOften();
  const row = c.ok ? await codes.findCode(flow.id, kind, c.code) : undefined;
  if (row) {
    await guard?.sender.guessSucceeded(kind, guard.address);
    return row;
  }
  await codes.recordFailure(flow, kind);
  await guard?.sender.guessFailed(flow, kind, guard.address, guard.ip);
  throw wrongCode(kind, !c.ok);
}

export function createCodeRecovery(deps: CodeFlowsDeps) {
  const { codes, sender, repo } = deps;
  return {
    id: "code",
    populateRecovery(flow: Flow) {
      flow.ui.nodes.push(...emailNodes("code", undefined, continueLabel()));
    },
    async recover({ req, flow, body }: SubmitContext) {
      if (await codes.exhausted(flow)) throw submittedTooOften();
      if (present(body.email)) {
        const email = readEmail(body);
        await sender.sendRecovery(flow, "code", email, req.ip);
        rememberAddress(flow, email);
        flow.state = "sent_email";
        flow.active = "code";
        replaceNodes(flow, codeEntryNodes("recovery", email));
        flow.ui.messages = [recoveryCodeSent()];
        return { status: "sent" as const };
      }
      if (flow.state !== "sent_email") throw new FlowValidationError({ nodes: { email: [requiredProperty("email")] } });
      const row = await matchSubmittedCode(codes, flow, "recovery", body, { sender, address: codeAddressOf(flow), ip: req.ip });
      const identity = await repo.get(row.identity_id);
      if (!identity) throw wrongCode("recovery");
      // Not spent yet: the recovery handler spends it in the transaction that queues `recovery_used`. A concurrent
      // submit that spent it first makes this one a used code (200, 4060006; the transaction rolls back).
      const spend = async (q: Q): Promise<boolean> => {
        if (await codes.spend(q, row)) return true;
        throw wrongCode("recovery");
      };
      return { status: "recovered" as const, identity, address: row.address, spend };
    },
  } satisfies RecoveryStrategy;
}

export function createCodeVerification(deps: CodeFlowsDeps) {
  const { codes, sender, addresses, clock } = deps;

  function markSent(flow: Flow, email: string): void {
    rememberAddress(flow, email);
    flow.state = "sent_email";
    flow.active = "code";
    replaceNodes(flow, codeEntryNodes("verification", email));
    flow.ui.messages = [verificationCodeSent()];
  }

  return {
    id: "code",
    populateVerification(flow: Flow) {
      flow.ui.nodes.push(...emailNodes("code", undefined, submitLabel()));
    },
    async verify({ req, flow, body }: SubmitContext) {
      if (await codes.exhausted(flow)) throw submittedTooOften();
      if (present(body.email)) {
        const email = readEmail(body);
        await sender.sendVerification(flow, "code", email, req.ip);
        markSent(flow, email);
        return { status: "sent" as const };
      }
      if (flow.state !== "sent_email") throw new FlowValidationError({ nodes: { email: [requiredProperty("email")] } });
      const row = await matchSubmittedCode(codes, flow, "verification", body, { sender, address: codeAddressOf(flow), ip: req.ip });
      // The code is spent and the address verified together, or neither (a concurrent submit spent it first).
      const spent = await codes.transaction(async (trx) => {
        if (!(await codes.spend(trx, row))) return false;
        if (row.address_id) await addresses.markVerified(row.address_id, clock.now(), trx, row.identity_id || undefined);
        return true;
      });
      if (!spent) throw wrongCode("verification");
      flow.identity_id = row.identity_id;
      return { status: "verified" as const };
    },
    async sendFor(flow: Flow, identity, address, ip) {
      await sender.sendVerificationFor(flow, "code", identity, address, ip);
      markSent(flow, address.value);
    },
    async prepareFor(flow: Flow, identity, address, ip, allowed) {
      const prepared = await sender.prepareVerificationFor(flow, "code", identity, address, ip, allowed);
      markSent(flow, address.value);
      return prepared;
    },
  } satisfies VerificationStrategy;
}
