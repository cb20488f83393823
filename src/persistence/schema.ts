import type { ColumnType } from "kysely";

/**
 * Kysely table interfaces: the shape of the rows as the drivers hand them back, after the migrations in
 * `migrations/`. Encodings are the same on every dialect (see `codec.ts`):
 * - ids: varchar(36) UUID strings made by the app (`newId()`);
 * - timestamps: ISO-8601 UTC strings with milliseconds (`codec.ts(date)`), sortable as text;
 * - booleans: smallint 0/1 (`codec.bool` / `codec.toBool`);
 * - JSON: text, always stringified (`codec.json` / `codec.parseJson`).
 * Columns are Kratos's snake_case names. Repositories convert rows to domain objects; nothing else reads these.
 */

/** An ISO-8601 UTC timestamp string, e.g. "2026-12-03T19:16:44.123Z". */
export type Timestamp = string;
/** JSON stored as text. */
export type JsonText = string;
/** 0 or 1. */
export type SmallBool = number;

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface IdentitiesTable {
  id: string;
  schema_id: string;
  state: "active" | "inactive";
  traits: JsonText;
  metadata_public: JsonText | null;
  metadata_admin: JsonText | null;
  external_id: string | null;
  organization_id: string | null;
  available_aal: string | null;
  /** A copy of the identity's addresses as the API shows them (`identity/addresses-json.ts`); null on rows written before it existed. */
  addresses: JsonText | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdentityCredentialsTable {
  id: string;
  identity_id: string;
  type: string;
  config: JsonText;
  version: Defaulted<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdentityCredentialIdentifiersTable {
  id: string;
  identity_id: string;
  credential_id: string;
  type: string;
  identifier: string;
  created_at: Timestamp;
}

export interface IdentityVerifiableAddressesTable {
  id: string;
  identity_id: string;
  via: string;
  value: string;
  verified: SmallBool;
  verified_at: Timestamp | null;
  status: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdentityRecoveryAddressesTable {
  id: string;
  identity_id: string;
  via: string;
  value: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  identity_id: string;
  token_hash: string;
  active: SmallBool;
  aal: string;
  authenticated_at: Timestamp;
  issued_at: Timestamp;
  expires_at: Timestamp;
  authentication_methods: JsonText;
  devices: JsonText;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type FlowKind = "login" | "registration" | "settings" | "recovery" | "verification";

export interface SelfserviceFlowsTable {
  id: string;
  kind: FlowKind;
  type: "api" | "browser";
  state: string | null;
  identity_id: string | null;
  session_id: string | null;
  csrf_token: string | null;
  request_url: string;
  return_to: string | null;
  issued_at: Timestamp;
  expires_at: Timestamp;
  active: string | null;
  ui: JsonText;
  /** JSON of the strategies' private state (codes sent, webauthn challenges...). Never sent to clients. */
  internal: JsonText | null;
  submit_count: Defaulted<number>;
  /** One-time codes submitted on the flow (`max_submissions`); only `flow-repo.ts` counts, atomically. */
  code_submissions: Defaulted<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SelfserviceErrorsTable {
  id: string;
  error: JsonText;
  created_at: Timestamp;
}

export type CourierMessageStatus = "queued" | "processing" | "sent" | "abandoned";

/** The courier outbox (see `migrations/20261203000003_courier.ts`). `body` is the plaintext body. */
export interface CourierMessagesTable {
  id: string;
  type: "email" | "phone";
  channel: string;
  status: CourierMessageStatus;
  template_type: string;
  recipient: string;
  subject: string;
  body: string;
  html_body: string | null;
  template_data: JsonText;
  send_count: Defaulted<number>;
  next_attempt_at: Timestamp;
  claimed_until: Timestamp | null;
  claim_token: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One delivery attempt of a courier message; `error` is JSON or null. */
export interface CourierMessageDispatchesTable {
  id: string;
  message_id: string;
  status: "failed" | "success";
  error: JsonText | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/**
 * Brute-force counters (`security/throttle/sql-store.ts`). Keys are opaque (`id:<HMAC hex>`); times are integer
 * milliseconds since the epoch, not ISO text (the upserts compute with them). PostgreSQL returns bigint as a string.
 */
export interface ThrottlesTable {
  throttle_key: string;
  count: number;
  last_at: number | string;
  expires_at: number | string;
  locked_until: number | string | null;
}

/** One-time codes and link tokens (see `migrations/20261203000005_codes.ts`); only `secret_hash`, never a secret. */
export interface SelfserviceCodesTable {
  id: string;
  flow_id: string;
  kind: "recovery" | "verification" | "login" | "registration";
  method: "code" | "link";
  secret_hash: string;
  identity_id: string | null;
  address: string | null;
  address_id: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

/** Every table of Tessera. Add a table here in the same change as its migration. */
export interface DB {
  identities: IdentitiesTable;
  identity_credentials: IdentityCredentialsTable;
  identity_credential_identifiers: IdentityCredentialIdentifiersTable;
  identity_verifiable_addresses: IdentityVerifiableAddressesTable;
  identity_recovery_addresses: IdentityRecoveryAddressesTable;
  sessions: SessionsTable;
  selfservice_flows: SelfserviceFlowsTable;
  selfservice_errors: SelfserviceErrorsTable;
  courier_messages: CourierMessagesTable;
  courier_message_dispatches: CourierMessageDispatchesTable;
  throttles: ThrottlesTable;
  selfservice_codes: SelfserviceCodesTable;
}
