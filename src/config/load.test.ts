import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError, loadConfig } from "./load.ts";

const testdata = fileURLToPath(new URL("./testdata/", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "0123456789abcdef-test-secret";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-config-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a YAML config into the temp dir and returns its path. */
async function file(name: string, yaml: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, yaml);
  return path;
}

const MINIMAL = `
dsn: memory
identity:
  schemas:
    - id: default
      url: file://./identity.schema.json
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
secrets:
  default: ["${SECRET}"]
`;

async function expectError(yaml: string, message: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const path = await file(`bad-${Math.random().toString(36).slice(2)}.yml`, yaml);
  await assert.rejects(loadConfig({ file: path, env, cwd: dir }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.ok(!err.message.includes("\n"));
    return true;
  });
}

describe("Kratos quickstart configs", () => {
  const expected: Record<string, { warn: string[]; env?: NodeJS.ProcessEnv }> = {
    "all-strategies": { warn: ["/selfservice/methods/passkey", "/selfservice/methods/webauthn", "/selfservice/flows/registration/after/passkey", "/selfservice/flows/registration/enable_legacy_one_step", "/version"] },
    "email-password": { warn: ["/selfservice/methods/totp", "/selfservice/methods/lookup_secret", "/feature_flags", "/version"] },
    // Kratos's passkey quickstart gets its DSN from docker-compose's environment.
    passkey: { warn: ["/selfservice/methods/passkey", "/selfservice/flows/registration/after/webauthn"], env: { DSN: "memory" } },
    "phone-password": { warn: ["/selfservice/methods/totp", "/feature_flags"] },
    webauthn: { warn: ["/selfservice/methods/webauthn", "/selfservice/methods/lookup_secret"] },
  };
  for (const [name, { warn, env }] of Object.entries(expected)) {
    it(`loads quickstart-${name}.kratos.yml unchanged, warning about unsupported keys`, async () => {
      const schemaFile = join(testdata, `quickstart-${name}.identity.schema.json`);
      const { config, warnings } = await loadConfig({
        file: join(testdata, `quickstart-${name}.kratos.yml`),
        env: { ...env, SECRETS_DEFAULT: SECRET, IDENTITY_SCHEMAS_0_URL: pathToFileURL(schemaFile).href },
      });
      for (const path of warn) {
        assert.ok(warnings.includes(`config: ${path}: supported by Kratos, not by Tessera; ignored`), `${path} in ${warnings.join(" | ")}`);
      }
      assert.equal(config.hashers.algorithm, "bcrypt");
      assert.equal(config.hashers.bcrypt.cost, 8);
      assert.equal(config.ciphers.algorithm, "xchacha20-poly1305");
      assert.deepEqual(config.secrets.cookie, ["PLEASE-CHANGE-ME-I-AM-VERY-INSECURE"]);
      assert.equal(config.log.level, "debug");
      assert.equal(config.serve.admin.base_url, "http://kratos:4434/");
      assert.equal(config.serve.public.cors.enabled, true);
      assert.deepEqual(config.selfservice.flows.registration.after.password.hooks.map((h) => h.hook)[0], "session");
      assert.equal(config.identity.schemas[0].url, pathToFileURL(schemaFile).href);
      assert.ok(existsSync(fileURLToPath(config.identity.schemas[0].url)));
      assert.equal(config.identity.default_schema_id, "default");
    });
  }

  it("keeps the file's values and converts durations", async () => {
    const { config } = await loadConfig({ file: join(testdata, "quickstart-email-password.kratos.yml"), env: { SECRETS_DEFAULT: SECRET } });
    assert.equal(config.selfservice.flows.login.lifespan, 10 * 60_000);
    assert.equal(config.selfservice.flows.settings.privileged_session_max_age, 15 * 60_000);
    assert.equal(config.selfservice.flows.settings.required_aal, "highest_available");
    assert.equal(config.selfservice.methods.link.enabled, true);
    assert.equal(config.courier.smtp.connection_uri, "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true");
    assert.deepEqual(config.selfservice.flows.registration.after.password.hooks, [{ hook: "session" }, { hook: "show_verification_ui" }]);
  });
});

describe("validation errors: one line naming the path", () => {
  it("wrong type", async () => {
    await expectError(`${MINIMAL}\nserve:\n  public:\n    port: abc\n`, "config: /serve/public/port: must be integer");
  });
  it("out of range", async () => {
    await expectError(`${MINIMAL}\nsecurity:\n  brute_force:\n    identifier:\n      max_consecutive_failures: 101\n`, "config: /security/brute_force/identifier/max_consecutive_failures: must be <= 100");
  });
  it("bad duration and byte size", async () => {
    await expectError(`${MINIMAL}\nsession:\n  lifespan: 1 day\n`, "config: /session/lifespan: must be a duration such as 1h, 10m, 30s or 500ms");
    await expectError(`${MINIMAL}\nhashers:\n  argon2:\n    memory: lots\n`, "config: /hashers/argon2/memory: must be a byte size such as 128MB, 19MiB or 64KB");
  });
  it("enum", async () => {
    await expectError(`${MINIMAL}\nlog:\n  format: xml\n`, 'config: /log/format: must be one of "json", "text"');
  });
  it("unknown key known neither to us nor to Kratos", async () => {
    await expectError(`${MINIMAL.replace("selfservice:", "selfservice:\n  flowz: {}")}`, "config: /selfservice/flowz: unknown key");
    await expectError(`${MINIMAL}\nserve:\n  public:\n    cors:\n      allowed_origin: ["x"]\n`, "config: /serve/public/cors/allowed_origin: unknown key");
    await expectError(`${MINIMAL}\nsecurity:\n  brute_force:\n    typo: 1\n`, "config: /security/brute_force/typo: unknown key");
  });
  it("missing required keys", async () => {
    await expectError("dsn: memory\nselfservice:\n  default_browser_return_url: http://x/\n", "config: /identity: is required");
    await expectError(MINIMAL.replace("dsn: memory", ""), "config: /dsn: is required");
    await expectError(MINIMAL.replace(/identity:[\s\S]*?selfservice:/, "identity:\n  schemas: []\nselfservice:"), "config: /identity/schemas: must NOT have fewer than 1 items");
    await expectError(MINIMAL.replace("      url: file://./identity.schema.json\n", ""), "config: /identity/schemas/0/url: is required");
  });
  it("a Kratos-only key with a value Kratos itself refuses is an error, not a warning", async () => {
    await expectError(`${MINIMAL.replace("selfservice:", "selfservice:\n  methods:\n    totp:\n      enabled: yes-please")}`, "config: /selfservice/methods/totp/enabled: must be boolean");
  });
  it("cross-key rules", async () => {
    await expectError(`${MINIMAL}\nciphers:\n  algorithm: aes\n`, "config: /secrets/cipher: is required when ciphers.algorithm is aes");
    await expectError(MINIMAL.replace("schemas:", "default_schema_id: other\n  schemas:"), 'config: /identity/default_schema_id: no schema in /identity/schemas has id "other"');
  });
  it("unreadable or non-object file", async () => {
    const path = await file("list.yml", "- a\n- b\n");
    await assert.rejects(loadConfig({ file: path, env: {} }), /^ConfigError: config: .*list\.yml must hold an object at the top level$/);
    await assert.rejects(loadConfig({ file: join(dir, "missing.yml"), env: {} }), (e: unknown) => e instanceof ConfigError && e.message.startsWith("config: cannot read"));
  });
});

describe("unsupported hooks", () => {
  it("strips web_hook with a warning and keeps ours", async () => {
    const yaml = MINIMAL.replace(
      "selfservice:",
      `selfservice:
  flows:
    registration:
      after:
        password:
          hooks:
            - hook: web_hook
              config:
                url: https://example.org/hook
                method: POST
                body: base64://e30=
            - hook: session`,
    );
    const { config, warnings } = await loadConfig({ file: await file("hooks.yml", yaml), env: {} });
    assert.deepEqual(config.selfservice.flows.registration.after.password.hooks, [{ hook: "session" }]);
    assert.deepEqual(warnings, ['config: /selfservice/flows/registration/after/password/hooks/0: hook "web_hook" is supported by Kratos, not by Tessera; ignored']);
  });
  it("refuses a hook Kratos does not allow there either", async () => {
    await expectError(
      MINIMAL.replace("selfservice:", "selfservice:\n  flows:\n    login:\n      after:\n        password:\n          hooks:\n            - hook: session"),
      'config: /selfservice/flows/login/after/password/hooks/0/hook: must be one of "revoke_active_sessions", "require_verified_address", "verification", "show_verification_ui"',
    );
  });
});

describe("environment overrides (Kratos convention)", () => {
  it("applies scalars, arrays, indexes and underscore keys; ignores unrelated variables", async () => {
    const { config, envApplied } = await loadConfig({
      file: await file("env.yml", MINIMAL),
      cwd: dir,
      env: {
        PATH: "/usr/bin",
        HOME: "/root",
        SERVE_PUBLIC_PORT: "4455",
        SERVE_PUBLIC_BASE_URL: "https://auth.example.org",
        SERVE_ADMIN_API_KEYS: "k".repeat(32) + "," + "j".repeat(32),
        SECRETS_DEFAULT: "aaaaaaaaaaaaaaaa1,bbbbbbbbbbbbbbbb2",
        SECRETS_DEFAULT_0: "cccccccccccccccc3",
        SECRETS_COOKIE_0: "dddddddddddddddd4",
        SELFSERVICE_FLOWS_LOGIN_UI_URL: "https://app.example.org/login",
        SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED: "false",
        LOG_LEVEL: "debug",
        SESSION_LIFESPAN: "2h",
        HASHERS_ARGON2_MEMORY: "64KB",
      },
    });
    assert.equal(config.serve.public.port, 4455);
    assert.equal(config.serve.public.base_url, "https://auth.example.org/");
    assert.deepEqual(config.serve.admin.api_keys, ["k".repeat(32), "j".repeat(32)]);
    assert.deepEqual(config.secrets.default, ["cccccccccccccccc3", "bbbbbbbbbbbbbbbb2"]);
    assert.deepEqual(config.secrets.cookie, ["dddddddddddddddd4"]);
    assert.equal(config.selfservice.flows.login.ui_url, "https://app.example.org/login");
    assert.equal(config.selfservice.methods.password.config.haveibeenpwned_enabled, false);
    assert.equal(config.log.level, "debug");
    assert.equal(config.session.lifespan, 2 * 3_600_000);
    assert.equal(config.hashers.argon2.memory, 65536);
    assert.ok(!envApplied.includes("PATH") && envApplied.includes("SERVE_PUBLIC_PORT"));
  });
  it("DSN and JSON values", async () => {
    const { config } = await loadConfig({
      file: await file("env2.yml", MINIMAL),
      env: { DSN: "postgres://u@127.0.0.1/db", IDENTITY_SCHEMAS: JSON.stringify([{ id: "a", url: "https://x.example/a.json" }, { id: "default", url: "base64://e30=" }]) },
    });
    assert.equal(config.dsn, "postgres://u@127.0.0.1/db");
    assert.deepEqual(config.identity.schemas.map((s) => s.id), ["a", "default"]);
  });
  it("an uncoercible value fails validation naming the path", async () => {
    await expectError(MINIMAL, "config: /serve/public/port: must be integer", { SERVE_PUBLIC_PORT: "http" });
  });
  it("precedence: file < env < overrides", async () => {
    const { config } = await loadConfig({
      file: await file("prec.yml", `${MINIMAL}\nlog:\n  level: warning\n  format: text\n`),
      env: { LOG_LEVEL: "debug", LOG_FORMAT: "json" },
      overrides: { log: { level: "error" } },
    });
    assert.equal(config.log.level, "error");
    assert.equal(config.log.format, "json");
  });
});

describe("defaults, computed fallbacks and freezing", () => {
  it("applies our defaults and Kratos's fallbacks", async () => {
    const { config, warnings, configDir } = await loadConfig({ file: await file("min.yml", MINIMAL), env: {}, cwd: dir });
    assert.deepEqual(warnings, []);
    assert.equal(configDir, dir);
    assert.equal(config.serve.public.port, 4433);
    assert.equal(config.serve.public.host, "0.0.0.0");
    assert.equal(config.serve.public.base_url, "http://127.0.0.1:4433/");
    assert.equal(config.serve.admin.host, "127.0.0.1");
    assert.equal(config.serve.admin.base_url, "http://127.0.0.1:4434/");
    assert.equal(config.serve.admin.allow_unauthenticated, false);
    assert.equal(config.serve.public.request_body_limit, 1024 * 1024);
    assert.equal(config.session.lifespan, 24 * 3_600_000);
    assert.equal(config.session.earliest_possible_extend, config.session.lifespan);
    assert.equal(config.session.cookie.name, "ory_kratos_session");
    assert.equal(config.session.cookie.same_site, "Lax");
    assert.equal(config.session.cookie.path, "/");
    assert.equal(config.hashers.algorithm, "argon2");
    assert.equal(config.hashers.argon2.memory, 19 * 1024 * 1024);
    assert.equal(config.hashers.argon2.dedicated_memory, 1024 ** 3);
    assert.equal(config.hashers.argon2.iterations, 2);
    assert.equal(config.security.account_enumeration.mitigate, true);
    assert.equal(config.security.brute_force.identifier.max_delay, 15 * 60_000);
    assert.equal(config.selfservice.methods.password.config.min_password_length, 8);
    assert.equal(config.selfservice.flows.recovery.use, "code");
    assert.equal(config.courier.worker.pull_wait, 1000);
    assert.equal(config.identity.schemas[0].url, pathToFileURL(join(dir, "identity.schema.json")).href);
  });
  it("session cookie settings fall back to cookies.*", async () => {
    const { config } = await loadConfig({ file: await file("ck.yml", `${MINIMAL}\ncookies:\n  domain: example.org\n  same_site: Strict\n  path: /auth\n`), env: {} });
    assert.deepEqual({ ...config.session.cookie }, { name: "ory_kratos_session", persistent: true, same_site: "Strict", path: "/auth", domain: "example.org" });
  });
  it("is deeply frozen", async () => {
    const { config } = await loadConfig({ file: await file("frozen.yml", MINIMAL), env: {} });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.serve.public.cors.allowed_methods));
    assert.throws(() => {
      (config.serve.public as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => (config.identity.schemas as unknown[]).push({}), TypeError);
  });
  it("reads JSON files too", async () => {
    const path = join(dir, "c.json");
    await writeFile(path, JSON.stringify({ dsn: "memory", identity: { schemas: [{ id: "default", url: "https://x.example/s.json" }] }, selfservice: { default_browser_return_url: "http://x/" }, secrets: { default: [SECRET] } }));
    const { config } = await loadConfig({ file: path, env: {} });
    assert.equal(config.identity.schemas[0].url, "https://x.example/s.json");
  });
});

describe("secrets", () => {
  const NO_SECRET = MINIMAL.replace(/secrets:[\s\S]*$/, "");
  it("production refuses to start without secrets.default", async () => {
    await expectError(NO_SECRET, "config: /secrets/default: required outside --dev");
  });
  it("commands that need no secrets can opt out", async () => {
    const { config } = await loadConfig({ file: await file("nosecret.yml", NO_SECRET), env: {}, requireSecrets: false });
    assert.deepEqual(config.secrets.default, []);
  });
  it("dev mode generates a secret in the SQLite data dir and reuses it", async () => {
    const work = await mkdtemp(join(dir, "dev-"));
    const path = await file("dev.yml", NO_SECRET.replace("dsn: memory", "dsn: sqlite://./state/tessera.db?_fk=true"));
    const first = await loadConfig({ file: path, env: {}, dev: true, cwd: work });
    const secret = first.config.secrets.default[0];
    assert.match(secret, /^[0-9a-f]{64}$/);
    const stored = join(work, "state", "secret");
    assert.equal((await readFile(stored, "utf8")).trim(), secret);
    assert.equal((await stat(stored)).mode & 0o777, 0o600);
    const second = await loadConfig({ file: path, env: {}, dev: true, cwd: work });
    assert.equal(second.config.secrets.default[0], secret);
  });
  it("dev mode with a non-file DSN uses ./data", async () => {
    const work = await mkdtemp(join(dir, "dev-mem-"));
    const { config } = await loadConfig({ file: await file("devmem.yml", NO_SECRET), env: {}, dev: true, cwd: work });
    assert.equal((await readFile(join(work, "data", "secret"), "utf8")).trim(), config.secrets.default[0]);
  });
  it("an explicit secret wins in dev mode and nothing is written", async () => {
    const work = await mkdtemp(join(dir, "dev-explicit-"));
    const { config } = await loadConfig({ file: await file("devx.yml", MINIMAL), env: {}, dev: true, cwd: work });
    assert.deepEqual(config.secrets.default, [SECRET]);
    assert.equal(existsSync(join(work, "data", "secret")), false);
  });
});

describe("bundled dev config", () => {
  it("config/dev.kratos.yml loads without warnings from the repo root", async () => {
    const { config, warnings } = await loadConfig({ file: "config/dev.kratos.yml", env: { SECRETS_DEFAULT: SECRET }, cwd: repoRoot });
    assert.deepEqual(warnings, []);
    assert.equal(config.dsn, "sqlite://./data/tessera.db");
    assert.equal(config.serve.public.base_url, "http://127.0.0.1:4433/");
    assert.equal(config.serve.admin.allow_unauthenticated, true);
    assert.equal(config.log.format, "text");
    assert.deepEqual(config.selfservice.flows.registration.after.password.hooks, [{ hook: "session" }]);
    const schemaPath = fileURLToPath(config.identity.schemas[0].url);
    const schema = JSON.parse(await readFile(schemaPath, "utf8")) as { properties: { traits: { required: string[] } } };
    assert.deepEqual(schema.properties.traits.required, ["email"]);
  });
});

it("verification is on by default (our default, unlike Kratos), so registration can hide existing accounts", async () => {
  const { config } = await loadConfig({
    overrides: {
      dsn: "memory",
      secrets: { default: ["a-secret-of-at-least-16"] },
      identity: { schemas: [{ id: "default", url: "base64://e30=" }] },
      selfservice: { default_browser_return_url: "http://127.0.0.1:4455/" },
    },
    env: {},
  });
  assert.equal(config.selfservice.flows.verification.enabled, true);
  assert.equal(config.security.account_enumeration.mitigate, true);
});
