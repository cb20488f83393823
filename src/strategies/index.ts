/**
 * THE ordered list of strategies. The flow engine walks it in order; the first whose `id` equals the submitted
 * `method` handles the submit, and every enabled one adds its nodes to new flows in this order.
 */
import type { Config } from "../config/config.ts";
import type { LoginStrategy, RecoveryStrategy, RegistrationStrategy, SettingsStrategy, VerificationStrategy } from "./strategy.ts";
import { createPasswordStrategy, type PasswordStrategyDeps } from "./password/password-strategy.ts";
import { createCodeMethods, type CodeMethods, type CodeMethodsDeps } from "./code/index.ts";
import { createProfileStrategy } from "./profile/profile-strategy.ts";

/** Without `courier` and `database` the code and link methods (recovery, verification) are left out. */
export type StrategiesDeps = PasswordStrategyDeps & { config: Config } & Partial<CodeMethodsDeps>;

export function createStrategies(deps: StrategiesDeps): {
  login: LoginStrategy[];
  registration: RegistrationStrategy[];
  settings: SettingsStrategy[];
  recovery: RecoveryStrategy[];
  verification: VerificationStrategy[];
  code?: CodeMethods;
} {
  const { courier, database, publicBaseUrl } = deps;
  const code = courier && database && publicBaseUrl !== undefined ? createCodeMethods({ ...deps, courier, database, publicBaseUrl }) : undefined;
  const login: LoginStrategy[] = [];
  const registration: RegistrationStrategy[] = [];
  const settings: SettingsStrategy[] = [];
  // Kratos lists the profile method first in settings flows.
  if (deps.config.selfservice.methods.profile.enabled !== false) settings.push(createProfileStrategy(deps));
  if (deps.config.selfservice.methods.password.enabled !== false) {
    const password = createPasswordStrategy(deps);
    login.push(password);
    registration.push(password);
    settings.push(password);
  }
  // Passwordless code login and registration (`methods.code.passwordless_enabled`), after password as in Kratos.
  login.push(...(code?.login ?? []));
  registration.push(...(code?.registration ?? []));
  return { login, registration, settings, recovery: code?.recovery ?? [], verification: code?.verification ?? [], code };
}
