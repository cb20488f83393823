/**
 * Login and registration with identifier + password.
 *
 * Login answers 4000006 for a wrong password, an unknown identifier and an inactive identity alike, and costs the same
 * in all three cases: the unknown path verifies against the hasher's dummy hash (live parameters). Only after a
 * correct password does an inactive identity learn `identity_disabled`. Passwords longer than the policy allows are
 * refused before any normalization or hashing. A hash needing an upgrade is replaced after the response is sent.
 *
 * Registration validates traits against the identity schema (Kratos message ids), runs the password policy with the
 * identifiers and trait values as context, then creates the identity through the identity service, which hashes
 * before its transaction. An identifier that exists answers 4000007 only without enumeration mitigation; with it the
 * strategy throws `DuplicateRegistration` (a stand-in identity) after the same hashing and insert attempt.
 */
import type { FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../../config/config.ts";
import type { IdentityRepo } from "../../identity/identity-repo.ts";
import type { IdentityService } from "../../identity/identity-service.ts";
import type { Identity } from "../../identity/identity.ts";
import type { IdentitySchemaRegistry } from "../../identity/schema/registry.ts";
import { normalizeIdentifier, toE164 } from "../../identity/schema/normalize.ts";
import type { PasswordHasher } from "../../security/hash/hasher.ts";
import type { PasswordPolicy } from "../../security/password/password-policy.ts";
import { measurePassword } from "../../security/password/normalize.ts";
import { invalidCredentials, duplicateCredentials, minLength, passwordTooLong, requiredProperty, wrongType, type UiText } from "../../ui/messages.ts";
import type { Clock } from "../../util/clock.ts";
import { isAppError } from "../../util/app-error.ts";
import { FlowValidationError, identityDisabled } from "../../flow/errors.ts";
import type { Body } from "../../flow/body.ts";
import type { LoginStrategy, RegistrationStrategy, SettingsStrategy, SubmitContext } from "../strategy.ts";
import { loginNodes, registrationNodes } from "./nodes.ts";
import type { Throttle, ThrottleCheck } from "../../security/throttle/throttle.ts";
import { isThrottleError, throttleUiMessage } from "../../security/throttle/messages.ts";
import type { SecurityEvents } from "../../security/events.ts";
import { coerceFormTraits } from "./traits.ts";
import { DuplicateRegistration, registrationMitigated, standInIdentity } from "../../flow/registration/enumeration.ts";
import { createPasswordSettings } from "./settings.ts";

export interface PasswordStrategyDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  schemas: IdentitySchemaRegistry;
  identities: IdentityService;
  repo: IdentityRepo;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  /** Brute-force protection; absent when `security.brute_force.enabled` is false. */
  throttle?: Throttle;
  events?: SecurityEvents;
  /**
   * Called after a correct password, before the attempt counts as a success. A task holds the login back: it is
   * answered exactly like a wrong password (4000006, counted as a failure), and the task, run once that answer is
   * sent, tells the address's owner out of band. Used while registration is enumeration-safe (see
   * `flow/registration/enumeration.ts`).
   */
  holdLogin?: (req: FastifyRequest, identity: Identity) => (() => Promise<void>) | undefined;
}

/** Login's own ceiling on a password's length (code points after NFKC), whatever the policy's current maximum. */
const LOGIN_PASSWORD_CAP = 4096;

/** Identifiers are never longer than this; longer input cannot match and is refused before any lookup. */
const MAX_IDENTIFIER_LENGTH = 1024;

/** The policy's effective maximum (it raises anything below 64 to 64, NIST). */
export function maxPasswordLength(config: Config): number {
  const c = config.selfservice.methods.password.config;
  return Math.max(64, c.max_password_length, c.min_password_length);
}

/** The lookup keys for a typed identifier: the text form (email/username) and, when it parses, the E.164 phone. */
export function identifierCandidates(identifier: string): string[] {
  const text = normalizeIdentifier(identifier, "username");
  // An email address is never a phone number: skip the (comparatively costly) phone parse on the common path.
  const phone = identifier.includes("@") ? undefined : toE164(identifier);
  return phone && phone !== text ? [text, phone] : [text];
}

function stringField(body: Body, name: string, errors: Record<string, UiText[]>): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    errors[name] = [requiredProperty(name)];
    return undefined;
  }
  if (typeof v !== "string") {
    errors[name] = [wrongType(["string"], Array.isArray(v) ? "array" : typeof v)];
    return undefined;
  }
  if (v === "") {
    errors[name] = [minLength(1, 0)];
    return undefined;
  }
  return v;
}

export function createPasswordStrategy(deps: PasswordStrategyDeps) {
  const { config, clock, logger, schemas, identities, repo, hasher, policy } = deps;
  const maxLen = maxPasswordLength(config);
  const defaultSchema = () => schemas.get(schemas.defaultId);

  /** Rejects an over-long password in O(length) without NFKC or hashing. */
  function capPassword(password: string, extra: Record<string, UiText[]> = {}, cap = maxLen): void {
    const m = measurePassword(password, cap);
    if (!m.ok || m.length > cap) throw new FlowValidationError({ nodes: { ...extra, password: [passwordTooLong(cap, m.length)] } });
  }
  // The policy never applies on login: lowering max_password_length must not lock out longer passwords set before.
  // Login only refuses what no policy could have allowed, so megabytes are still never normalized or hashed.
  const loginCap = Math.max(maxLen, LOGIN_PASSWORD_CAP);

  async function findIdentity(identifier: string): Promise<Identity | undefined> {
    for (const c of identifierCandidates(identifier)) {
      const found = await repo.findByCredentialIdentifier("password", c);
      if (found) return found;
    }
    return undefined;
  }

  return {
    id: "password",

    populateLogin(flow) {
      flow.ui.nodes.push(...loginNodes(defaultSchema()));
    },

    async login({ body, req, flow }: SubmitContext) {
      const errors: Record<string, UiText[]> = {};
      // Kratos still accepts the deprecated `password_identifier`.
      const identifier = stringField({ identifier: body.identifier ?? body.password_identifier }, "identifier", errors);
      const password = stringField(body, "password", errors);
      if (password !== undefined) capPassword(password, errors, loginCap);
      if (Object.keys(errors).length || identifier === undefined || password === undefined) throw new FlowValidationError({ nodes: errors });

      // Brute-force protection runs before any lookup or hashing, and never looks at the account: a refused attempt
      // is answered identically (429 + Retry-After) for known and unknown identifiers, and costs nothing.
      const ip = req.ip;
      let checked: ThrottleCheck | undefined;
      if (deps.throttle) {
        try {
          checked = await deps.throttle.check(identifier, ip);
        } catch (e) {
          const message = throttleUiMessage(e);
          if (!message || !isThrottleError(e)) throw e;
          deps.events?.("login_throttled", { client_ip: ip, flow_id: flow.id, method: "password" });
          throw new FlowValidationError({ form: [message], status: e.code, headers: e.headers });
        }
      }
      const fail = async (identity_id?: string, reason?: string) => {
        await deps.throttle?.failed(identifier, ip, { flow_id: flow.id }, checked);
        deps.events?.("login_failed", { identity_id, client_ip: ip, flow_id: flow.id, method: "password", reason });
        return new FlowValidationError({ form: [invalidCredentials()] });
      };

      // An identifier longer than any stored one cannot match: take the unknown-identifier path without a lookup.
      const identity = identifier.length > MAX_IDENTIFIER_LENGTH ? undefined : await findIdentity(identifier);
      const cred = identity?.credentials.password;
      const hashed = cred?.config.hashed_password;
      if (!identity || !cred || typeof hashed !== "string" || hashed === "") {
        await hasher.verifyDummy(password);
        throw await fail(identity?.id);
      }
      if (!(await hasher.verify(password, hashed))) throw await fail(identity.id);
      // An identity whose addresses are all unverified may have been registered by someone who does not own them:
      // while registration hides existing accounts, a session for it would tell that the address was free.
      const held = identity.state === "active" ? deps.holdLogin?.(req, identity) : undefined;
      if (held) {
        const e = await fail(identity.id, "address_unverified");
        e.afterResponse = held;
        throw e;
      }
      await deps.throttle?.succeeded(identifier, checked);
      if (identity.state !== "active") throw identityDisabled();
      deps.events?.("login_succeeded", { identity_id: identity.id, client_ip: ip, flow_id: flow.id, method: "password" });

      const afterResponse = hasher.needsRehash(hashed)
        ? async () => {
            const upgraded = await hasher.hash(password);
            // Only if the stored hash is still the one that was verified: a password changed meanwhile stays changed.
            const replaced = await repo.updateCredentialConfig(cred.id, { ...cred.config, hashed_password: upgraded }, clock.now().toISOString(), hashed);
            logger.debug({ identity_id: identity.id, replaced }, replaced ? "password hash upgraded after login" : "password hash upgrade skipped: the password changed meanwhile");
          }
        : undefined;
      return { identity, afterResponse };
    },

    populateRegistration(flow) {
      const schema = defaultSchema();
      if (schema) flow.ui.nodes.push(...registrationNodes(schema));
    },

    async register({ body, afterCreate }: SubmitContext) {
      const schemaId = schemas.defaultId;
      const schema = schemas.get(schemaId);
      const errors: Record<string, UiText[]> = {};
      const password = stringField(body, "password", errors);
      if (password !== undefined) capPassword(password);

      const rawTraits = body.traits === undefined ? {} : body.traits;
      const traits = schema ? coerceFormTraits(schema, rawTraits) : rawTraits;
      const checked = schemas.checkTraits(schemaId, traits);
      for (const e of checked.errors) (errors[e.name || ""] ??= []).push(e.message);
      if (Object.keys(errors).length || password === undefined) throw new FlowValidationError({ nodes: errors });

      const normalized = checked.traits as Record<string, unknown>;
      const extracted = schemas.extract(schemaId, normalized);
      const words = collectStrings(normalized).filter((w) => !extracted.identifiers.password.includes(w));
      const policyErrors = await policy.check(password, { identifiers: extracted.identifiers.password, words });
      if (policyErrors.length) throw new FlowValidationError({ nodes: { password: policyErrors } });

      try {
        // `afterCreate`: the verification flow, code and message commit with the identity (see registration/handler.ts).
        const identity = await identities.create(
          {
            schema_id: schemaId,
            traits: normalized,
            state: "active",
            credentials: { password: { config: { password } } },
          },
          { afterCreate },
        );
        return { identity };
      } catch (e) {
        if (!isAppError(e) || e.code !== 409) throw e;
        // The password was hashed and the insert tried, as for a new identity. With mitigation the duplicate looks
        // like a new registration (see flow/registration/enumeration.ts); without it, Kratos's 4000007.
        if (!registrationMitigated(config, extracted.verifiable_addresses)) throw new FlowValidationError({ form: [duplicateCredentials()] });
        let owner: Identity | undefined;
        for (const id of extracted.identifiers.password) owner ??= await findIdentity(id);
        const standIn = standInIdentity({
          schemaId,
          traits: normalized,
          verifiable: extracted.verifiable_addresses,
          recovery: extracted.recovery_addresses,
          now: clock.now(),
        });
        throw new DuplicateRegistration(standIn, owner);
      }
    },

    ...createPasswordSettings(deps),
  } satisfies LoginStrategy & RegistrationStrategy & SettingsStrategy;
}

function collectStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) collectStrings(x, out);
  return out;
}

export type PasswordStrategy = ReturnType<typeof createPasswordStrategy>;
