/**
 * The code and link methods assembled: one code store, one address store, one sender, and the strategy objects for
 * recovery and verification (code, link). `strategies/index.ts` adds them to the ordered lists; the recovery handler
 * also needs the sender and address store (notice after recovery, address marked verified).
 */
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { Database } from "../../persistence/db.ts";
import type { Clock } from "../../util/clock.ts";
import type { RecoveryStrategy, VerificationStrategy } from "../strategy.ts";
import { createLinkRecovery, createLinkVerification } from "../link/link-flows.ts";
import { createAddressStore } from "./addresses.ts";
import { createCodeFlowsDeps } from "./deps.ts";
import { createCodeRecovery, createCodeVerification } from "./code-flows.ts";
import { createCodeStore } from "./code-store.ts";
import { createSender, type CourierPort } from "./sender.ts";
import { createPasswordless, type PasswordlessExtraDeps } from "./passwordless/index.ts";

/** The passwordless extras are optional: without `schemas` and `identities` code login/registration are left out. */
export interface CodeMethodsDeps extends Partial<PasswordlessExtraDeps> {
  config: Config;
  clock: Clock;
  database: Database;
  repo: IdentityRepo;
  courier: CourierPort;
  publicBaseUrl: string;
}

export function createCodeMethods(deps: CodeMethodsDeps) {
  const codes = createCodeStore(deps);
  const addresses = createAddressStore(deps.database);
  const sender = createSender({ ...deps, codes, addresses });
  const shared = createCodeFlowsDeps({ codes, sender, repo: deps.repo, addresses, clock: deps.clock });
  const methods = deps.config.selfservice.methods;
  const recovery: RecoveryStrategy[] = [];
  const verification: VerificationStrategy[] = [];
  if (methods.code.enabled !== false) {
    recovery.push(createCodeRecovery(shared));
    verification.push(createCodeVerification(shared));
  }
  if (methods.link.enabled) {
    recovery.push(createLinkRecovery(shared));
    verification.push(createLinkVerification(shared));
  }
  const { login, registration } = createPasswordless({ ...deps, codes, sender, addresses });
  return { codes, addresses, sender, recovery, verification, login, registration };
}

export type CodeMethods = ReturnType<typeof createCodeMethods>;
export type { CourierPort } from "./sender.ts";
