import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database } from "../persistence/db.ts";
import type { DB } from "../persistence/schema.ts";
import { codec } from "../persistence/codec.ts";
import { errors } from "../util/app-error.ts";
import { isUniqueViolation, violatedConstraint } from "../util/db-errors.ts";
import type { Credential, CredentialType, Identity, RecoveryAddress, VerifiableAddress } from "./identity.ts";

/**
 * Identity persistence. Every write of an identity replaces its credentials, identifiers and addresses inside one
 * transaction; the unique index on (type, identifier) makes duplicate identifiers a 409 even under concurrency.
 */
export interface ListIdentitiesQuery {
  pageSize: number;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  ids?: string[];
  credentialsIdentifier?: string;
  organizationId?: string;
}

type Db = Kysely<DB> | Transaction<DB>;

export function createIdentityRepo(database: Database) {
  const { db } = database;

  function duplicate(e: unknown): Error {
    const which = violatedConstraint(e);
    if (/external_id/i.test(which)) {
      return errors.conflict("An identity with this external ID already exists.", { message: "The resource could not be created due to a conflict" });
    }
    return errors.conflict("This identity conflicts with another identity that already exists.", {
      message: "The resource could not be created due to a conflict",
    });
  }

  async function writeChildren(trx: Db, identity: Identity): Promise<void> {
    for (const c of Object.values(identity.credentials)) {
      if (!c) continue;
      await trx
        .insertInto("identity_credentials")
        .values({
          id: c.id,
          identity_id: identity.id,
          type: c.type,
          config: codec.json(c.config),
          version: c.version,
          created_at: c.created_at,
          updated_at: c.updated_at,
        })
        .execute();
      if (c.identifiers.length) {
        await trx
          .insertInto("identity_credential_identifiers")
          .values(
            c.identifiers.map((identifier) => ({
              id: crypto.randomUUID(),
              identity_id: identity.id,
              credential_id: c.id,
              type: c.type,
              identifier,
              created_at: c.updated_at,
            })),
          )
          .execute();
      }
    }
    if (identity.verifiable_addresses.length) {
      await trx
        .insertInto("identity_verifiable_addresses")
        .values(
          identity.verifiable_addresses.map((a) => ({
            id: a.id,
            identity_id: identity.id,
            via: a.via,
            value: a.value,
            verified: codec.bool(a.verified),
            verified_at: a.verified_at ?? null,
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
          })),
        )
        .execute();
    }
    if (identity.recovery_addresses.length) {
      await trx
        .insertInto("identity_recovery_addresses")
        .values(
          identity.recovery_addresses.map((a) => ({
            id: a.id,
            identity_id: identity.id,
            via: a.via,
            value: a.value,
            created_at: a.created_at,
            updated_at: a.updated_at,
          })),
        )
        .execute();
    }
  }

  function identityRow(identity: Identity) {
    return {
      schema_id: identity.schema_id,
      state: identity.state,
      traits: codec.json(identity.traits),
      metadata_public: identity.metadata_public === undefined || identity.metadata_public === null ? null : codec.json(identity.metadata_public),
      metadata_admin: identity.metadata_admin === undefined || identity.metadata_admin === null ? null : codec.json(identity.metadata_admin),
      external_id: identity.external_id ?? null,
      organization_id: identity.organization_id,
      updated_at: identity.updated_at,
    };
  }

  /** Loads children of many identities with one query per table (never one per identity). */
  async function hydrate(rows: Array<Selectable<DB["identities"]>>, q: Db = db): Promise<Identity[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.id));
    const [creds, idents, vas, ras] = await Promise.all([
      q.selectFrom("identity_credentials").selectAll().where("identity_id", "in", ids).execute(),
      q.selectFrom("identity_credential_identifiers").select(["credential_id", "identifier"]).where("identity_id", "in", ids).orderBy("identifier").execute(),
      q.selectFrom("identity_verifiable_addresses").selectAll().where("identity_id", "in", ids).orderBy("created_at").orderBy("id").execute(),
      q.selectFrom("identity_recovery_addresses").selectAll().where("identity_id", "in", ids).orderBy("created_at").orderBy("id").execute(),
    ]);
    const identsByCred = new Map<string, string[]>();
    for (const i of idents) {
      const list = identsByCred.get(i.credential_id) ?? [];
      list.push(i.identifier);
      identsByCred.set(i.credential_id, list);
    }
    const byId = new Map<string, Identity>();
    const out = rows.map((r) => {
      const identity: Identity = {
        id: String(r.id),
        schema_id: String(r.schema_id),
        state: r.state === "inactive" ? "inactive" : "active",
        traits: codec.parseJson<Record<string, unknown>>(r.traits) ?? {},
        metadata_public: r.metadata_public === null ? null : codec.parseJson(r.metadata_public),
        metadata_admin: r.metadata_admin === null ? null : codec.parseJson(r.metadata_admin),
        organization_id: r.organization_id === null ? null : String(r.organization_id),
        verifiable_addresses: [],
        recovery_addresses: [],
        credentials: {},
        created_at: String(r.created_at),
        updated_at: String(r.updated_at),
      };
      if (r.external_id !== null && r.external_id !== undefined) identity.external_id = String(r.external_id);
      byId.set(identity.id, identity);
      return identity;
    });
    for (const c of creds) {
      const identity = byId.get(c.identity_id);
      if (!identity) continue;
      const cred: Credential = {
        id: c.id,
        type: c.type as CredentialType,
        identifiers: identsByCred.get(c.id) ?? [],
        config: codec.parseJson<Record<string, unknown>>(c.config) ?? {},
        version: Number(c.version),
        created_at: c.created_at,
        updated_at: c.updated_at,
      };
      identity.credentials[cred.type] = cred;
    }
    for (const a of vas) {
      const va: VerifiableAddress = {
        id: a.id,
        value: a.value,
        verified: codec.toBool(a.verified),
        via: a.via as VerifiableAddress["via"],
        status: a.status as VerifiableAddress["status"],
        created_at: a.created_at,
        updated_at: a.updated_at,
      };
      if (a.verified_at) va.verified_at = a.verified_at;
      byId.get(a.identity_id)?.verifiable_addresses.push(va);
    }
    for (const a of ras) {
      const ra: RecoveryAddress = { id: a.id, value: a.value, via: a.via as RecoveryAddress["via"], created_at: a.created_at, updated_at: a.updated_at };
      byId.get(a.identity_id)?.recovery_addresses.push(ra);
    }
    return out;
  }

  return {
    /** Inserts an identity with everything it owns. 409 on a duplicate identifier or external id. */
    async insert(identity: Identity): Promise<void> {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto("identities")
            .values({ id: identity.id, created_at: identity.created_at, ...identityRow(identity) })
            .execute();
          await writeChildren(trx, identity);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicate(e);
        throw e;
      }
    },

    /** Replaces an identity's row and children. Returns false when it no longer exists. */
    async update(identity: Identity): Promise<boolean> {
      try {
        return await db.transaction().execute(async (trx) => {
          const res = await trx.updateTable("identities").set(identityRow(identity)).where("id", "=", identity.id).executeTakeFirst();
          if (Number(res.numUpdatedRows) === 0) return false;
          // Identifiers reference credentials, so removing credentials removes their identifiers (ON DELETE CASCADE);
          // delete both explicitly anyway so the statement order does not depend on FK enforcement.
          await trx.deleteFrom("identity_credential_identifiers").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_credentials").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_verifiable_addresses").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_recovery_addresses").where("identity_id", "=", identity.id).execute();
          await writeChildren(trx, identity);
          return true;
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicate(e);
        throw e;
      }
    },

    /** Updates one credential's config in place (password rehash); identifiers are untouched. */
    async updateCredentialConfig(credentialId: string, config: Record<string, unknown>, updatedAt: string): Promise<void> {
      await db.updateTable("identity_credentials").set({ config: codec.json(config), updated_at: updatedAt }).where("id", "=", credentialId).execute();
    },

    async get(id: string): Promise<Identity | undefined> {
      const rows = await db.selectFrom("identities").selectAll().where("id", "=", id).execute();
      return (await hydrate(rows))[0];
    },

    async getByExternalId(externalId: string): Promise<Identity | undefined> {
      const rows = await db.selectFrom("identities").selectAll().where("external_id", "=", externalId).execute();
      return (await hydrate(rows))[0];
    },

    /** The identity owning a credential identifier of a type (login). */
    async findByCredentialIdentifier(type: CredentialType, identifier: string): Promise<Identity | undefined> {
      const row = await db
        .selectFrom("identity_credential_identifiers")
        .select("identity_id")
        .where("type", "=", type)
        .where("identifier", "=", identifier)
        .executeTakeFirst();
      if (!row) return undefined;
      return this.get(row.identity_id);
    },

    async list(q: ListIdentitiesQuery): Promise<Identity[]> {
      let query = db.selectFrom("identities").selectAll("identities");
      if (q.after) query = query.where("identities.id", ">", q.after);
      if (q.ids && q.ids.length) query = query.where("identities.id", "in", q.ids);
      if (q.organizationId) query = query.where("identities.organization_id", "=", q.organizationId);
      if (q.credentialsIdentifier !== undefined) {
        const ident = q.credentialsIdentifier;
        query = query.where("identities.id", "in", (eb) =>
          eb.selectFrom("identity_credential_identifiers").select("identity_id").where("identifier", "=", ident),
        );
      }
      const rows = await query.orderBy("identities.id").limit(q.pageSize).execute();
      return hydrate(rows);
    },

    async delete(id: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        // Children first: MySQL and SQLite honour ON DELETE CASCADE, but explicit deletes keep this independent of it.
        await trx.deleteFrom("identity_credential_identifiers").where("identity_id", "=", id).execute();
        await trx.deleteFrom("identity_credentials").where("identity_id", "=", id).execute();
        await trx.deleteFrom("identity_verifiable_addresses").where("identity_id", "=", id).execute();
        await trx.deleteFrom("identity_recovery_addresses").where("identity_id", "=", id).execute();
        await trx.deleteFrom("sessions").where("identity_id", "=", id).execute();
        const res = await trx.deleteFrom("identities").where("id", "=", id).executeTakeFirst();
        return Number(res.numDeletedRows) > 0;
      });
    },

    async count(): Promise<number> {
      const r = await db.selectFrom("identities").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

export type IdentityRepo = ReturnType<typeof createIdentityRepo>;
