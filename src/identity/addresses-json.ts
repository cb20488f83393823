import { sql, type Kysely, type Transaction } from "kysely";
import type { Dialect } from "../persistence/dsn.ts";
import type { DB } from "../persistence/schema.ts";
import { codec } from "../persistence/codec.ts";
import { byCreatedThenId } from "../persistence/json-array.ts";
import type { RecoveryAddress, VerifiableAddress } from "./identity.ts";

/**
 * `identities.addresses`: a copy of an identity's verifiable and recovery addresses as the API shows them, kept in the
 * identity's row so that reading an identity (login, whoami, admin GET) needs no sub-select over the address tables.
 * The address tables stay the source of truth (unique values, lookups by value); the copy is rewritten in the same
 * transaction as every change to them, so at every commit it equals `renderAddresses` of the rows.
 *
 * The text is the JSON object `{"verifiable_addresses":[...],"recovery_addresses":[...]}`: both arrays in Kratos's
 * order (created_at, then id) and every address in the key order of the API (`verified_at` last, only when set), so
 * whoami can splice the two members into its answer without parsing (`session/session-repo.ts`).
 *
 * Concurrency: whoever changes an identity's addresses first locks the identity's row (`lockIdentity`, or the
 * `UPDATE identities` that opens `identity-repo.update`), then changes the rows, then rewrites the copy from what the
 * tables hold (`rewriteAddressesJson`). Two changes to one identity's addresses therefore never interleave, and the
 * second reads the first's committed rows; as every writer takes the identity lock before any address row, no
 * deadlock cycle forms between them.
 */
export interface AddressesJson {
  verifiable_addresses: VerifiableAddress[];
  recovery_addresses: RecoveryAddress[];
}

type Q = Kysely<DB> | Transaction<DB>;

/** One verifiable address in the API's key order; `verified_at` only when set. */
export function canonicalVerifiable(a: { id: string; value: string; verified: unknown; via: string; status: string; verified_at?: string | null; created_at: string; updated_at: string }): VerifiableAddress {
  const out: VerifiableAddress = {
    id: a.id,
    value: a.value,
    verified: codec.toBool(a.verified),
    via: a.via as VerifiableAddress["via"],
    status: a.status as VerifiableAddress["status"],
    created_at: a.created_at,
    updated_at: a.updated_at,
  };
  if (a.verified_at) out.verified_at = a.verified_at;
  return out;
}

export const canonicalRecovery = (a: { id: string; value: string; via: string; created_at: string; updated_at: string }): RecoveryAddress => ({
  id: a.id,
  value: a.value,
  via: a.via as RecoveryAddress["via"],
  created_at: a.created_at,
  updated_at: a.updated_at,
});

type VerifiableRow = Parameters<typeof canonicalVerifiable>[0];
type RecoveryRow = Parameters<typeof canonicalRecovery>[0];

/** Addresses in any order and key order, as the API shows them: Kratos's order (created_at, then id), API keys. */
export function canonicalAddresses(verifiable: readonly VerifiableRow[], recovery: readonly RecoveryRow[]): AddressesJson {
  return {
    verifiable_addresses: [...verifiable].sort(byCreatedThenId).map(canonicalVerifiable),
    recovery_addresses: [...recovery].sort(byCreatedThenId).map(canonicalRecovery),
  };
}

/** The text stored in `identities.addresses` for these addresses. */
export const renderAddresses = (verifiable: readonly VerifiableRow[], recovery: readonly RecoveryRow[]): string => JSON.stringify(canonicalAddresses(verifiable, recovery));

/** Whether a stored `addresses` value holds a copy (rows written by a release before the column existed do not). */
export const hasAddressesCopy = (v: unknown): boolean => v !== null && v !== undefined && v !== "";

/** The stored copy read back; undefined when the row has none (written by a release before the column existed). */
export function parseAddresses(v: unknown): AddressesJson | undefined {
  if (!hasAddressesCopy(v)) return undefined;
  return codec.parseJson<AddressesJson>(v);
}

/**
 * Locks the identity's row for the rest of the transaction (PostgreSQL `FOR NO KEY UPDATE`, which still lets other
 * transactions insert sessions that reference the identity; MySQL `FOR UPDATE`). SQLite needs nothing: it runs one
 * write transaction at a time. Returns false when the identity does not exist (SQLite: always true).
 */
export async function lockIdentity(trx: Transaction<DB>, dialect: Dialect, identityId: string): Promise<boolean> {
  // SQLite: the one connection runs one write transaction at a time; no statement needed (true even if it is gone:
  // the caller's statements then match no row).
  if (dialect === "sqlite") return true;
  const q = trx.selectFrom("identities").select("id").where("id", "=", identityId);
  const row = await (dialect === "postgres" ? q.modifyEnd(sql`for no key update`) : dialect === "mysql" ? q.forUpdate() : q).executeTakeFirst();
  return row !== undefined;
}

/**
 * Rewrites `identities.addresses` from the address tables, inside `trx` and after `lockIdentity`. MySQL reads the rows
 * with a locking read: under REPEATABLE READ a plain read could come from a snapshot older than the lock.
 */
export async function rewriteAddressesJson(trx: Transaction<DB>, dialect: Dialect, identityId: string): Promise<void> {
  const addresses = (await readAddresses(trx, dialect, [identityId])).get(identityId);
  await trx.updateTable("identities").set({ addresses: JSON.stringify(addresses) }).where("id", "=", identityId).execute();
}

/**
 * Some identities' addresses read from the address tables, as the API shows them: an entry for every id asked (empty
 * arrays when it has none). Used to rewrite the copy, and to read rows that have none.
 */
export async function readAddresses(q: Q, dialect: Dialect, identityIds: readonly string[]): Promise<Map<string, AddressesJson>> {
  const verifiable = new Map<string, VerifiableRow[]>();
  const recovery = new Map<string, RecoveryRow[]>();
  const out = new Map<string, AddressesJson>();
  if (identityIds.length === 0) return out;
  const ids = [...identityIds];
  let vq = q.selectFrom("identity_verifiable_addresses").select(["identity_id", "id", "value", "verified", "via", "status", "verified_at", "created_at", "updated_at"]).where("identity_id", "in", ids);
  let rq = q.selectFrom("identity_recovery_addresses").select(["identity_id", "id", "value", "via", "created_at", "updated_at"]).where("identity_id", "in", ids);
  if (dialect === "mysql" && q.isTransaction) {
    vq = vq.forUpdate();
    rq = rq.forUpdate();
  }
  for (const r of await vq.execute()) push(verifiable, r.identity_id, r as VerifiableRow);
  for (const r of await rq.execute()) push(recovery, r.identity_id, r as RecoveryRow);
  for (const id of ids) out.set(id, canonicalAddresses(verifiable.get(id) ?? [], recovery.get(id) ?? []));
  return out;
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
