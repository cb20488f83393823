/**
 * Identity schemas: loaded once at start from their configured URLs, checked against Kratos's identity meta-schema
 * (`identity_meta.schema.json` + `identity_extension.schema.json`, copied beside this file), compiled once with ajv.
 * The registry validates traits (Kratos message ids), normalizes identifier fields and extracts identifiers and
 * addresses from the `ory.sh/kratos` extension.
 */
import { readFile } from "node:fs/promises";
import { Ajv } from "ajv";
import type { ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FormatsPlugin } from "ajv-formats";
import { validationGeneric } from "../../ui/messages.ts";
import { toTraitsValidationErrors } from "./errors.ts";
import type { TraitsValidationError } from "./errors.ts";
import { visitExtensionValues } from "./fields.ts";
import type { AddressVia } from "./fields.ts";
import { normalizeIdentifier, normalizeTraitValue, toE164 } from "./normalize.ts";
import { readSchemaSource } from "./source.ts";

export type { TraitsValidationError } from "./errors.ts";

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some setups.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

export interface IdentitySchema {
  id: string;
  /** The configured URL. */
  url: string;
  /** The parsed JSON Schema. */
  schema: Record<string, unknown>;
}

export type CredentialIdentifierType = "password" | "code" | "webauthn" | "passkey" | "totp";

export interface ExtractedTraits {
  /** Normalized, de-duplicated per credential type (passkey: display names, totp: account names). */
  identifiers: Record<CredentialIdentifierType, string[]>;
  verifiable_addresses: Array<{ value: string; via: AddressVia }>;
  recovery_addresses: Array<{ value: string; via: AddressVia }>;
}

export interface IdentitySchemaRegistry {
  ids(): string[];
  get(id: string): IdentitySchema | undefined;
  defaultId: string;
  /**
   * Validates traits against the schema as they would be stored (after `normalizeTraits`, so " A@B.COM " passes);
   * returns [] when valid. Never throws: non-object traits give a type error, an unknown schema id a generic one.
   */
  validateTraits(schemaId: string, traits: unknown): TraitsValidationError[];
  /**
   * `validateTraits` and `normalizeTraits` in one pass: the normalized copy (what `normalizeTraits` returns; for
   * non-object traits a copy of them) and the validation errors ([] when valid).
   */
  checkTraits(schemaId: string, traits: unknown): { traits: unknown; errors: TraitsValidationError[] };
  /** A copy of the traits with identifier/address fields normalized (email trimmed+NFKC+lower-case, phone E.164). */
  normalizeTraits(schemaId: string, traits: Record<string, unknown>): Record<string, unknown>;
  /** Identifiers per credential type and the verifiable/recovery addresses the extension declares. */
  extract(schemaId: string, traits: Record<string, unknown>): ExtractedTraits;
}

/** A schema could not be used; the message is one line naming the schema id and the problem. */
export class SchemaLoadError extends Error {
  constructor(
    readonly schemaId: string,
    problem: string,
  ) {
    super(`identity schema "${schemaId}": ${problem}`.replace(/\s*\n\s*/g, " "));
    this.name = "SchemaLoadError";
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function newAjv(): Ajv {
  // strict: false so unknown keywords are annotations, as in Kratos (ory/jsonschema ignores them). That is also how
  // `ory.sh/kratos` passes: ajv cannot register it as a keyword (its names may not hold "." or "/"); fields.ts reads it.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
  addFormats(ajv);
  ajv.addFormat("tel", { type: "string", validate: (v: string) => toE164(v) !== undefined });
  ajv.addFormat("no-validate", { type: "string", validate: () => true });
  return ajv;
}

let metaValidator: Promise<ValidateFunction> | undefined;

/** The identity meta-schema, compiled once per process. */
function identityMetaValidator(): Promise<ValidateFunction> {
  metaValidator ??= (async () => {
    const read = async (name: string) => JSON.parse(await readFile(new URL(`./${name}`, import.meta.url), "utf8")) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(await read("identity_extension.schema.json"));
    ajv.addSchema(await read("identity_meta.schema.json"));
    return ajv.getSchema("ory://identity-meta") as ValidateFunction;
  })();
  return metaValidator;
}

function describeMetaErrors(v: ValidateFunction): string {
  const first = (v.errors ?? []).find((e) => e.keyword !== "allOf" && e.keyword !== "if") ?? v.errors?.[0];
  if (!first) return "violates the identity meta-schema";
  return `violates the identity meta-schema at ${first.instancePath || "/"}: ${first.message ?? first.keyword}${
    first.params && "allowedValues" in first.params ? ` (${JSON.stringify(first.params.allowedValues)})` : ""
  }${first.params && "additionalProperty" in first.params ? ` ("${String(first.params.additionalProperty)}")` : ""}`;
}

/** Compiled validators by document text: identical schemas (tests, several ids on one file) compile once. */
const compiled = new Map<string, ValidateFunction>();

interface Loaded {
  def: IdentitySchema;
  validate: ValidateFunction;
}

async function loadOne(s: { id: string; url: string }, baseDir: string, fetchImpl: typeof fetch): Promise<Loaded> {
  let raw: string;
  try {
    raw = await readSchemaSource(s.url, baseDir, fetchImpl);
  } catch (e) {
    throw new SchemaLoadError(s.id, (e as Error).message);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(raw);
  } catch (e) {
    throw new SchemaLoadError(s.id, `${s.url} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(schema)) throw new SchemaLoadError(s.id, `${s.url} is not a JSON object`);
  const cached = compiled.get(raw);
  if (cached) return { def: { id: s.id, url: s.url, schema }, validate: cached };
  const ajv = newAjv();
  if (!ajv.validateSchema(schema)) {
    const e = ajv.errors?.[0];
    throw new SchemaLoadError(s.id, `is not a valid JSON Schema at ${e?.instancePath || "/"}: ${e?.message ?? "invalid"}`);
  }
  const meta = await identityMetaValidator();
  if (!meta(schema)) throw new SchemaLoadError(s.id, describeMetaErrors(meta));
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (e) {
    throw new SchemaLoadError(s.id, `cannot be compiled: ${(e as Error).message}`);
  }
  if (compiled.size < 64) compiled.set(raw, validate);
  return { def: { id: s.id, url: s.url, schema }, validate };
}

const uniq = (xs: string[]): string[] => [...new Set(xs.filter((x) => x !== ""))];

/** Loads, checks and compiles every configured schema. Throws SchemaLoadError on the first unusable one. */
export async function loadIdentitySchemas(opts: {
  schemas: Array<{ id: string; url: string }>;
  defaultId: string;
  baseDir: string;
  fetch?: typeof fetch;
}): Promise<IdentitySchemaRegistry> {
  const seen = new Set<string>();
  for (const s of opts.schemas) {
    if (seen.has(s.id)) throw new SchemaLoadError(s.id, "is configured twice");
    seen.add(s.id);
  }
  if (!seen.has(opts.defaultId)) {
    throw new SchemaLoadError(opts.defaultId, "is the default_schema_id but no schema with that id is configured");
  }
  const loaded = await Promise.all(opts.schemas.map((s) => loadOne(s, opts.baseDir, opts.fetch ?? fetch)));
  const byId = new Map(loaded.map((l) => [l.def.id, l]));

  function normalizeTraits(schemaId: string, traits: Record<string, unknown>): Record<string, unknown> {
    const copy = structuredClone(traits);
    const l = byId.get(schemaId);
    if (!l || !isObj(copy)) return copy;
    visitExtensionValues(l.def.schema, copy, (field, value, set) => set(normalizeTraitValue(value, field.kind)));
    return copy;
  }

  function checkTraits(schemaId: string, traits: unknown): { traits: unknown; errors: TraitsValidationError[] } {
    const normalized = isObj(traits) ? normalizeTraits(schemaId, traits) : structuredClone(traits);
    const l = byId.get(schemaId);
    if (!l) return { traits: normalized, errors: [{ pointer: "#/schema_id", name: "schema_id", message: validationGeneric(`identity schema "${schemaId}" is not configured`) }] };
    // ajv here neither coerces nor removes anything: the validated data is the normalized copy as returned.
    if (l.validate({ traits: normalized ?? null })) return { traits: normalized, errors: [] };
    return { traits: normalized, errors: toTraitsValidationErrors(l.validate.errors) };
  }

  return {
    defaultId: opts.defaultId,
    ids: () => [...byId.keys()],
    get: (id) => byId.get(id)?.def,
    normalizeTraits,

    validateTraits: (schemaId, traits) => checkTraits(schemaId, traits).errors,
    checkTraits,

    extract(schemaId, traits) {
      const out: ExtractedTraits = {
        identifiers: { password: [], code: [], webauthn: [], passkey: [], totp: [] },
        verifiable_addresses: [],
        recovery_addresses: [],
      };
      const l = byId.get(schemaId);
      if (!l || !isObj(traits)) return out;
      // Read only (the setter is never called): the caller's traits are walked as they are.
      visitExtensionValues(l.def.schema, traits, (field, value) => {
        const ext = field.extension ?? {};
        const c = ext.credentials ?? {};
        const id = normalizeIdentifier(value, field.kind);
        if (c.password?.identifier) out.identifiers.password.push(id);
        if (c.webauthn?.identifier) out.identifiers.webauthn.push(id);
        if (c.code?.identifier) out.identifiers.code.push(normalizeIdentifier(value, c.code.via === "sms" ? "phone" : c.code.via === "email" ? "email" : field.kind));
        if (c.passkey?.display_name) out.identifiers.passkey.push(normalizeTraitValue(value, field.kind));
        if (c.totp?.account_name) out.identifiers.totp.push(normalizeTraitValue(value, field.kind));
        if (ext.verification?.via) out.verifiable_addresses.push({ value: normalizeIdentifier(value, ext.verification.via === "sms" ? "phone" : "email"), via: ext.verification.via });
        if (ext.recovery?.via) out.recovery_addresses.push({ value: normalizeIdentifier(value, ext.recovery.via === "sms" ? "phone" : "email"), via: ext.recovery.via });
      });
      for (const k of Object.keys(out.identifiers) as CredentialIdentifierType[]) out.identifiers[k] = uniq(out.identifiers[k]);
      const uniqAddr = (xs: ExtractedTraits["recovery_addresses"]) => {
        const keys = new Set<string>();
        return xs.filter((a) => a.value !== "" && !keys.has(`${a.via}:${a.value}`) && keys.add(`${a.via}:${a.value}`));
      };
      out.verifiable_addresses = uniqAddr(out.verifiable_addresses);
      out.recovery_addresses = uniqAddr(out.recovery_addresses);
      return out;
    },
  };
}
