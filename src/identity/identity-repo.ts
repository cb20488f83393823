import { sql, type Kysely, type Transaction } from "kysely";
import { childJsonArray } from "../persistence/json-array.ts";
import { hasAddressesCopy, lockIdentity, parseAddresses, readAddresses, renderAddresses } from "./addresses-json.ts";
import type { Database } from "../persistence/db.ts";
import type { DB } from "../persistence/schema.ts";
import { codec } from "../persistence/codec.ts";
import { prepare, type Prepared } from "../persistence/prepared.ts";
import { retryOnLockError } from "../persistence/retry.ts";
import { errors } from "../util/app-error.ts";
import { newId } from "../util/ids.ts";
import type { Credential, CredentialType, Identity } from "./identity.ts";

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

export interface InsertIdentityOptions {
  /**
   * Runs inside the insert's transaction, after the identity's rows (so it may reference them), and commits or rolls
   * back with them: e.g. the new identity's verification flow, code and outbox message. It must use only `trx`
   * (SQLite has one connection: a query on the pool would wait for this transaction forever). Its errors are
   * rethrown as they are (a unique violation in it is not the identity's 409).
   */
  within?: (trx: Transaction<DB>) => Promise<void>;
}

export function createIdentityRepo(database: Database) {
  const { db } = database;

  /** Which unique index a driver error names (pg: `constraint`; SQLite and MySQL: the message). */
  const violatedConstraint = (e: unknown): string => {
    const err = e as { constraint?: unknown; message?: unknown };
    return typeof err?.constraint === "string" ? err.constraint : typeof err?.message === "string" ? err.message : "";
  };

  function duplicate(e: unknown): Error {
    const which = violatedConstraint(e);
    if (/external_id/i.test(which)) {
      return errors.conflict("An identity with this external ID already exists.", { message: "The resource could not be created due to a conflict" });
    }
    return errors.conflict("This identity conflicts with another identity that already exists.", {
      message: "The resource could not be created due to a conflict",
    });
  }

  // The statements of a registration and a login, built and compiled once (see persistence/prepared.ts).
  const insertCredential = prepare(db, (p) =>
    db.insertInto("identity_credentials").values({
      id: p("id"),
      identity_id: p("identity_id"),
      type: p("type"),
      config: p("config"),
      version: p("version"),
      created_at: p("created_at"),
      updated_at: p("updated_at"),
    }),
  );
  const insertIdentifiers = multiRowInsert("identity_credential_identifiers", ["id", "identity_id", "credential_id", "type", "identifier", "created_at"]);
  const insertVerifiable = multiRowInsert("identity_verifiable_addresses", ["id", "identity_id", "via", "value", "verified", "verified_at", "status", "created_at", "updated_at"]);
  const insertRecovery = multiRowInsert("identity_recovery_addresses", ["id", "identity_id", "via", "value", "created_at", "updated_at"]);

  /**
   * An insert of several rows into `table`: one statement per row count, prepared on first use (identities have one or
   * a few of each child). Values come in the order of `columns`.
   */
  function multiRowInsert(table: "identity_credential_identifiers" | "identity_verifiable_addresses" | "identity_recovery_addresses", columns: readonly string[]) {
    const byCount = new Map<number, Prepared<unknown>>();
    return (q: Db, rows: ReadonlyArray<Record<string, unknown>>) => {
      const n = rows.length;
      let stmt = byCount.get(n);
      if (!stmt) {
        stmt = prepare(db, (p) =>
          db.insertInto(table).values(Array.from({ length: n }, (_, i) => Object.fromEntries(columns.map((c) => [c, p(`${c}.${i}`)]))) as never),
        );
        if (byCount.size < 32) byCount.set(n, stmt);
      }
      const values: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) for (const c of columns) values[`${c}.${i}`] = rows[i][c];
      return stmt.execute(values, q);
    };
  }

  async function writeChildren(trx: Db, identity: Identity): Promise<void> {
    for (const c of Object.values(identity.credentials)) {
      if (!c) continue;
      await insertCredential.execute(
        {
          id: c.id,
          identity_id: identity.id,
          type: c.type,
          config: codec.json(c.config),
          version: c.version,
          created_at: c.created_at,
          updated_at: c.updated_at,
        },
        trx,
      );
      if (c.identifiers.length) {
        await insertIdentifiers(
          trx,
          c.identifiers.map((identifier) => ({
            id: newId(),
            identity_id: identity.id,
            credential_id: c.id,
            type: c.type,
            identifier,
            created_at: c.updated_at,
          })),
        );
      }
    }
    if (identity.verifiable_addresses.length) {
      await insertVerifiable(
        trx,
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
      );
    }
    if (identity.recovery_addresses.length) {
      await insertRecovery(
        trx,
        identity.recovery_addresses.map((a) => ({
          id: a.id,
          identity_id: identity.id,
          via: a.via,
          value: a.value,
          created_at: a.created_at,
          updated_at: a.updated_at,
        })),
      );
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
      organization_id: identity.organization_id ?? null,
      // The copy of the addresses that identity reads use (`addresses-json.ts`); writeChildren writes the same rows.
      addresses: renderAddresses(identity.verifiable_addresses, identity.recovery_addresses),
      updated_at: identity.updated_at,
    };
  }

  /** The child tables loaded with an identity, and the columns of each. */
  const CHILDREN = [
    { as: "creds", table: "identity_credentials", columns: ["id", "type", "config", "version", "created_at", "updated_at"] },
    { as: "idents", table: "identity_credential_identifiers", columns: ["credential_id", "identifier"] },
  ] as const;

  /**
   * One statement loads identities with their credentials and identifiers (correlated JSON sub-selects over the
   * identity_id indexes) and their addresses (the `addresses` copy in the row), so a login or a GET is one indexed
   * read, never one query per child table.
   */
  function selectFull(q: Db = db) {
    return q
      .selectFrom("identities")
      .selectAll("identities")
      .select(CHILDREN.map((c) => childJsonArray(database, { ...c, fk: "identity_id", outer: "identities.id" }).as(c.as)));
  }

  type FullRow = Awaited<ReturnType<ReturnType<typeof selectFull>["execute"]>>[number];

  const insertIdentity = prepare(db, (p) =>
    db.insertInto("identities").values({
      id: p("id"),
      created_at: p("created_at"),
      schema_id: p("schema_id"),
      state: p("state"),
      traits: p("traits"),
      metadata_public: p("metadata_public"),
      metadata_admin: p("metadata_admin"),
      external_id: p("external_id"),
      organization_id: p("organization_id"),
      addresses: p("addresses"),
      updated_at: p("updated_at"),
    }),
  );
  const selectById = prepare(db, (p) => selectFull().where("identities.id", "=", p("id")));
  const selectByCredentialIdentifier = prepare(db, (p) =>
    selectFull().where("identities.id", "=", (eb) =>
      eb.selectFrom("identity_credential_identifiers").select("identity_id").where("type", "=", p("type")).where("identifier", "=", p("identifier")),
    ),
  );
  const arr = <T>(v: unknown): T[] => (codec.parseJson<T[] | null>(v) ?? []);

  /** One row to its identity: the login and GET path, no arrays built; a row without its copy reads its address tables. */
  async function hydrateOne(row: FullRow): Promise<Identity> {
    const identity = hydrate(row);
    if (!hasAddressesCopy(row.addresses)) Object.assign(identity, (await readAddresses(db, database.dialect, [identity.id])).get(identity.id));
    return identity;
  }

  /** Rows to identities; addresses of rows without their copy are read from the address tables (one query for all). */
  async function hydrateAll(rows: readonly FullRow[]): Promise<Identity[]> {
    const out = rows.map(hydrate);
    const missing = out.filter((_, k) => !hasAddressesCopy(rows[k].addresses));
    if (missing.length) {
      const read = await readAddresses(db, database.dialect, missing.map((i) => i.id));
      for (const i of missing) Object.assign(i, read.get(i.id));
    }
    return out;
  }

  function hydrate(r: FullRow): Identity {
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
    const identsByCred = new Map<string, string[]>();
    for (const i of arr<{ credential_id: string; identifier: string }>(r.idents)) {
      const list = identsByCred.get(i.credential_id) ?? [];
      list.push(i.identifier);
      identsByCred.set(i.credential_id, list);
    }
    for (const c of arr<{ id: string; type: string; config: unknown; version: unknown; created_at: string; updated_at: string }>(r.creds)) {
      identity.credentials[c.type as CredentialType] = {
        id: c.id,
        type: c.type as CredentialType,
        identifiers: (identsByCred.get(c.id) ?? []).sort(),
        config: codec.parseJson<Record<string, unknown>>(c.config) ?? {},
        version: Number(c.version),
        created_at: c.created_at,
        updated_at: c.updated_at,
      } satisfies Credential;
    }
    // Rows written before the copy existed have none: `hydrateOne`/`hydrateAll` read their address tables.
    const addresses = parseAddresses(r.addresses);
    if (addresses) {
      identity.verifiable_addresses = addresses.verifiable_addresses;
      identity.recovery_addresses = addresses.recovery_addresses;
    }
    return identity;
  }

  return {
    /** Inserts an identity with everything it owns. 409 on a duplicate identifier or external id. */
    async insert(identity: Identity, opts: InsertIdentityOptions = {}): Promise<void> {
      let ownRows = true;
      try {
        // InnoDB can break a lock cycle between concurrent inserts of one identifier (duplicate-key locks) by
        // aborting one: that transaction changed nothing, so it runs again (and then meets the 409 or succeeds).
        await retryOnLockError(() =>
          db.transaction().execute(async (trx) => {
            ownRows = true;
            await insertIdentity.execute({ id: identity.id, created_at: identity.created_at, ...identityRow(identity) }, trx);
            await writeChildren(trx, identity);
            ownRows = false;
            await opts.within?.(trx);
          }),
        );
      } catch (e) {
        if (ownRows && codec.isUniqueViolation(e)) throw duplicate(e);
        throw e;
      }
    },

    /**
     * Enumeration-safe registration (flow/registration/enumeration.ts): a duplicate's stand-in writes the rows a new
     * identity's insert writes after its identifiers (the identity row and its addresses) inside `trx`, under a
     * savepoint that is then rolled back. A duplicate registration's failed insert stops at the identifier; this does
     * the rest of a new identity's inserts, so both answers cost the same database work, and nothing is left behind.
     */
    async rehearseInsert(trx: Transaction<DB>, identity: Identity): Promise<void> {
      await sql`savepoint tessera_stand_in`.execute(trx);
      try {
        await insertIdentity.execute({ id: identity.id, created_at: identity.created_at, ...identityRow(identity) }, trx);
        await writeChildren(trx, { ...identity, credentials: {} });
      } finally {
        await sql`rollback to savepoint tessera_stand_in`.execute(trx);
        await sql`release savepoint tessera_stand_in`.execute(trx);
      }
    },

    /** Replaces an identity's row and children. Returns false when it no longer exists. */
    async update(identity: Identity): Promise<boolean> {
      try {
        return await retryOnLockError(() => db.transaction().execute(async (trx) => {
          const res = await trx.updateTable("identities").set(identityRow(identity)).where("id", "=", identity.id).executeTakeFirst();
          if (Number(res.numUpdatedRows) === 0) return false;
          // Identifiers reference credentials, so removing credentials removes their identifiers (ON DELETE CASCADE);
          // delete both explicitly anyway so the statement order does not depend on FK enforcement.
          await trx.deleteFrom("identity_credential_identifiers").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_credentials").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_verifiable_addresses").where("identity_id", "=", identity.id).execute();
          await trx.deleteFrom("identity_recovery_addresses").where("identity_id", "=", identity.id).execute();
          await writeChildren(trx, identity);
          // An identity made inactive loses every session at once, in the same transaction as the change.
          if (identity.state === "inactive") await trx.deleteFrom("sessions").where("identity_id", "=", identity.id).execute();
          return true;
        }));
      } catch (e) {
        if (codec.isUniqueViolation(e)) throw duplicate(e);
        throw e;
      }
    },

    /**
     * Updates one credential's config in place (password rehash); identifiers are untouched. Returns whether a row
     * was written.
     *
     * With `expectedOldHash` it is a compare-and-swap: the row is written only while its stored `hashed_password` is
     * still that hash, so a rehash finishing after a password change (settings, recovery, admin PUT) cannot put the
     * old password back. The swap is one `UPDATE ... WHERE id = ? AND config = <the text just read>`: atomic on every
     * dialect without a lock (MySQL tables are utf8mb4_bin, so the text comparison is exact there too), and a
     * credential rewritten by `update()` in between no longer matches.
     */
    async updateCredentialConfig(credentialId: string, config: Record<string, unknown>, updatedAt: string, expectedOldHash?: string): Promise<boolean> {
      let query = db.updateTable("identity_credentials").set({ config: codec.json(config), updated_at: updatedAt }).where("id", "=", credentialId);
      if (expectedOldHash !== undefined) {
        const row = await db.selectFrom("identity_credentials").select("config").where("id", "=", credentialId).executeTakeFirst();
        if (!row) return false;
        const raw: unknown = row.config;
        const storedText = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : undefined;
        if (storedText === undefined) throw new Error("identity-repo: credential config is not stored as text");
        if (codec.parseJson<{ hashed_password?: unknown } | null>(storedText)?.hashed_password !== expectedOldHash) return false;
        query = query.where("config", "=", storedText);
      }
      const res = await query.executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    async get(id: string): Promise<Identity | undefined> {
      const row = await selectById.first({ id });
      return row ? hydrateOne(row) : undefined;
    },

    async getByExternalId(externalId: string): Promise<Identity | undefined> {
      const row = await selectFull().where("identities.external_id", "=", externalId).executeTakeFirst();
      return row ? hydrateOne(row) : undefined;
    },

    /** The identity owning a credential identifier of a type (login). */
    async findByCredentialIdentifier(type: CredentialType, identifier: string): Promise<Identity | undefined> {
      const row = await selectByCredentialIdentifier.first({ type, identifier });
      return row ? hydrateOne(row) : undefined;
    },

    async list(q: ListIdentitiesQuery): Promise<Identity[]> {
      let query = selectFull();
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
      return hydrateAll(rows);
    },

    async delete(id: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        // The identity's lock before any of its address rows: the order every address writer follows (addresses-json.ts).
        if (!(await lockIdentity(trx, database.dialect, id))) return false;
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
