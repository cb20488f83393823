import type { Clock } from "../util/clock.ts";
import type { AppError} from "../util/app-error.ts";
import { errors } from "../util/app-error.ts";
import { newId } from "../util/ids.ts";
import { applyJsonPatch, JsonPatchError } from "../util/json-patch.ts";
import type { IdentitySchemaRegistry, TraitsValidationError } from "./schema/registry.ts";
import type { PasswordHasher } from "../security/hash/hasher.ts";
import type { Transaction } from "kysely";
import type { DB } from "../persistence/schema.ts";
import type { IdentityRepo } from "./identity-repo.ts";
import type { Credential, CredentialType, Identity, IdentityState, RecoveryAddress, VerifiableAddress } from "./identity.ts";
import {
  validateCreateBody,
  validatePatchedBody,
  validateUpdateBody,
  type CreateIdentityBody,
  type ImportedVerifiableAddress,
  type UpdateIdentityBody,
} from "./admin-bodies.ts";

/**
 * Creates, updates and deletes identities through one path, used by the admin API, the CLI importer and the
 * self-service flows: traits are validated against the identity schema and normalized, identifiers and addresses are
 * derived from the schema's `ory.sh/kratos` extension, passwords are hashed off the event loop before any transaction.
 */
export interface IdentityServiceDeps {
  repo: IdentityRepo;
  schemas: IdentitySchemaRegistry;
  hasher: PasswordHasher;
  clock: Clock;
}

/** Paths a JSON Patch may not touch (as Kratos). */
const FORBIDDEN_PATCH_PATHS = ["/id", "/credentials", "/created_at", "/updated_at", "/schema_url", "/state_changed_at"];

/**
 * Work that must commit or fail with a new identity (its verification flow, code and outbox message). Called with the
 * identity as it will be stored (ids, derived addresses) BEFORE its transaction begins, so it may use the database
 * (e.g. the message caps); the function it returns runs INSIDE the insert transaction after the identity's rows and
 * must use only `trx`. When the insert fails (a duplicate: 409), the returned function never runs.
 */
export type AfterCreate = (identity: Identity) => Promise<((trx: Transaction<DB>) => Promise<void>) | undefined>;

export interface CreateIdentityOptions {
  afterCreate?: AfterCreate;
}

export function createIdentityService(deps: IdentityServiceDeps) {
  const { repo, schemas, hasher, clock } = deps;

  /** The traits normalized (`normalizeTraits`), or the 400 for traits the schema refuses. */
  function checkedTraits(schemaId: string, traits: unknown): Record<string, unknown> {
    const checked = schemas.checkTraits(schemaId, traits);
    const err = traitsError(checked.errors);
    if (err) throw err;
    return checked.traits as Record<string, unknown>;
  }

  function traitsError(errs: TraitsValidationError[]): AppError | undefined {
    if (errs.length === 0) return undefined;
    const first = errs[0];
    return errors.badRequest(`${first.pointer}: ${first.message.text}`, {
      details: { errors: errs.map((e) => ({ pointer: e.pointer, name: e.name, id: e.message.id, message: e.message.text })) },
      message: "The request was malformed or contained invalid parameters",
    });
  }

  function checkSchemaId(schemaId: string): void {
    if (!schemas.get(schemaId)) {
      throw errors.badRequest(`No identity schema with id "${schemaId}" is configured.`, { message: "The request was malformed or contained invalid parameters" });
    }
  }

  /** Password credential config from an import body: `hashed_password` (checked) or `password` (hashed now). */
  async function passwordConfig(body: CreateIdentityBody["credentials"]): Promise<Record<string, unknown> | undefined> {
    const cfg = body?.password?.config;
    if (!cfg) return undefined;
    if (typeof cfg.hashed_password === "string" && cfg.hashed_password !== "") {
      hasher.validateImport(cfg.hashed_password);
      return { hashed_password: cfg.hashed_password };
    }
    if (typeof cfg.password === "string" && cfg.password !== "") {
      return { hashed_password: await hasher.hash(cfg.password) };
    }
    return undefined;
  }

  /** Key matching an address of the traits with a stored, imported or patched one (same channel, same value). */
  const addressKey = (via: string, value: string): string => `${via}:${value.trim().normalize("NFKC").toLowerCase()}`;

  /** A `verified_at` given by an import or a patch, as a canonical timestamp; 400 when it is not a date-time. */
  function givenTimestamp(v: unknown, pointer: string): string | undefined {
    if (typeof v !== "string" || v === "") return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw errors.badRequest(`Invalid request body: ${pointer}: must be a date-time`);
    return new Date(ms).toISOString();
  }

  /**
   * Derives identifiers and addresses from the (normalized) traits: an address exists if and only if the schema
   * derives it from a trait value, whatever the caller sends.
   *
   * Verification state comes from `given` when the caller sends a list (import on create, the patched document on
   * PATCH, as Kratos): an address of the traits found in the list takes its `verified`/`status`/`verified_at` from it
   * (verified implies status "completed" and a `verified_at`, defaulting to now; unverified drops `verified_at`), an
   * address missing from the list starts over as pending. Without a list (PUT, self-service) an address keeps its
   * stored state. Stored addresses always keep their id and created_at.
   */
  function derive(
    identity: Identity,
    previous: Identity | undefined,
    given: { verifiable?: ImportedVerifiableAddress[] },
    credentialConfigs: Partial<Record<CredentialType, Record<string, unknown>>>,
  ): void {
    const now = clock.now().toISOString();
    const extracted = schemas.extract(identity.schema_id, identity.traits);

    const oldVa = new Map((previous?.verifiable_addresses ?? []).map((a) => [addressKey(a.via, a.value), a]));
    const givenVa = new Map<string, { address: ImportedVerifiableAddress; verifiedAt: string | undefined }>();
    (given.verifiable ?? []).forEach((a, i) => {
      const key = addressKey(a.via, String(a.value));
      const verifiedAt = givenTimestamp(a.verified_at, `/verifiable_addresses/${i}/verified_at`);
      if (!givenVa.has(key)) givenVa.set(key, { address: a, verifiedAt });
    });
    const fresh = (a: { value: string; via: VerifiableAddress["via"] }): VerifiableAddress => ({
      id: newId(),
      value: a.value,
      verified: false,
      via: a.via,
      status: "pending",
      created_at: now,
      updated_at: now,
    });
    identity.verifiable_addresses = extracted.verifiable_addresses.map((a): VerifiableAddress => {
      const key = addressKey(a.via, a.value);
      const old = oldVa.get(key);
      if (given.verifiable === undefined) return old ?? fresh(a);
      const g = givenVa.get(key);
      if (!g) return fresh(a);
      const verified = g.address.verified === true;
      const va: VerifiableAddress = {
        id: old?.id ?? newId(),
        value: a.value,
        verified,
        via: a.via,
        status: verified ? "completed" : g.address.status === "sent" ? "sent" : "pending",
        created_at: old?.created_at ?? now,
        updated_at: now,
      };
      if (verified) va.verified_at = g.verifiedAt ?? (old?.verified ? old.verified_at : undefined) ?? now;
      const unchanged = old && old.verified === va.verified && old.status === va.status && old.verified_at === va.verified_at && old.value === va.value;
      if (unchanged) va.updated_at = old.updated_at;
      return va;
    });
    const oldRa = new Map((previous?.recovery_addresses ?? []).map((a) => [`${a.via}:${a.value}`, a]));
    identity.recovery_addresses = extracted.recovery_addresses.map(
      (a): RecoveryAddress => oldRa.get(`${a.via}:${a.value}`) ?? { id: newId(), value: a.value, via: a.via, created_at: now, updated_at: now },
    );

    // Credentials: keep the previous ones (secrets survive a traits update), refresh their identifiers from the schema.
    const creds: Identity["credentials"] = {};
    const types = new Set<CredentialType>([
      ...(Object.keys(previous?.credentials ?? {}) as CredentialType[]),
      ...(Object.keys(credentialConfigs) as CredentialType[]),
    ]);
    // A schema identifier reserves its value even before a secret exists, so two identities can never share an email.
    if (extracted.identifiers.password.length) types.add("password");
    if (extracted.identifiers.code.length) types.add("code");
    for (const type of types) {
      const old = previous?.credentials[type];
      const identifiers = type in extracted.identifiers ? extracted.identifiers[type as keyof typeof extracted.identifiers] : (old?.identifiers ?? []);
      const config =
        credentialConfigs[type] ??
        (type === "code" ? { addresses: extracted.identifiers.code.map((address) => ({ channel: address.includes("@") ? "email" : "sms", address })) } : undefined) ??
        old?.config ??
        {};
      const changed = !old || credentialConfigs[type] !== undefined || JSON.stringify(old.identifiers) !== JSON.stringify(identifiers);
      const cred: Credential = {
        id: old?.id ?? newId(),
        type,
        identifiers: [...new Set(identifiers)],
        config,
        version: old?.version ?? 0,
        created_at: old?.created_at ?? now,
        updated_at: changed ? now : (old?.updated_at ?? now),
      };
      creds[type] = cred;
    }
    identity.credentials = creds;
  }

  async function create(raw: unknown, opts: CreateIdentityOptions = {}): Promise<Identity> {
    const body = validateCreateBody(raw);
    checkSchemaId(body.schema_id);
    const traits = checkedTraits(body.schema_id, body.traits);
    const pw = await passwordConfig(body.credentials);
    const now = clock.now().toISOString();
    const identity: Identity = {
      id: newId(),
      schema_id: body.schema_id,
      state: (body.state ?? "active") as IdentityState,
      traits,
      metadata_public: body.metadata_public ?? null,
      metadata_admin: body.metadata_admin ?? null,
      organization_id: body.organization_id ?? null,
      verifiable_addresses: [],
      recovery_addresses: [],
      credentials: {},
      created_at: now,
      updated_at: now,
    };
    if (body.external_id !== undefined && body.external_id !== "") identity.external_id = body.external_id;
    // Imported recovery addresses carry nothing the traits do not: they are derived like any other.
    derive(identity, undefined, { verifiable: body.verifiable_addresses }, pw ? { password: pw } : {});
    const within = opts.afterCreate ? await opts.afterCreate(identity) : undefined;
    await repo.insert(identity, { within });
    return identity;
  }

  async function mustGet(id: string): Promise<Identity> {
    const identity = await repo.get(id);
    if (!identity) throw errors.notFound("Unable to locate the resource");
    return identity;
  }

  /** What PUT and PATCH may set. `organization_id` and `verifiable_addresses` only come from a patch. */
  interface Replacement {
    schema_id: string;
    traits: unknown;
    state: IdentityState;
    metadata_public: unknown;
    metadata_admin: unknown;
    external_id?: string;
    organization_id?: string | null;
    verifiable_addresses?: ImportedVerifiableAddress[];
  }

  /** Shared tail of PUT and PATCH: validate, normalize, derive, persist. */
  async function replace(previous: Identity, next: Replacement, pw?: Record<string, unknown>): Promise<Identity> {
    checkSchemaId(next.schema_id);
    const traits = checkedTraits(next.schema_id, next.traits);
    const identity: Identity = {
      ...previous,
      schema_id: next.schema_id,
      state: next.state,
      traits,
      metadata_public: next.metadata_public ?? null,
      metadata_admin: next.metadata_admin ?? null,
      organization_id: next.organization_id === undefined ? previous.organization_id : next.organization_id,
      updated_at: clock.now().toISOString(),
    };
    delete identity.external_id;
    if (next.external_id !== undefined && next.external_id !== "") identity.external_id = next.external_id;
    derive(identity, previous, { verifiable: next.verifiable_addresses }, pw ? { password: pw } : {});
    if (!(await repo.update(identity))) throw errors.notFound("Unable to locate the resource");
    return identity;
  }

  return {
    create,

    get: mustGet,

    async update(id: string, raw: unknown): Promise<Identity> {
      const body: UpdateIdentityBody = validateUpdateBody(raw);
      const previous = await mustGet(id);
      const pw = await passwordConfig(body.credentials);
      return replace(
        previous,
        {
          schema_id: body.schema_id,
          traits: body.traits,
          state: body.state as IdentityState,
          metadata_public: "metadata_public" in body ? body.metadata_public : previous.metadata_public,
          metadata_admin: "metadata_admin" in body ? body.metadata_admin : previous.metadata_admin,
          external_id: "external_id" in body ? body.external_id : previous.external_id,
        },
        pw,
      );
    },

    async patch(id: string, operations: unknown): Promise<Identity> {
      if (!Array.isArray(operations)) throw errors.badRequest("The request body must be a JSON Patch document (an array of operations).");
      for (const op of operations as Array<{ path?: unknown; from?: unknown }>) {
        for (const p of [op?.path, op?.from]) {
          if (typeof p === "string" && FORBIDDEN_PATCH_PATHS.some((f) => p === f || p.startsWith(`${f}/`))) {
            throw errors.badRequest(`patch includes denied path: ${p}`);
          }
        }
      }
      const previous = await mustGet(id);
      const doc = {
        schema_id: previous.schema_id,
        state: previous.state,
        traits: previous.traits,
        metadata_public: previous.metadata_public,
        metadata_admin: previous.metadata_admin,
        external_id: previous.external_id,
        organization_id: previous.organization_id,
        verifiable_addresses: previous.verifiable_addresses,
        recovery_addresses: previous.recovery_addresses,
      };
      let patched: Record<string, unknown>;
      try {
        patched = applyJsonPatch(doc, operations) as Record<string, unknown>;
      } catch (e) {
        if (e instanceof JsonPatchError) throw errors.badRequest(e.message);
        throw e;
      }
      if (typeof patched !== "object" || patched === null || Array.isArray(patched)) throw errors.badRequest("The patched identity must be an object.");
      const body = validatePatchedBody({ ...patched, external_id: patched.external_id ?? undefined });
      return replace(previous, {
        schema_id: body.schema_id,
        traits: body.traits,
        state: body.state as IdentityState,
        metadata_public: patched.metadata_public,
        metadata_admin: patched.metadata_admin,
        external_id: body.external_id,
        // A patch that removes the key clears it (as Kratos: the patched document is the identity).
        organization_id: body.organization_id ?? null,
        // Recovery addresses carry no state of their own: they are derived from the traits alone.
        verifiable_addresses: body.verifiable_addresses ?? [],
      });
    },

    async delete(id: string): Promise<void> {
      if (!(await repo.delete(id))) throw errors.notFound("Unable to locate the resource");
    },

    /**
     * Removes the credentials of one type (Kratos's deleteIdentityCredentials). As the spec says, `passkey` and `code`
     * cannot be removed through this API (400), nor can types that are not stored credentials; an identity without
     * that type is a 404. The identity is then re-derived like any update, as Kratos does: identifiers the schema
     * derives stay reserved, so after removing `password` the identity looks like one created without a password
     * (an empty password credential holding its identifiers) and no other identity can take the address meanwhile.
     */
    async deleteCredentials(id: string, type: string): Promise<void> {
      if (type === "passkey" || type === "code") {
        throw errors.badRequest(`You cannot remove ${type} credentials through this API.`, { message: "The request was malformed or contained invalid parameters" });
      }
      const deletable = ["password", "totp", "lookup_secret", "webauthn", "oidc", "saml"];
      if (!deletable.includes(type)) throw errors.badRequest(`Credentials of type "${type}" can not be deleted.`);
      const previous = await mustGet(id);
      if (!previous.credentials[type as CredentialType]) throw errors.notFound(`The identity has no ${type} credentials.`);
      const without: Identity = { ...previous, credentials: { ...previous.credentials } };
      delete without.credentials[type as CredentialType];
      const identity: Identity = { ...without, updated_at: clock.now().toISOString() };
      derive(identity, without, {}, {});
      if (!(await repo.update(identity))) throw errors.notFound("Unable to locate the resource");
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
