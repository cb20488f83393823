import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { errors } from "../util/app-error.ts";

/**
 * JSON Schemas of the admin identity request bodies (Kratos's `createIdentityBody` / `updateIdentityBody`), compiled
 * once. A body that does not match answers 400 naming the JSON pointer and the problem.
 */
export interface ImportedVerifiableAddress {
  value: string;
  via: "email" | "sms";
  verified?: boolean;
  status?: string;
  verified_at?: string | null;
}
export interface CredentialsImport {
  password?: { config?: { hashed_password?: string; password?: string; use_password_migration_hook?: boolean } };
  [type: string]: unknown;
}
export interface CreateIdentityBody {
  schema_id: string;
  traits: Record<string, unknown>;
  state?: "active" | "inactive";
  metadata_public?: unknown;
  metadata_admin?: unknown;
  external_id?: string;
  organization_id?: string | null;
  credentials?: CredentialsImport;
  verifiable_addresses?: ImportedVerifiableAddress[];
  recovery_addresses?: Array<{ value: string; via: string }>;
}
export interface PatchedIdentityBody extends UpdateIdentityBody {
  organization_id?: string | null;
  verifiable_addresses?: ImportedVerifiableAddress[];
  recovery_addresses?: Array<{ value: string; via: string }>;
}
export interface UpdateIdentityBody {
  schema_id: string;
  traits: Record<string, unknown>;
  state: "active" | "inactive";
  metadata_public?: unknown;
  metadata_admin?: unknown;
  external_id?: string;
  credentials?: CredentialsImport;
}

const uuid = { type: "string", pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" };
const credentials = {
  type: "object",
  properties: {
    password: {
      type: "object",
      properties: {
        config: {
          type: "object",
          properties: {
            hashed_password: { type: "string", maxLength: 4096 },
            password: { type: "string", maxLength: 4096 },
            use_password_migration_hook: { type: "boolean" },
          },
        },
      },
    },
  },
};
const common = {
  schema_id: { type: "string", minLength: 1, maxLength: 255 },
  traits: { type: "object" },
  state: { type: "string", enum: ["active", "inactive"] },
  external_id: { type: "string", maxLength: 255 },
  credentials,
};

/**
 * The organization and address fields that create and a patched document share; `required` names what each verifiable
 * address must carry (a patch edits existing addresses, so their `verified` must be there).
 */
const addressFields = (required: string[]) => ({
  organization_id: { anyOf: [uuid, { type: "null" }] },
  verifiable_addresses: {
    type: "array",
    maxItems: 100,
    items: {
      type: "object",
      required,
      properties: {
        value: { type: "string", maxLength: 255 },
        via: { type: "string", enum: ["email", "sms"] },
        verified: { type: "boolean" },
        status: { type: "string", maxLength: 16 },
        verified_at: { type: ["string", "null"] },
      },
    },
  },
  recovery_addresses: {
    type: "array",
    maxItems: 100,
    items: { type: "object", required: ["value", "via"], properties: { value: { type: "string", maxLength: 255 }, via: { type: "string" } } },
  },
});

const createSchema = {
  type: "object",
  required: ["schema_id", "traits"],
  properties: {
    ...common,
    ...addressFields(["value", "via"]),
  },
};

const updateSchema = { type: "object", required: ["schema_id", "traits", "state"], properties: common };

/**
 * The identity document after a JSON Patch: the update fields plus what a patch may also change (as Kratos): the
 * organization and the verification state of the verifiable addresses. Addresses keep their wire shape; ids and
 * timestamps in them are ignored (the server owns those).
 */
const patchedSchema = {
  type: "object",
  required: ["schema_id", "traits", "state"],
  properties: {
    ...common,
    ...addressFields(["value", "via", "verified"]),
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
const validateCreate = ajv.compile<CreateIdentityBody>(createSchema);
const validateUpdate = ajv.compile<UpdateIdentityBody>(updateSchema);
const validatePatched = ajv.compile<PatchedIdentityBody>(patchedSchema);

function describe(e: ErrorObject): string {
  const path = e.instancePath || "/";
  if (e.keyword === "required") return `${path === "/" ? "" : path}/${(e.params as { missingProperty: string }).missingProperty}: property is missing`;
  return `${path}: ${e.message ?? "is invalid"}`;
}

function check<T>(fn: ValidateFunction<T>, raw: unknown): T {
  if (!fn(raw)) {
    const e = fn.errors?.[0];
    throw errors.badRequest(e ? `Invalid request body: ${describe(e)}` : "Invalid request body");
  }
  return raw;
}

export const validateCreateBody = (raw: unknown): CreateIdentityBody => check(validateCreate, raw);
export const validateUpdateBody = (raw: unknown): UpdateIdentityBody => check(validateUpdate, raw);
export const validatePatchedBody = (raw: unknown): PatchedIdentityBody => check(validatePatched, raw);
