/**
 * The link method for recovery and verification (Kratos `strategy/link`): a submit with `email` queues a message
 * carrying `<public>/self-service/<kind>?flow=<id>&token=<token>` (32 alphanumerics, ~190 bits, stored as an HMAC)
 * and answers 1060002 / 1080001 whether or not the address exists. Opening the link (GET) redeems the token once.
 */
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Identity } from "../../identity/identity.ts";
import type { Flow } from "../../flow/flow.ts";
import { recoveryEmailSent, submitLabel, verificationEmailSent } from "../../ui/messages.ts";
import type { RecoveryStrategy, SubmitContext, VerificationStrategy } from "../strategy.ts";
import type { AddressStore } from "../code/addresses.ts";
import type { CodeStore, Q } from "../code/code-store.ts";
import { replaceNodes, submittedTooOften } from "../code/code-flows.ts";
import { readEmail } from "../code/input.ts";
import { emailNodes } from "../code/nodes.ts";
import type { ClientIp, Sender } from "../code/sender.ts";

export interface LinkFlowsDeps {
  codes: CodeStore;
  sender: Sender;
  repo: IdentityRepo;
  addresses: AddressStore;
  clock: { now(): Date };
}

/**
 * A valid recovery link: the flow it was sent for and who proved control of the address. The token is NOT spent yet:
 * `spend` does it with the caller's transaction (the one queueing `recovery_used`); false when it lost to another use.
 */
export interface RedeemedLink {
  flowId: string;
  identity: Identity;
  address: string | null;
  spend(q: Q): Promise<boolean>;
}

export function createLinkRecovery(deps: LinkFlowsDeps) {
  const { codes, sender, repo } = deps;
  return {
    id: "link",
    populateRecovery(flow: Flow) {
      flow.ui.nodes.push(...emailNodes("link", undefined, submitLabel()));
    },
    async recover({ req, flow, body }: SubmitContext) {
      if (await codes.exhausted(flow)) throw submittedTooOften();
      const email = readEmail(body);
      await sender.sendRecovery(flow, "link", email, req.ip);
      flow.state = "sent_email";
      flow.active = "link";
      replaceNodes(flow, emailNodes("link", email, submitLabel()));
      flow.ui.messages = [recoveryEmailSent()];
      return { status: "sent" as const };
    },
    /** Checks a recovery link token (unspent, see `RedeemedLink`); undefined when unknown, expired or spent. */
    async useToken(token: string): Promise<RedeemedLink | undefined> {
      const row = await codes.findToken("recovery", token);
      const identity = row ? await repo.get(row.identity_id) : undefined;
      return row && identity ? { flowId: row.flow_id, identity, address: row.address, spend: (q: Q) => codes.spend(q, row) } : undefined;
    },
  } satisfies RecoveryStrategy & Record<string, unknown>;
}

export function createLinkVerification(deps: LinkFlowsDeps) {
  const { codes, sender, addresses, clock } = deps;
  const markSent = (flow: Flow, email: string) => {
    flow.state = "sent_email";
    flow.active = "link";
    replaceNodes(flow, emailNodes("link", email, submitLabel()));
    flow.ui.messages = [verificationEmailSent()];
  };
  return {
    id: "link",
    populateVerification(flow: Flow) {
      flow.ui.nodes.push(...emailNodes("link", undefined, submitLabel()));
    },
    async verify({ req, flow, body }: SubmitContext) {
      const email = readEmail(body);
      await sender.sendVerification(flow, "link", email, req.ip);
      markSent(flow, email);
      return { status: "sent" as const };
    },
    async sendFor(flow: Flow, identity: Identity, address: { id: string; value: string }, ip: ClientIp) {
      await sender.sendVerificationFor(flow, "link", identity, address, ip);
      markSent(flow, address.value);
    },
    async prepareFor(flow: Flow, identity: Identity, address: { id: string; value: string }, ip: ClientIp, allowed?: boolean) {
      const prepared = await sender.prepareVerificationFor(flow, "link", identity, address, ip, allowed);
      markSent(flow, address.value);
      return prepared;
    },
    /** Redeems a verification link token and marks the address verified; returns the flow id, else undefined. */
    async useToken(token: string): Promise<string | undefined> {
      const row = await codes.findToken("verification", token);
      if (!row) return undefined;
      // Spent and verified together, or neither.
      const spent = await codes.transaction(async (trx) => {
        if (!(await codes.spend(trx, row))) return false;
        if (row.address_id) await addresses.markVerified(row.address_id, clock.now(), trx, row.identity_id || undefined);
        return true;
      });
      return spent ? row.flow_id : undefined;
    },
  } satisfies VerificationStrategy & Record<string, unknown>;
}
