import type { Selectable } from "kysely";
import type SQLite from "better-sqlite3";
import type { Database } from "../persistence/db.ts";
import type { SessionsTable } from "../persistence/schema.ts";
import { codec } from "../persistence/codec.ts";
import { prepare, type Prepared } from "../persistence/prepared.ts";
import type { Identity } from "../identity/identity.ts";
import { hasAddressesCopy, parseAddresses, readAddresses } from "../identity/addresses-json.ts";
import type { Aal, AuthenticationMethod, SessionDevice, SessionRecord } from "./session.ts";

/**
 * Session persistence. Tokens arrive here already hashed (`token_hash`: SHA-256 hex, behind a UNIQUE index; the
 * logout token is derived from the session token and not stored). `findByTokenHash` is the hot path of
 * `/sessions/whoami`: one statement, compiled once at construction, reading the session joined with its identity,
 * whose row holds a copy of its addresses (`identity/addresses-json.ts`), so a request costs exactly one indexed read.
 */
export interface ListSessionsQuery {
  identityId?: string;
  /** true: active and not expired at `now`; false: revoked or expired; undefined: all. */
  active?: boolean;
  now: Date;
  exceptId?: string;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
  limit: number;
}

/** The identity as whoami needs it: traits and addresses, no credentials, no `metadata_admin`. */
export type SessionIdentity = Identity;

/** What whoami needs to decide, plus its answer already rendered as JSON text. */
export interface RenderedSession {
  active: boolean;
  expires_at: string;
  identity_id: string;
  identity_state: "active" | "inactive";
  /** `sessionToJson(session, identity, { devices: true })`, serialized. */
  body: string;
}

/**
 * SQLite reads whoami's answer in pieces ready to be joined: the session and identity columns as stored. The JSON
 * columns are JSON text written by `JSON.stringify` and go in as they are, the addresses included: the identity row
 * holds a copy of them as the API shows them (`identity/addresses-json.ts`), so the statement is one indexed join of
 * two rows, with no sub-select over the address tables. `renderRow` joins the pieces into exactly the JSON of
 * `sessionToJson` (same keys, same order), so the hot path parses nothing and builds no objects. The contract test in
 * test/contract/session-repo.test.ts checks the answer byte for byte after every kind of address change.
 */
const RENDERED_SQL = `select s.id, s.active, s.expires_at, s.authenticated_at, s.aal, s.authentication_methods, s.issued_at, s.devices,
  s.identity_id, i.schema_id, i.state, i.traits, i.metadata_public, i.organization_id, i.external_id, i.created_at, i.updated_at, i.addresses
from sessions s join identities i on i.id = s.identity_id
where s.token_hash = ?`;

type RenderedRow = [
  id: string, active: unknown, expires_at: string, authenticated_at: string, aal: string, methods: string | null, issued_at: string, devices: string | null,
  identity_id: string, schema_id: string, state: string, traits: string | null, metadata_public: string | null, organization_id: string | null,
  external_id: string | null, created_at: string, updated_at: string, addresses: string | null,
];

const q = JSON.stringify;
const jsonText = (v: string | null, empty: string): string => (v === null || v === "" || v === "null" ? empty : v);

function renderRow(r: RenderedRow, schemaUrl: string): string {
  const external = r[14] === null || r[14] === undefined ? "" : `,"external_id":${q(r[14])}`;
  return (
    `{"id":${q(r[0])},"active":${codec.toBool(r[1]) ? "true" : "false"},"expires_at":${q(r[2])},"authenticated_at":${q(r[3])},` +
    `"authenticator_assurance_level":${q(r[4])},"authentication_methods":${jsonText(r[5], "[]")},"issued_at":${q(r[6])},` +
    `"identity":{"id":${q(r[8])},"schema_id":${q(r[9])},"schema_url":${q(schemaUrl)},"state":${r[10] === "inactive" ? '"inactive"' : '"active"'},` +
    `"traits":${jsonText(r[11], "{}")},${(r[17] as string).slice(1, -1)},` +
    `"metadata_public":${jsonText(r[12], "null")},"organization_id":${q(r[13] ?? null)},"created_at":${q(r[15])},"updated_at":${q(r[16])}${external}},` +
    `"devices":${jsonText(r[7], "[]")}}`
  );
}


function toSession(r: Selectable<SessionsTable>): SessionRecord {
  return {
    id: r.id,
    identity_id: r.identity_id,
    active: codec.toBool(r.active),
    aal: r.aal as Aal,
    authenticated_at: r.authenticated_at,
    issued_at: r.issued_at,
    expires_at: r.expires_at,
    authentication_methods: codec.parseJson<AuthenticationMethod[]>(r.authentication_methods) ?? [],
    devices: codec.parseJson<SessionDevice[]>(r.devices) ?? [],
  };
}

export interface SessionRepoOptions {
  /** `schema_url` of a schema id, for answers rendered by the database (`renderedByTokenHash`). */
  schemaUrl?: (schemaId: string) => string;
}

export function createSessionRepo(database: Database, opts: SessionRepoOptions = {}) {
  const { db } = database;

  // Built and compiled once (persistence/prepared.ts); each call only fills in the token hash.
  const byToken = prepare(db, (p) =>
    db
      .selectFrom("sessions")
      .innerJoin("identities", "identities.id", "sessions.identity_id")
      .selectAll("sessions")
      .select([
        "identities.schema_id as i_schema_id",
        "identities.state as i_state",
        "identities.traits as i_traits",
        "identities.metadata_public as i_metadata_public",
        "identities.external_id as i_external_id",
        "identities.organization_id as i_organization_id",
        "identities.created_at as i_created_at",
        "identities.updated_at as i_updated_at",
        "identities.addresses as i_addresses",
      ])
      .where("sessions.token_hash", "=", p("token_hash")),
  );
  type ByTokenRow = typeof byToken extends Prepared<infer R> ? R : never;

  // SQLite files: the hot read goes to the read-only connection, synchronously, prepared once.
  let readStmt: { get(...params: unknown[]): unknown } | undefined;
  async function rowByTokenHash(tokenHash: string): Promise<ByTokenRow | undefined> {
    if (!readStmt && database.readConnection) readStmt = database.readConnection()?.prepare(byToken.sql);
    if (readStmt) return readStmt.get(...byToken.parameters({ token_hash: tokenHash })) as ByTokenRow | undefined;
    return byToken.first({ token_hash: tokenHash });
  }

  // Every login and registration inserts one: built and compiled once.
  const insertStmt = prepare(db, (p) =>
    db.insertInto("sessions").values({
      id: p("id"),
      identity_id: p("identity_id"),
      token_hash: p("token_hash"),
      active: p("active"),
      aal: p("aal"),
      authenticated_at: p("authenticated_at"),
      issued_at: p("issued_at"),
      expires_at: p("expires_at"),
      authentication_methods: p("authentication_methods"),
      devices: p("devices"),
      created_at: p("now"),
      updated_at: p("now"),
    }),
  );

  // SQLite files: whoami's answer read in renderable pieces on the read-only connection (see `RENDERED_SQL`).
  let renderedStmt: SQLite.Statement | undefined | null;
  const urls = new Map<string, string>();
  const schemaUrlOf = (id: string): string => {
    let u = urls.get(id);
    if (u === undefined) {
      if (urls.size >= 1000) urls.clear();
      u = (opts.schemaUrl as (id: string) => string)(id);
      urls.set(id, u);
    }
    return u;
  };
  function renderedStatement(): SQLite.Statement | undefined {
    if (renderedStmt !== undefined) return renderedStmt ?? undefined;
    const conn = opts.schemaUrl && database.readConnection ? database.readConnection() : undefined;
    if (!conn) return undefined;
    renderedStmt = conn.prepare(RENDERED_SQL).raw(true);
    return renderedStmt;
  }

  return {
    /**
     * The session holding `tokenHash`, its identity's state and the whoami JSON joined from the stored text, on a
     * SQLite file with `schemaUrl` given and an identity row holding its addresses' copy; otherwise null: use
     * `findByTokenHash`.
     * undefined: no such session. One indexed read.
     */
    renderedByTokenHash(tokenHash: string): RenderedSession | undefined | null {
      const stmt = renderedStatement();
      if (!stmt) return null;
      const r = stmt.get(tokenHash) as RenderedRow | undefined;
      if (!r) return undefined;
      // No copy of the addresses in this (older) row: the generic path reads them.
      if (!hasAddressesCopy(r[17])) return null;
      return {
        active: codec.toBool(r[1]),
        expires_at: r[2],
        identity_id: r[8],
        identity_state: r[10] === "inactive" ? "inactive" : "active",
        body: renderRow(r, schemaUrlOf(r[9])),
      };
    },

    async insert(session: SessionRecord, tokenHash: string, now: string): Promise<void> {
      await insertStmt.execute({
        id: session.id,
        identity_id: session.identity_id,
        token_hash: tokenHash,
        active: codec.bool(session.active),
        aal: session.aal,
        authenticated_at: session.authenticated_at,
        issued_at: session.issued_at,
        expires_at: session.expires_at,
        authentication_methods: codec.json(session.authentication_methods),
        devices: codec.json(session.devices),
        now,
      });
    },

    /**
     * The session holding `tokenHash` with its identity (no credentials), whatever its state: the caller decides
     * whether it is usable. One indexed read.
     */
    async findByTokenHash(tokenHash: string): Promise<{ session: SessionRecord; identity: Identity } | undefined> {
      const r = await rowByTokenHash(tokenHash);
      if (!r) return undefined;
      const identity: Identity = {
        id: r.identity_id,
        schema_id: r.i_schema_id,
        state: r.i_state === "inactive" ? "inactive" : "active",
        traits: codec.parseJson<Record<string, unknown>>(r.i_traits) ?? {},
        metadata_public: r.i_metadata_public === null ? null : codec.parseJson(r.i_metadata_public),
        metadata_admin: null,
        organization_id: r.i_organization_id,
        verifiable_addresses: [],
        recovery_addresses: [],
        credentials: {},
        created_at: r.i_created_at,
        updated_at: r.i_updated_at,
      };
      if (r.i_external_id !== null && r.i_external_id !== undefined) identity.external_id = r.i_external_id;
      const addresses = parseAddresses(r.i_addresses);
      if (addresses) {
        identity.verifiable_addresses = addresses.verifiable_addresses;
        identity.recovery_addresses = addresses.recovery_addresses;
      } else {
        // A row written before the copy existed (an older release): read the address tables.
        Object.assign(identity, (await readAddresses(db, database.dialect, [r.identity_id])).get(r.identity_id));
      }
      return { session: toSession(r), identity };
    },

    async get(id: string): Promise<SessionRecord | undefined> {
      const r = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
      return r ? toSession(r) : undefined;
    },

    async getByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
      const r = await db.selectFrom("sessions").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
      return r ? toSession(r) : undefined;
    },

    /** Sessions ordered by id (keyset pagination). */
    async list(q: ListSessionsQuery): Promise<SessionRecord[]> {
      const now = codec.ts(q.now);
      let query = db.selectFrom("sessions").selectAll();
      if (q.identityId) query = query.where("identity_id", "=", q.identityId);
      if (q.exceptId) query = query.where("id", "!=", q.exceptId);
      if (q.after) query = query.where("id", ">", q.after);
      if (q.active === true) query = query.where("active", "=", 1).where("expires_at", ">", now);
      if (q.active === false) query = query.where((eb) => eb.or([eb("active", "=", 0), eb("expires_at", "<=", now)]));
      const rows = await query.orderBy("id").limit(q.limit).execute();
      return rows.map(toSession);
    },

    /** Marks one session revoked; `identityId` restricts it to that identity's sessions. True when a row matched. */
    async deactivate(id: string, now: string, identityId?: string): Promise<boolean> {
      let q = db.updateTable("sessions").set({ active: 0, updated_at: now }).where("id", "=", id);
      if (identityId) q = q.where("identity_id", "=", identityId);
      const res = await q.executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    /** Revokes every active session of an identity except one; returns how many were active. */
    async deactivateAllForIdentity(identityId: string, now: string, exceptId?: string): Promise<number> {
      let q = db.updateTable("sessions").set({ active: 0, updated_at: now }).where("identity_id", "=", identityId).where("active", "=", 1);
      if (exceptId) q = q.where("id", "!=", exceptId);
      const res = await q.executeTakeFirst();
      return Number(res.numUpdatedRows);
    },

    async deleteAllForIdentity(identityId: string): Promise<number> {
      const res = await db.deleteFrom("sessions").where("identity_id", "=", identityId).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async setExpiry(id: string, expiresAt: string, now: string): Promise<void> {
      await db.updateTable("sessions").set({ expires_at: expiresAt, updated_at: now }).where("id", "=", id).execute();
    },
  };
}

export type SessionRepo = ReturnType<typeof createSessionRepo>;
