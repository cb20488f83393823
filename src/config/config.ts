/**
 * The validated, defaulted and frozen configuration of Tessera, under Kratos's snake_case key names.
 *
 * Contract: a `Config` only ever comes out of `loadConfig()` (load.ts). Every key that has a default in
 * `schema.json` is present; durations (Go syntax, `1h30m`) are numbers of MILLISECONDS and byte sizes (`19MiB`,
 * `128MB`) are numbers of BYTES; relative `file://` identity schema URLs are made absolute against the working
 * directory (as Kratos does); `serve.*.base_url` always ends with `/`; `session.cookie.{same_site,path,domain}` and
 * `session.earliest_possible_extend` are resolved from their Kratos fallbacks. The object is deep-frozen.
 */

export type Milliseconds = number;
export type Bytes = number;
export type SameSite = "Strict" | "Lax" | "None";
export type RequiredAal = "aal1" | "highest_available";

export interface HookConfig {
  hook: string;
}

export interface AfterMethodConfig {
  default_browser_return_url?: string;
  hooks: HookConfig[];
}

export interface ServeCommon {
  host: string;
  port: number;
  /** Always absolute and ending with "/"; derived from host and port when the file leaves it out. */
  base_url: string;
  request_log: { disable_for_health: boolean };
  request_body_limit: Bytes;
}

export interface CorsConfig {
  enabled: boolean;
  allowed_origins: string[];
  allowed_methods: string[];
  allowed_headers: string[];
  exposed_headers: string[];
  allow_credentials: boolean;
  max_age: number;
  debug: boolean;
}

export interface CourierEmailTemplate {
  body?: { plaintext?: string; html?: string };
  subject?: string;
}

export interface CourierTemplateSet {
  invalid?: { email: CourierEmailTemplate };
  valid?: { email: CourierEmailTemplate; sms?: { body?: { plaintext?: string } } };
}

export interface Config {
  dsn: string;
  serve: {
    public: ServeCommon & { cors: CorsConfig; trusted_proxies: string[] };
    admin: ServeCommon & { api_keys: string[]; allow_unauthenticated: boolean };
  };
  /** `default` is non-empty unless loaded with `requireSecrets: false` (commands that never sign or encrypt). */
  secrets: { default: string[]; cookie?: string[]; cipher?: string[] };
  cookies: { domain?: string; path: string; same_site: SameSite };
  session: {
    lifespan: Milliseconds;
    earliest_possible_extend: Milliseconds;
    cookie: { name: string; persistent: boolean; same_site: SameSite; domain?: string; path: string };
    whoami: { required_aal: RequiredAal };
  };
  identity: { default_schema_id: string; schemas: { id: string; url: string }[] };
  selfservice: {
    default_browser_return_url: string;
    allowed_return_urls: string[];
    methods: {
      password: {
        enabled: boolean;
        config: {
          min_password_length: number;
          max_password_length: number;
          identifier_similarity_check_enabled: boolean;
          haveibeenpwned_enabled: boolean;
          haveibeenpwned_host: string;
          haveibeenpwned_file?: string;
          max_breaches: number;
          ignore_network_errors: boolean;
        };
      };
      code: {
        enabled: boolean;
        passwordless_enabled: boolean;
        mfa_enabled: boolean;
        missing_credential_fallback_enabled: boolean;
        config: { lifespan: Milliseconds; max_submissions: number };
      };
      link: { enabled: boolean; config: { lifespan: Milliseconds; base_url?: string } };
      profile: { enabled: boolean };
    };
    flows: {
      error: { ui_url: string };
      login: {
        ui_url: string;
        lifespan: Milliseconds;
        after: AfterMethodConfig & { password: AfterMethodConfig; code: AfterMethodConfig };
      };
      registration: {
        enabled: boolean;
        ui_url: string;
        lifespan: Milliseconds;
        login_hints: boolean;
        after: AfterMethodConfig & { password: AfterMethodConfig; code: AfterMethodConfig };
      };
      settings: {
        ui_url: string;
        lifespan: Milliseconds;
        privileged_session_max_age: Milliseconds;
        required_aal: RequiredAal;
        after: AfterMethodConfig & { password: AfterMethodConfig; profile: AfterMethodConfig };
      };
      recovery: RecoveryOrVerificationFlow;
      verification: RecoveryOrVerificationFlow;
      logout: { after: { default_browser_return_url?: string } };
    };
  };
  courier: {
    smtp: {
      connection_uri?: string;
      from_address: string;
      from_name?: string;
      headers: Record<string, string>;
      local_name: string;
    };
    template_override_path?: string;
    templates?: Partial<
      Record<"recovery" | "recovery_code" | "verification" | "verification_code" | "registration_code" | "login_code", CourierTemplateSet>
    >;
    message_retries: number;
    worker: { pull_count: number; pull_wait: Milliseconds };
    delivery_strategy: "smtp";
    channels: { id: string; type?: string; request_config: Record<string, unknown> }[];
  };
  hashers: {
    algorithm: "argon2" | "bcrypt";
    argon2: {
      memory: Bytes;
      iterations: number;
      parallelism: number;
      salt_length: number;
      key_length: number;
      expected_duration: Milliseconds;
      expected_deviation: Milliseconds;
      dedicated_memory: Bytes;
      /** Ours: at most this many hashes at once (further capped by memory and CPU count). */
      max_concurrency?: number;
    };
    bcrypt: { cost: number };
    /** Ours: a hash waiting longer than this for a slot answers 503 with Retry-After. */
    max_queue_wait?: Milliseconds;
    /** Ours: the nice value of the hashing threads (Linux), 0..19; default 19. */
    thread_nice?: number;
    /** Ours: "idle" (default) runs the hashing threads under SCHED_IDLE (Linux); "normal" leaves them at their nice value. */
    thread_policy?: "idle" | "normal";
  };
  ciphers: { algorithm: "noop" | "aes" | "xchacha20-poly1305" };
  log: {
    level: "trace" | "debug" | "info" | "warning" | "error" | "fatal" | "panic";
    format: "json" | "text";
    leak_sensitive_values: boolean;
    redaction_text: string;
  };
  security: {
    profile?: string;
    account_enumeration: { mitigate: boolean };
    brute_force: {
      enabled: boolean;
      identifier: { free_attempts: number; max_delay: Milliseconds; max_consecutive_failures: number; lockout: Milliseconds };
      ip: { max_failures: number; window: Milliseconds; max_requests: number };
      messages: { per_address: number; window: Milliseconds };
      store: "sql" | "redis";
      redis_url?: string;
    };
  };
}

export interface RecoveryOrVerificationFlow {
  enabled: boolean;
  ui_url: string;
  lifespan: Milliseconds;
  use: "link" | "code";
  notify_unknown_recipients: boolean;
  after: { default_browser_return_url?: string; hooks: HookConfig[] };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/** Whether `value` is a Go duration as Kratos accepts it (`1h`, `10m30s`, `500ms`; no sign, at least one unit). */
export function isGoDuration(value: string): boolean {
  return DURATION_RE.test(value);
}

/** Parses a Go duration into milliseconds. Throws on anything `isGoDuration` refuses. */
export function parseDuration(value: string): Milliseconds {
  if (!isGoDuration(value)) throw new Error(`invalid duration "${value}"`);
  let total = 0;
  for (const m of value.matchAll(DURATION_PART_RE)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

// Kratos parses sizes with github.com/inhies/go-bytesize, where KB = 1024 B, MB = 1024 KB ... (binary multiples
// under decimal names), case-insensitive, long names allowed. We accept the same, plus IEC names (KiB = KB) and a
// bare integer meaning bytes.
const BYTE_UNITS: Record<string, number> = {};
for (const [i, names] of [
  ["b", "byte", "bytes"],
  ["kb", "kib", "k", "kilobyte", "kilobytes"],
  ["mb", "mib", "m", "megabyte", "megabytes"],
  ["gb", "gib", "g", "gigabyte", "gigabytes"],
  ["tb", "tib", "t", "terabyte", "terabytes"],
  ["pb", "pib", "p", "petabyte", "petabytes"],
  ["eb", "eib", "e", "exabyte", "exabytes"],
].entries()) {
  for (const n of names) BYTE_UNITS[n] = 1024 ** i;
}
const BYTES_RE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;

/** Parses a byte size (`19MiB`, `128MB`, `64 KB`, `1024`) into bytes; `null` when it is not one. */
export function tryParseByteSize(value: string | number): Bytes | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = BYTES_RE.exec(value);
  if (!m) return null;
  const unit = m[2] === "" ? 1 : BYTE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return null;
  return Math.floor(Number(m[1]) * unit);
}

/** Like `tryParseByteSize` but throws on invalid input. */
export function parseByteSize(value: string | number): Bytes {
  const n = tryParseByteSize(value);
  if (n === null) throw new Error(`invalid byte size "${value}"`);
  return n;
}

/** Every secret usable to sign cookies: `secrets.cookie` when set, else `secrets.default` (Kratos's fallback). */
export function cookieSecrets(config: Config): readonly string[] {
  return config.secrets.cookie && config.secrets.cookie.length > 0 ? config.secrets.cookie : config.secrets.default;
}

/** Every secret usable for encryption at rest: `secrets.cipher` (32 bytes each) or an empty list. */
export function cipherSecrets(config: Config): readonly string[] {
  return config.secrets.cipher ?? [];
}

/** The identity schema URL for an id, or undefined. URLs are absolute (`file:///...`, `https://...`, `base64://...`). */
export function identitySchemaUrl(config: Config, id: string = config.identity.default_schema_id): string | undefined {
  return config.identity.schemas.find((s) => s.id === id)?.url;
}
