/**
 * Loads the configuration once at start: file (YAML or JSON, Kratos key names) -> environment overrides (Kratos's
 * convention) -> explicit overrides -> keys Kratos knows but we do not support are stripped with a warning -> strict
 * validation against our schema (`schema.json`) with defaults -> units converted -> computed fallbacks -> secrets rule ->
 * deep freeze. Any problem throws `ConfigError` whose message is one line naming the key path and the problem,
 * e.g. `config: /serve/public/port: must be integer`; the CLI prints it and exits with code 1.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import type { Config } from "./config.ts";
import { isGoDuration, tryParseByteSize } from "./config.ts";
import { applyEnvOverrides, isObject } from "./env.ts";
import type { JsonObject } from "./env.ts";
import { applyComputedDefaults, convertUnits, dataDirFromDsn, deepFreeze, devSecret } from "./finalize.ts";
import { checkAgainstKratos, kratosPointers } from "./kratos-keys.ts";

/** The one error of configuration loading. `message` is a single line starting with `config: `. */
export class ConfigError extends Error {
  /** JSON pointer of the offending key ("" for the file as a whole). */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`config: ${path === "" ? "" : `${path}: `}${problem}`.replace(/\s*\n\s*/g, " "));
    this.name = "ConfigError";
    this.path = path;
  }
}

export interface LoadConfigOptions {
  /** Path of a YAML or JSON file; without it the config comes from `env` and `overrides` alone. */
  file?: string;
  /** Environment to read overrides from; defaults to `process.env`. Pass `{}` to ignore the environment. */
  env?: NodeJS.ProcessEnv;
  /** `--dev`: a missing `secrets.default` is generated once and kept in `<data dir>/secret`. */
  dev?: boolean;
  /** Values merged over file and environment (objects merge, everything else replaces). Highest precedence. */
  overrides?: object;
  /**
   * Default true. `false` is for commands that never sign or encrypt (migrate, identities import/export, hashers):
   * outside dev mode a missing `secrets.default` then loads as `[]` instead of failing.
   */
  requireSecrets?: boolean;
  /** Working directory for relative paths (file URLs, the SQLite data dir); defaults to `process.cwd()`. */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** One line each, e.g. `config: /selfservice/methods/totp: supported by Kratos, not by Tessera; ignored`. */
  warnings: string[];
  /** Directory of the config file, or the working directory when there is none. */
  configDir: string;
  /** Names of the environment variables that were applied, for `security audit`. */
  envApplied: string[];
}

type Schema = JsonObject;

const OUR_HOOKS = new Set(["session", "show_verification_ui", "revoke_active_sessions", "require_verified_address", "verification"]);

let ourSchema: Schema | undefined;
let validator: ValidateFunction | undefined;

/** Our config schema (parsed `schema.json`). */
export function configSchema(): Schema {
  ourSchema ??= JSON.parse(readFileSync(new URL("./schema.json", import.meta.url), "utf8")) as Schema;
  return ourSchema;
}

function validate(): ValidateFunction {
  if (!validator) {
    const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addFormat("go-duration", { type: "string", validate: isGoDuration });
    ajv.addFormat("byte-size", { type: "string", validate: (s: string) => tryParseByteSize(s) !== null });
    ajv.addFormat("ip-or-cidr", { type: "string", validate: isIpOrCidr });
    validator = ajv.compile(configSchema());
  }
  return validator;
}

function isIpOrCidr(s: string): boolean {
  const [ip, bits, extra] = s.split("/");
  if (extra !== undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function pointer(segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function segmentsOf(ptr: string): string[] {
  return ptr === "" ? [] : ptr.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function describe(err: ErrorObject): [string, string] {
  switch (err.keyword) {
    case "required":
      return [`${err.instancePath}/${String(err.params.missingProperty)}`, "is required"];
    case "additionalProperties":
      return [`${err.instancePath}/${String(err.params.additionalProperty)}`, "unknown key"];
    case "enum":
      return [err.instancePath, `must be one of ${(err.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`];
    case "format":
      if (err.params.format === "go-duration") return [err.instancePath, "must be a duration such as 1h, 10m, 30s or 500ms"];
      if (err.params.format === "byte-size") return [err.instancePath, "must be a byte size such as 128MB, 19MiB or 64KB"];
      return [err.instancePath, err.message ?? "is invalid"];
    case "maxItems":
      if (err.params.limit === 0) return [err.instancePath, "must be empty: Tessera supports no hooks here"];
      return [err.instancePath, err.message ?? "is invalid"];
    default:
      return [err.instancePath, err.message ?? "is invalid"];
  }
}

/** Deep merge of plain objects; arrays and scalars from `source` replace. Mutates and returns `target`. */
function merge(target: JsonObject, source: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    const cur = target[k];
    target[k] = isObject(v) && isObject(cur) ? merge(cur, v) : structuredClone(v);
  }
  return target;
}

function removeAt(root: JsonObject, segments: string[]): void {
  let cur: unknown = root;
  for (const s of segments.slice(0, -1)) cur = (cur as Record<string, unknown>)[s];
  const last = segments[segments.length - 1];
  if (Array.isArray(cur)) cur.splice(Number(last), 1);
  else if (isObject(cur)) delete cur[last];
}

function getAt(root: unknown, segments: string[]): unknown {
  let cur = root;
  for (const s of segments) cur = (cur as Record<string, unknown> | undefined)?.[s];
  return cur;
}

/** Strips one key Kratos knows and we do not, or throws when Kratos does not know it (or would refuse its value). */
function stripUnsupported(raw: JsonObject, segments: string[], warnings: string[]): void {
  const ptr = pointer(segments);
  const pointers = kratosPointers(segments);
  if (pointers.length === 0) throw new ConfigError(ptr, "unknown key");
  const complaint = checkAgainstKratos(pointers, getAt(raw, segments));
  if (complaint) throw new ConfigError(ptr + complaint[0], complaint[1]);
  removeAt(raw, segments);
  warnings.push(`config: ${ptr}: supported by Kratos, not by Tessera; ignored`);
}

/** Hook entries (`web_hook`, `b2b_sso`, ...) Kratos accepts and we do not implement: removed with a warning. */
function stripUnsupportedHooks(raw: JsonObject, warnings: string[]): void {
  const visit = (node: unknown, segments: string[]): void => {
    if (Array.isArray(node)) {
      if (segments[segments.length - 1] === "hooks") {
        for (let i = node.length - 1; i >= 0; i--) {
          const item: unknown = node[i];
          if (!isObject(item) || typeof item.hook !== "string" || OUR_HOOKS.has(item.hook)) continue;
          if (kratosPointers([...segments, String(i)]).length === 0) continue;
          if (checkAgainstKratos(kratosPointers([...segments, String(i)]), item) !== null) continue;
          node.splice(i, 1);
          warnings.push(`config: ${pointer([...segments, i])}: hook "${item.hook}" is supported by Kratos, not by Tessera; ignored`);
        }
      }
      node.forEach((v, i) => visit(v, [...segments, String(i)]));
    } else if (isObject(node)) {
      for (const [k, v] of Object.entries(node)) visit(v, [...segments, k]);
    }
  };
  visit(raw.selfservice, ["selfservice"]);
}

async function readConfigFile(file: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError("", `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: false });
  } catch (err) {
    throw new ConfigError("", `${file} is not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isObject(parsed)) throw new ConfigError("", `${file} must hold an object at the top level`);
  return parsed;
}

/** See the module comment. Resolves with a frozen `Config`; rejects with `ConfigError` only (or an I/O error for the dev secret). */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file === undefined ? undefined : resolve(cwd, options.file);
  const raw: JsonObject = file === undefined ? {} : await readConfigFile(file);
  const envApplied = applyEnvOverrides(raw, options.env ?? process.env, configSchema()).map((o) => o.variable);
  if (options.overrides) merge(raw, structuredClone(options.overrides) as JsonObject);

  const warnings: string[] = [];
  stripUnsupportedHooks(raw, warnings);

  // Pass 1 on a copy: every key outside our schema is either stripped (Kratos knows it) or fatal.
  const probe = structuredClone(raw);
  if (!validate()(probe)) {
    const unknown = (validate().errors ?? [])
      .filter((e) => e.keyword === "additionalProperties")
      .map((e) => [...segmentsOf(e.instancePath), String(e.params.additionalProperty)]);
    // Deepest array indexes first so removing one item does not shift the next.
    unknown.sort((a, b) => pointer(b).localeCompare(pointer(a)));
    for (const segments of unknown) stripUnsupported(raw, segments, warnings);
  }
  warnings.sort();

  // Pass 2: strict validation with defaults.
  if (!validate()(raw)) {
    const errors = validate().errors ?? [];
    const [path, problem] = describe(errors.find((e) => e.keyword !== "anyOf" && e.keyword !== "if") ?? errors[0]);
    throw new ConfigError(path, problem);
  }

  convertUnits(raw, configSchema());
  applyComputedDefaults(raw, cwd);
  const identity = raw.identity as { default_schema_id: string; schemas: { id: string }[] };
  if (!identity.schemas.some((s) => s.id === identity.default_schema_id)) {
    throw new ConfigError("/identity/default_schema_id", `no schema in /identity/schemas has id ${JSON.stringify(identity.default_schema_id)}`);
  }
  const ids = identity.schemas.map((s) => s.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new ConfigError("/identity/schemas", `duplicate schema id ${JSON.stringify(dup)}`);

  const secrets = raw.secrets as { default?: string[]; cipher?: string[] };
  const cipher = (raw.ciphers as { algorithm: string }).algorithm;
  if (cipher !== "noop" && !(secrets.cipher && secrets.cipher.length > 0)) {
    throw new ConfigError("/secrets/cipher", `is required when ciphers.algorithm is ${cipher}`);
  }
  if (!secrets.default || secrets.default.length === 0) {
    if (options.dev) secrets.default = [await devSecret(dataDirFromDsn(String(raw.dsn), cwd))];
    else if (options.requireSecrets === false) secrets.default = [];
    else throw new ConfigError("/secrets/default", "required outside --dev");
  }

  return {
    config: deepFreeze(raw) as unknown as Config,
    warnings,
    configDir: file === undefined ? cwd : dirname(file),
    envApplied,
  };
}
