/**
 * The password policy of NIST SP 800-63B 5.1.1.2 with Kratos's configuration names
 * (`selfservice.methods.password.config.*`). Applied to new passwords (registration, settings, recovery), never on
 * login. Checks, in this order, each only when the previous ones passed (so nothing expensive runs on a password that
 * is already refused, and a megabyte-long input is refused before it is normalized or hashed):
 *
 * 1. length in Unicode code points after NFKC (4000032 too short, 4000033 too long);
 * 2. similarity to identifiers and context words (4000031) and the bundled common-password list (4000005 with a
 *    reason); both are offline and cheap, so both messages are reported together;
 * 3. breach count from the offline corpus (`haveibeenpwned_file`) or else the online range API (4000034 when the count
 *    exceeds `max_breaches`; when the check cannot be done: accepted if `ignore_network_errors`, else 4000005).
 *
 * No composition rules (NIST: "SHALL NOT impose other composition rules").
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import {
  passwordBreached,
  passwordIdentifierTooSimilar,
  passwordPolicyViolation,
  passwordTooLong,
  passwordTooShort,
} from "../../ui/messages.ts";
import type { UiText } from "../../ui/messages.ts";
import { createOnlineBreachSource } from "./breach-online.ts";
import { createOfflineBreachSource } from "./breach-offline.ts";
import type { BreachSource, PolicyLog } from "./breach-source.ts";
import { isCommonPassword } from "./common-passwords.ts";
import { measurePassword } from "./normalize.ts";
import { isTooSimilar } from "./similarity.ts";

export { passwordLength, normalizePassword } from "./normalize.ts";

/** `selfservice.methods.password.config` (Kratos names; `haveibeenpwned_file` and `timeout_ms` are Tessera's). */
export interface PasswordPolicyConfig {
  /** Minimum length in code points after NFKC. Default 8. */
  min_password_length: number;
  /** Maximum length in code points after NFKC. Default 1024; values below 64 are raised to 64 (NIST: allow >= 64). */
  max_password_length: number;
  /** Reject passwords too similar to an identifier or context word. Default true. */
  identifier_similarity_check_enabled: boolean;
  /** Check breach counts (offline corpus if set, else the online range API). Default true. */
  haveibeenpwned_enabled: boolean;
  /** Range API host (`api.pwnedpasswords.com`, meaning https) or a full base URL (`http://127.0.0.1:9000`). */
  haveibeenpwned_host: string;
  /** Offline corpus: the sorted `HASH:COUNT` file or the per-prefix directory. Used instead of the online API. */
  haveibeenpwned_file?: string;
  /** How many breaches are allowed: a password seen more than this many times is rejected. Kratos default 0. */
  max_breaches: number;
  /** When the breach check cannot be done: true = accept (fail open), false = reject with 4000005. Default true. */
  ignore_network_errors: boolean;
  /** Timeout of one range request in ms. Default 1500. */
  timeout_ms?: number;
}

/**
 * Defaults. `max_breaches` is 0 as in Kratos's config schema (`max_breaches` default 0, "how often a password may have
 * been breached before it is rejected"), so a kratos.yml without the key behaves the same: any breach rejects.
 */
export const defaultPasswordPolicyConfig: PasswordPolicyConfig = Object.freeze({
  min_password_length: 8,
  max_password_length: 1024,
  identifier_similarity_check_enabled: true,
  haveibeenpwned_enabled: true,
  haveibeenpwned_host: "api.pwnedpasswords.com",
  max_breaches: 0,
  ignore_network_errors: true,
  timeout_ms: 1500,
});

export interface PasswordPolicy {
  /**
   * [] when acceptable; otherwise the UiText messages for the password node, in a stable order (length; similarity then
   * common list; breach). `context.identifiers` are the credential identifiers; `context.words` other values the
   * password must not resemble (trait values); the service's own words (`deps.serviceWords`) always apply too. Never
   * throws for network or file trouble.
   */
  check(password: string, context: { identifiers: string[]; words?: string[] }): Promise<UiText[]>;
}

export interface PasswordPolicyDeps {
  /** Node's global fetch by default. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch (cache TTL and circuit breaker). */
  now?: () => number;
  /** Words naming the service, added to every check's context words: see `serviceContextWords`. */
  serviceWords?: readonly string[];
  log?: PolicyLog;
}

const MIN_ALLOWED_MAX = 64;

let version: string | undefined;
/** `Tessera/<version>` from package.json, read once. */
export function userAgent(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: string };
      version = pkg.version ?? "0.0.0";
    } catch {
      version = "0.0.0";
    }
  }
  return `Tessera/${version}`;
}

const COULD_NOT_CHECK = "it could not be checked against known data breaches right now, please try again later";
const COMMON = "it is one of the most commonly used passwords";

/**
 * The words that name this service to its users, for the similarity check (NIST SP 800-63B 5.1.1.2: "context-specific
 * words, such as the name of the service"): the sender name on every email (`courier.smtp.from_name`) and the host
 * name of the public URL (`serve.public.base_url`), e.g. `auth.example.com` (a password built on "example" shares more
 * than half of itself with it). IP literals and `localhost` name nothing and are left out; blanks are dropped.
 */
export function serviceContextWords(opts: { fromName?: string; publicBaseUrl?: string }): string[] {
  const words: string[] = [];
  const name = opts.fromName?.trim();
  if (name) words.push(name);
  if (opts.publicBaseUrl) {
    let host = "";
    try {
      host = new URL(opts.publicBaseUrl).hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "");
    } catch {
      host = "";
    }
    if (host && host !== "localhost" && !host.endsWith(".localhost") && isIP(host) === 0) words.push(host);
  }
  return [...new Set(words)];
}

export function createPasswordPolicy(cfg: PasswordPolicyConfig, deps: PasswordPolicyDeps = {}): PasswordPolicy {
  const serviceWords = [...(deps.serviceWords ?? [])];
  const min = Math.max(1, cfg.min_password_length);
  const max = Math.max(MIN_ALLOWED_MAX, cfg.max_password_length, min);
  let source: BreachSource | undefined;
  if (cfg.haveibeenpwned_enabled) {
    source = cfg.haveibeenpwned_file
      ? createOfflineBreachSource(cfg.haveibeenpwned_file, deps.log)
      : createOnlineBreachSource({
          host: cfg.haveibeenpwned_host || defaultPasswordPolicyConfig.haveibeenpwned_host,
          timeoutMs: cfg.timeout_ms ?? 1500,
          userAgent: userAgent(),
          fetch: deps.fetch ?? globalThis.fetch,
          now: deps.now ?? Date.now,
          log: deps.log,
        });
  }

  return {
    async check(password, context) {
      const m = measurePassword(password, max);
      if (!m.ok) return [passwordTooLong(max, m.length)];
      if (m.length < min) return [passwordTooShort(min, m.length)];
      if (m.length > max) return [passwordTooLong(max, m.length)];
      const pw = m.normalized;

      const out: UiText[] = [];
      if (cfg.identifier_similarity_check_enabled) {
        const words = [...context.identifiers, ...(context.words ?? []), ...serviceWords];
        if (words.some((w) => typeof w === "string" && isTooSimilar(pw, w))) out.push(passwordIdentifierTooSimilar());
      }
      if (await isCommonPassword(pw)) out.push(passwordPolicyViolation(COMMON));
      if (out.length > 0 || !source) return out;

      const sha1 = createHash("sha1").update(pw, "utf8").digest("hex").toUpperCase();
      const r = await source.lookup(sha1);
      if (!r.ok) return cfg.ignore_network_errors ? [] : [passwordPolicyViolation(COULD_NOT_CHECK)];
      return r.count > cfg.max_breaches ? [passwordBreached(r.count)] : [];
    },
  };
}
