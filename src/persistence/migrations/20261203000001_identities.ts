import { sql } from "kysely";
import { createIndex, createTable, dropTable, t } from "./helpers.ts";
import type { MigrationDb } from "./helpers.ts";

/**
 * Identities and what hangs off them: credentials, the identifiers that find a credential (unique per credential
 * type: this index is what turns a duplicate email/username into a 409), verifiable and recovery addresses.
 * Children reference `identities` with ON DELETE CASCADE so deleting an identity is one statement.
 * One DDL statement per step (MySQL has no transactional DDL); every step is idempotent.
 */
export async function up(db: MigrationDb): Promise<void> {
  await createTable(db, "identities")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("schema_id", t.ident, (c) => c.notNull())
    .addColumn("state", t.short(16), (c) => c.notNull())
    .addColumn("traits", t.json(db), (c) => c.notNull())
    .addColumn("metadata_public", t.json(db))
    .addColumn("metadata_admin", t.json(db))
    .addColumn("external_id", t.ident)
    .addColumn("organization_id", t.id)
    .addColumn("available_aal", t.short(16))
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addUniqueConstraint("identities_external_id_uq", ["external_id"])
    .execute();

  await createTable(db, "identity_credentials")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("type", t.short(32), (c) => c.notNull())
    .addColumn("config", t.json(db), (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(sql`0`))
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addUniqueConstraint("identity_credentials_identity_type_uq", ["identity_id", "type"])
    .addForeignKeyConstraint("identity_credentials_identity_fk", ["identity_id"], "identities", ["id"], (fk) =>
      fk.onDelete("cascade"),
    )
    .execute();

  await createTable(db, "identity_credential_identifiers")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("credential_id", t.id, (c) => c.notNull())
    .addColumn("type", t.short(32), (c) => c.notNull())
    .addColumn("identifier", t.ident, (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addUniqueConstraint("identity_credential_identifiers_type_identifier_uq", ["type", "identifier"])
    .addForeignKeyConstraint("identity_credential_identifiers_identity_fk", ["identity_id"], "identities", ["id"], (fk) =>
      fk.onDelete("cascade"),
    )
    .addForeignKeyConstraint(
      "identity_credential_identifiers_credential_fk",
      ["credential_id"],
      "identity_credentials",
      ["id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();
  await createIndex(db, "identity_credential_identifiers", "identity_credential_identifiers_identity_idx", ["identity_id"]);
  await createIndex(db, "identity_credential_identifiers", "identity_credential_identifiers_credential_idx", ["credential_id"]);

  await createTable(db, "identity_verifiable_addresses")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("via", t.short(16), (c) => c.notNull())
    .addColumn("value", t.ident, (c) => c.notNull())
    .addColumn("verified", t.bool, (c) => c.notNull().defaultTo(sql`0`))
    .addColumn("verified_at", t.ts)
    .addColumn("status", t.short(16), (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addForeignKeyConstraint("identity_verifiable_addresses_identity_fk", ["identity_id"], "identities", ["id"], (fk) =>
      fk.onDelete("cascade"),
    )
    .execute();
  await createIndex(db, "identity_verifiable_addresses", "identity_verifiable_addresses_identity_idx", ["identity_id"]);
  await createIndex(db, "identity_verifiable_addresses", "identity_verifiable_addresses_via_value_idx", ["via", "value"]);

  await createTable(db, "identity_recovery_addresses")
    .addColumn("id", t.id, (c) => c.primaryKey().notNull())
    .addColumn("identity_id", t.id, (c) => c.notNull())
    .addColumn("via", t.short(16), (c) => c.notNull())
    .addColumn("value", t.ident, (c) => c.notNull())
    .addColumn("created_at", t.ts, (c) => c.notNull())
    .addColumn("updated_at", t.ts, (c) => c.notNull())
    .addForeignKeyConstraint("identity_recovery_addresses_identity_fk", ["identity_id"], "identities", ["id"], (fk) =>
      fk.onDelete("cascade"),
    )
    .execute();
  await createIndex(db, "identity_recovery_addresses", "identity_recovery_addresses_identity_idx", ["identity_id"]);
  await createIndex(db, "identity_recovery_addresses", "identity_recovery_addresses_via_value_idx", ["via", "value"]);
}

export async function down(db: MigrationDb): Promise<void> {
  await dropTable(db, "identity_recovery_addresses");
  await dropTable(db, "identity_verifiable_addresses");
  await dropTable(db, "identity_credential_identifiers");
  await dropTable(db, "identity_credentials");
  await dropTable(db, "identities");
}
