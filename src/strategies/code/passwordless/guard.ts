/**
 * What passwordless code login and registration share:
 * - `CodeSent`: the "completed by strategy" outcome of a send step (Kratos `flow.ErrCompletedByStrategy`). The flow
 *   moved to `sent_email` and must be answered as it now is: 400 with the flow (JSON) or 303 to the UI (forms),
 *   exactly what the handlers already do with a `FlowValidationError`, whose subclass it is. So no handler needs to
 *   know about the code method;
 * - `redeemGuarded`: every code guess goes through `max_submissions` (per flow) and the brute-force throttle (per
 *   address, across flows): refused flows and throttled addresses are answered before any code is compared; a wrong
 *   code counts on both; a right one resets the address's counter. The throttle key is `<kind>_code:<address>`, so
 *   code guesses never lock the password login of the same identifier (nor the other way round).
 */
import { FlowValidationError } from "../../../flow/errors.ts";
import type { Flow } from "../../../flow/flow.ts";
import type { SecurityEvents } from "../../../security/events.ts";
import { isThrottleError, throttleUiMessage } from "../../../security/throttle/messages.ts";
import type { Throttle } from "../../../security/throttle/throttle.ts";
import type { UiText } from "../../../ui/messages.ts";
import { submittedTooOften } from "../code-flows.ts";
import type { CodeKind, CodeRow, CodeStore } from "../code-store.ts";
import { readCode } from "../input.ts";

/** A send step finished: answer with the flow (state `sent_email`) and this info message. */
export class CodeSent extends FlowValidationError {
  constructor(message: UiText) {
    super({ form: [message], status: 400 });
    this.name = "CodeSent";
  }
}

export interface GuardDeps {
  codes: CodeStore;
  /** Absent when `security.brute_force.enabled` is false. */
  throttle?: Throttle;
  events?: SecurityEvents;
}

export interface RedeemOptions {
  flow: Flow;
  kind: Extract<CodeKind, "login" | "registration">;
  /** The address the flow's code was sent to: the throttle's identifier. */
  address: string;
  ip: string;
  body: Record<string, unknown>;
  /** 4010008 / 4040003. */
  invalid: UiText;
}

/** The flow's live code row for the submitted `code`, or throws (after counting the failure). */
export async function redeemGuarded(deps: GuardDeps, o: RedeemOptions): Promise<CodeRow> {
  const { codes, throttle, events } = deps;
  const { flow, kind, address, ip } = o;
  // Per kind and address, apart from the password login counter (the key scheme the sender uses for recovery).
  const key = `${kind}_code:${address}`;
  if (await codes.exhausted(flow)) throw submittedTooOften();
  const submitted = readCode(o.body);
  if (throttle) {
    try {
      await throttle.check(key, ip);
    } catch (e) {
      const message = throttleUiMessage(e);
      if (!message || !isThrottleError(e)) throw e;
      events?.("login_throttled", { client_ip: ip, flow_id: flow.id, method: "code", reason: kind });
      throw new FlowValidationError({ form: [message], status: e.code, headers: e.headers });
    }
  }
  // One of the flow's `max_submissions`, taken before the comparison: concurrent guesses all count.
  if (!(await codes.takeSubmission(flow))) throw submittedTooOften();
  const row = submitted.ok ? await codes.redeemCode(flow.id, kind, submitted.code) : undefined;
  if (!row) {
    await codes.recordFailure(flow, kind);
    await throttle?.failed(key, ip, { flow_id: flow.id });
    if (kind === "login") events?.("login_failed", { client_ip: ip, flow_id: flow.id, method: "code" });
    throw new FlowValidationError({ form: [o.invalid] });
  }
  await throttle?.succeeded(key);
  return row;
}

/** Kratos's `resend=code` (case-insensitive): go back to choose_method and send a new code. */
export const wantsResend = (body: Record<string, unknown>): boolean => typeof body.resend === "string" && body.resend.toLowerCase() === "code";
