/**
 * Passwordless code login and registration, assembled for `createCodeMethods`: both strategies when
 * `selfservice.methods.code.enabled` and `passwordless_enabled` are on (Kratos offers neither otherwise) and the
 * identity service is available; empty lists otherwise.
 */
import type { IdentityService } from "../../../identity/identity-service.ts";
import type { IdentitySchemaRegistry } from "../../../identity/schema/registry.ts";
import type { SecurityEvents } from "../../../security/events.ts";
import type { Throttle } from "../../../security/throttle/throttle.ts";
import type { LoginStrategy, RegistrationStrategy } from "../../strategy.ts";
import { createCodeLogin, type CodeLoginDeps } from "../login.ts";
import { createCodeRegistration } from "../registration.ts";

/** What passwordless needs beyond the code methods' own dependencies (all in the composition root's deps). */
export interface PasswordlessExtraDeps {
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  /** Brute-force protection; absent when `security.brute_force.enabled` is false. */
  throttle?: Throttle;
  events?: SecurityEvents;
}

export function createPasswordless(
  deps: Omit<CodeLoginDeps, "schemas"> & Partial<PasswordlessExtraDeps>,
): { login: LoginStrategy[]; registration: RegistrationStrategy[] } {
  const code = deps.config.selfservice.methods.code;
  const { schemas, identities } = deps;
  if (code.enabled === false || !code.passwordless_enabled || !schemas || !identities) return { login: [], registration: [] };
  return {
    login: [createCodeLogin({ ...deps, schemas })],
    registration: [createCodeRegistration({ ...deps, schemas, identities })],
  };
}
