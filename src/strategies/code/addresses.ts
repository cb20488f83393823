/**
 * The address lookups and updates the recovery and verification methods need, on the identity tables. Kept here (not
 * in the identity repo) because only these flows touch single address rows. Lookups are one indexed statement; a change
 * locks the identity first and rewrites the identity's copy of its addresses in the same transaction.
 * Email addresses are compared trimmed and lower-cased, the form the identity service stores them in.
 */
import type { Database } from "../../persistence/db.ts";
import { codec } from "../../persistence/codec.ts";
import type { Transaction, UpdateResult } from "kysely";
import type { DB } from "../../persistence/schema.ts";
import { lockIdentity, rewriteAddressesJson } from "../../identity/addresses-json.ts";
import type { Q } from "./code-store.ts";

export interface AddressRef {
  id: string;
  identity_id: string;
  value: string;
  via: string;
}

/** Longest address we look up (the column is varchar(255)); longer input cannot match. */
export const MAX_ADDRESS_LENGTH = 255;

export const normalizeEmail = (v: string): string => v.trim().toLowerCase();

export function createAddressStore(database: Database) {
  const { db, dialect } = database;

  /**
   * Runs `update` on an identity's address rows with the identity's row locked first, and rewrites the identity's copy
   * of its addresses (`identity/addresses-json.ts`) when a row changed, all in `q`'s transaction (or a new one).
   */
  async function changeAddresses(q: Q, identityId: string, update: (trx: Transaction<DB>) => Promise<UpdateResult>): Promise<void> {
    const run = async (trx: Transaction<DB>) => {
      if (!(await lockIdentity(trx, dialect, identityId))) return;
      const res = await update(trx);
      if (Number(res.numUpdatedRows) > 0) await rewriteAddressesJson(trx, dialect, identityId);
    };
    if (q.isTransaction) await run(q as Transaction<DB>);
    else await db.transaction().execute(run);
  }

  /**
   * `changeAddresses` for one verifiable address by id. `identityId`: its owner when the caller knows it (an address's
   * identity never changes); else it is read, without a lock.
   */
  async function changeVerifiable(q: Q, addressId: string, identityId: string | undefined, update: (trx: Transaction<DB>) => Promise<UpdateResult>): Promise<void> {
    const owner = identityId ?? (await q.selectFrom("identity_verifiable_addresses").select("identity_id").where("id", "=", addressId).executeTakeFirst())?.identity_id;
    if (owner) await changeAddresses(q, owner, update);
  }

  return {
    async findRecovery(value: string): Promise<AddressRef | undefined> {
      const v = value.length > MAX_ADDRESS_LENGTH ? "" : value;
      return db.selectFrom("identity_recovery_addresses").select(["id", "identity_id", "value", "via"]).where("value", "=", v).executeTakeFirst();
    },

    async findVerifiable(value: string): Promise<(AddressRef & { verified: boolean }) | undefined> {
      const v = value.length > MAX_ADDRESS_LENGTH ? "" : value;
      const r = await db.selectFrom("identity_verifiable_addresses").select(["id", "identity_id", "value", "via", "verified"]).where("value", "=", v).executeTakeFirst();
      return r ? { id: r.id, identity_id: r.identity_id, value: r.value, via: r.via, verified: codec.toBool(r.verified) } : undefined;
    },

    /** Marks one verifiable address verified (status completed, verified_at now); `identityId`: its owner, if known. */
    async markVerified(addressId: string, now: Date, q: Q = db, identityId?: string): Promise<void> {
      const ts = now.toISOString();
      await changeVerifiable(q, addressId, identityId, (trx) =>
        trx.updateTable("identity_verifiable_addresses").set({ verified: codec.bool(true), status: "completed", verified_at: ts, updated_at: ts }).where("id", "=", addressId).executeTakeFirst(),
      );
    },

    /** Marks the identity's verifiable address with this value verified (a recovery proves the mailbox). */
    async markVerifiedByValue(identityId: string, value: string, now: Date, q: Q = db): Promise<void> {
      const ts = now.toISOString();
      await changeAddresses(q, identityId, (trx) =>
        trx
          .updateTable("identity_verifiable_addresses")
          .set({ verified: codec.bool(true), status: "completed", verified_at: ts, updated_at: ts })
          .where("identity_id", "=", identityId)
          .where("value", "=", value)
          .where("verified", "=", codec.bool(false))
          .executeTakeFirst(),
      );
    },

    /**
     * pending -> sent once a verification message is queued (never downgrades a completed address); `identityId`: its
     * owner, if known. Only a change rewrites the identity's copy: a repeated send costs one statement, as before.
     */
    async markSent(addressId: string, now: Date, q: Q = db, identityId?: string): Promise<void> {
      await changeVerifiable(q, addressId, identityId, (trx) =>
        trx.updateTable("identity_verifiable_addresses").set({ status: "sent", updated_at: now.toISOString() }).where("id", "=", addressId).where("status", "=", "pending").executeTakeFirst(),
      );
    },
  };
}

export type AddressStore = ReturnType<typeof createAddressStore>;
