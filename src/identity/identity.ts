/**
 * The identity model, exactly the JSON of Kratos's `identity` (snake_case wire names are our domain names).
 */
export type IdentityState = "active" | "inactive";
export type CredentialType = "password" | "code" | "webauthn" | "passkey" | "totp" | "lookup_secret" | "oidc";
export const CREDENTIAL_TYPES: readonly CredentialType[] = ["password", "code", "webauthn", "passkey", "totp", "lookup_secret", "oidc"];

export interface VerifiableAddress {
  id: string;
  value: string;
  verified: boolean;
  via: "email" | "sms";
  status: "pending" | "sent" | "completed";
  verified_at?: string;
  created_at: string;
  updated_at: string;
}

export interface RecoveryAddress {
  id: string;
  value: string;
  via: "email" | "sms";
  created_at: string;
  updated_at: string;
}

export interface Credential {
  id: string;
  type: CredentialType;
  identifiers: string[];
  /** Secret material (e.g. `{hashed_password}`); never sent unless `include_credential` asks for it. */
  config: Record<string, unknown>;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Identity {
  id: string;
  schema_id: string;
  state: IdentityState;
  traits: Record<string, unknown>;
  metadata_public: unknown;
  metadata_admin: unknown;
  external_id?: string;
  organization_id: string | null;
  verifiable_addresses: VerifiableAddress[];
  recovery_addresses: RecoveryAddress[];
  credentials: Partial<Record<CredentialType, Credential>>;
  created_at: string;
  updated_at: string;
}

/** What an identity looks like on the wire. `schema_url` is derived from the public base URL. */
export interface IdentityJson {
  id: string;
  schema_id: string;
  schema_url: string;
  state: IdentityState;
  traits: Record<string, unknown>;
  verifiable_addresses: VerifiableAddress[];
  recovery_addresses: RecoveryAddress[];
  metadata_public: unknown;
  metadata_admin?: unknown;
  external_id?: string;
  organization_id: string | null;
  credentials?: Record<string, Omit<Credential, "id" | "config"> & { config?: Record<string, unknown> }>;
  created_at: string;
  updated_at: string;
}

export interface ToJsonOptions {
  /** Public base URL, used for `schema_url` (`<base>/schemas/<base64url(id)>`, as Kratos). */
  publicBaseUrl: string;
  /** Admin views include `metadata_admin` and credentials; self-service views (whoami) do not. */
  admin: boolean;
  /** Credential types whose `config` is included (admin `include_credential`). */
  includeCredential?: readonly string[];
}

/** `schemaUrl` results (every identity and session answer carries one). */
const schemaUrls = new Map<string, string>();

export function schemaUrl(publicBaseUrl: string, schemaId: string): string {
  const key = `${publicBaseUrl}\u0000${schemaId}`;
  let url = schemaUrls.get(key);
  if (url === undefined) {
    const base = publicBaseUrl.endsWith("/") ? publicBaseUrl : `${publicBaseUrl}/`;
    url = `${base}schemas/${Buffer.from(schemaId).toString("base64url")}`;
    // A process has a handful of schemas and one public URL: the bound only guards against unusual callers.
    if (schemaUrls.size >= 256) schemaUrls.clear();
    schemaUrls.set(key, url);
  }
  return url;
}

export function identityToJson(identity: Identity, opts: ToJsonOptions): IdentityJson {
  const out: IdentityJson = {
    id: identity.id,
    schema_id: identity.schema_id,
    schema_url: schemaUrl(opts.publicBaseUrl, identity.schema_id),
    state: identity.state,
    traits: identity.traits,
    verifiable_addresses: identity.verifiable_addresses,
    recovery_addresses: identity.recovery_addresses,
    metadata_public: identity.metadata_public ?? null,
    organization_id: identity.organization_id,
    created_at: identity.created_at,
    updated_at: identity.updated_at,
  };
  if (identity.external_id !== undefined) out.external_id = identity.external_id;
  if (opts.admin) {
    out.metadata_admin = identity.metadata_admin ?? null;
    const creds: NonNullable<IdentityJson["credentials"]> = {};
    for (const [type, c] of Object.entries(identity.credentials)) {
      if (!c) continue;
      const entry: NonNullable<IdentityJson["credentials"]>[string] = {
        type: c.type,
        identifiers: c.identifiers,
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
      };
      if (opts.includeCredential?.includes(type)) entry.config = c.config;
      creds[type] = entry;
    }
    out.credentials = creds;
  }
  return out;
}
