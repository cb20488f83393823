/**
 * One-time codes and link tokens for recovery, verification, code login and code registration (`selfservice_codes`).
 *
 * Contract:
 * - secrets come from the CSPRNG: codes are `digits` decimal digits drawn with `crypto.randomInt` (no modulo bias),
 *   link tokens 32 alphanumerics (~190 bits);
 * - only an HMAC-SHA256 keyed with `secrets.default[0]` is stored; every key of `secrets.default` is accepted on
 *   redemption (rotation). A code's HMAC covers its kind and flow id, so it is worthless on any other flow;
 * - redemption compares in constant time, refuses expired rows, rows of the unknown-address branch (no identity) and
 *   spent rows, and spends a row with one conditional update (at most one winner under concurrency). `findCode` /
 *   `findToken` + `spend` split the two steps so a caller can spend inside the transaction of what the redemption
 *   causes (recovery: the `recovery_used` notice);
 * - lifespans come from `selfservice.methods.{code,link}.config.lifespan` (default 1h) and are capped at 24h;
 * - `max_submissions` (default 5) code submissions per flow: every submission takes one with a conditional increment
 *   of `selfservice_flows.code_submissions` BEFORE the code is compared (`takeSubmission`), so concurrent guesses
 *   each count and at most `max_submissions` codes are ever evaluated on a flow; the counter is the flow's, so
 *   sending a new code never resets it. A wrong code that reaches the limit deletes the flow's codes.
 */
import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Config } from "../../config/config.ts";
import type { Database } from "../../persistence/db.ts";
import type { DB, SelfserviceCodesTable } from "../../persistence/schema.ts";
import type { Clock } from "../../util/clock.ts";
import { newId, randomAlphanumeric } from "../../util/ids.ts";
import type { Flow } from "../../flow/flow.ts";
import { createFlowRepo } from "../../flow/flow-repo.ts";

export type CodeKind = SelfserviceCodesTable["kind"];
export type CodeMethod = SelfserviceCodesTable["method"];
export type Q = Kysely<DB> | Transaction<DB>;

export interface CodeRow {
  id: string;
  flow_id: string;
  kind: CodeKind;
  method: CodeMethod;
  identity_id: string;
  address: string | null;
  address_id: string | null;
  expires_at: string;
}

export interface IssueOptions {
  flowId: string;
  kind: CodeKind;
  method: CodeMethod;
  /** The plain code or token (hashed here, never stored). */
  secret: string;
  /** Null on the unknown-address branch: the row exists (same work) but can never be redeemed. */
  identityId: string | null;
  address: string | null;
  addressId?: string | null;
  /** Overrides the configured lifespan (admin `expires_in`); still capped at 24h. */
  lifespanMs?: number;
}

export const MAX_LIFESPAN_MS = 24 * 3_600_000;
const DEFAULT_LIFESPAN_MS = 3_600_000;
const DEFAULT_MAX_SUBMISSIONS = 5;
/** Longest code or token we ever compare; anything longer is wrong without hashing it. */
export const MAX_SECRET_LENGTH = 64;

/** Digits per kind: 8 for recovery (as Kratos), 6 for the others. */
export const CODE_DIGITS: Readonly<Record<CodeKind, number>> = { recovery: 8, verification: 6, login: 6, registration: 6 };

export function newCode(digits: number): string {
  return String(randomInt(0, 10 ** digits)).padStart(digits, "0");
}

export const newLinkToken = (): string => randomAlphanumeric(32);

const cap = (ms: unknown): number => {
  const n = typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_LIFESPAN_MS;
  return Math.min(n, MAX_LIFESPAN_MS);
};

export function createCodeStore(deps: { database: Database; config: Config; clock: Clock }) {
  const { database, config, clock } = deps;
  const { db } = database;
  const keys = config.secrets.default.length ? config.secrets.default : [""];
  // Kratos's key, 1..255 by the config schema.
  const maxSubmissions = config.selfservice.methods.code.config.max_submissions ?? DEFAULT_MAX_SUBMISSIONS;

  const material = (method: CodeMethod, kind: CodeKind, flowId: string, secret: string): string =>
    method === "code" ? `code\0${kind}\0${flowId.toLowerCase()}\0${secret}` : `link\0${kind}\0${secret}`;
  const hmac = (key: string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

  const toRow = (r: SelfserviceCodesTable): CodeRow => ({
    id: r.id,
    flow_id: r.flow_id,
    kind: r.kind,
    method: r.method,
    identity_id: r.identity_id ?? "",
    address: r.address,
    address_id: r.address_id,
    expires_at: r.expires_at,
  });

  const flows = createFlowRepo(database);

  /** A row that can still be spent: not expired, not of the unknown-address branch, not spent. */
  const live = (r: SelfserviceCodesTable): boolean => r.identity_id !== null && r.used_at === null && new Date(r.expires_at).getTime() > clock.now().getTime();

  /** Spends a live row with `q`; false when it expired or was spent meanwhile (also by a concurrent request). */
  async function spend(q: Q, row: Pick<CodeRow, "id">): Promise<boolean> {
    const now = clock.now().toISOString();
    const res = await q.updateTable("selfservice_codes").set({ used_at: now }).where("id", "=", row.id).where("used_at", "is", null).where("expires_at", ">", now).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async function findCode(flowId: string, kind: CodeKind, code: string): Promise<CodeRow | undefined> {
    const rows = await db.selectFrom("selfservice_codes").selectAll().where("flow_id", "=", flowId).where("kind", "=", kind).where("method", "=", "code").execute();
    const candidates = keys.map((k) => hmac(k, material("code", kind, flowId, code.length > MAX_SECRET_LENGTH ? "" : code)));
    let match: SelfserviceCodesTable | undefined;
    // Every row is compared against every key, whatever matched, so the time does not depend on which one did.
    for (const r of rows) {
      const stored = Buffer.from(r.secret_hash, "hex");
      for (const c of candidates) if (stored.length === c.length && timingSafeEqual(stored, c) && code.length <= MAX_SECRET_LENGTH) match ??= r;
    }
    return match && live(match) ? toRow(match) : undefined;
  }

  async function findToken(kind: CodeKind, token: string): Promise<CodeRow | undefined> {
    if (token.length === 0 || token.length > MAX_SECRET_LENGTH) return undefined;
    const hashes = keys.map((k) => hmac(k, material("link", kind, "", token)).toString("hex"));
    const r = await db.selectFrom("selfservice_codes").selectAll().where("secret_hash", "in", hashes).where("kind", "=", kind).where("method", "=", "link").executeTakeFirst();
    if (!r) return undefined;
    const stored = Buffer.from(r.secret_hash, "hex");
    if (!hashes.some((h) => timingSafeEqual(stored, Buffer.from(h, "hex")))) return undefined;
    return live(r) ? toRow(r) : undefined;
  }

  return {
    maxSubmissions,

    lifespanMs(method: CodeMethod): number {
      return cap(method === "code" ? config.selfservice.methods.code.config.lifespan : config.selfservice.methods.link.config.lifespan);
    },

    /** Deletes the flow's earlier codes of `kind` (a resend invalidates them) and stores the new one, in `q`. */
    async issue(q: Q, o: IssueOptions): Promise<{ expires_at: string }> {
      const now = clock.now();
      const expires = new Date(now.getTime() + cap(o.lifespanMs ?? this.lifespanMs(o.method))).toISOString();
      await q.deleteFrom("selfservice_codes").where("flow_id", "=", o.flowId).where("kind", "=", o.kind).execute();
      await q
        .insertInto("selfservice_codes")
        .values({
          id: newId(),
          flow_id: o.flowId,
          kind: o.kind,
          method: o.method,
          secret_hash: hmac(keys[0], material(o.method, o.kind, o.flowId, o.secret)).toString("hex"),
          identity_id: o.identityId,
          address: o.address,
          address_id: o.addressId ?? null,
          expires_at: expires,
          used_at: null,
          created_at: now.toISOString(),
        })
        .execute();
      return { expires_at: expires };
    },

    /** The live row matching a code submitted on `flowId`, NOT spent; undefined when wrong, expired, spent or foreign. */
    findCode,

    /** The live row of a link token, NOT spent; undefined when unknown, expired or spent. */
    findToken,

    /** Spends a row found by `findCode` / `findToken` with `q` (a transaction); false when someone spent it first. */
    spend,

    /** Redeems a code submitted on `flowId`; undefined when wrong, expired, spent or from another flow. */
    async redeemCode(flowId: string, kind: CodeKind, code: string): Promise<CodeRow | undefined> {
      const row = await findCode(flowId, kind, code);
      return row && (await spend(db, row)) ? row : undefined;
    },

    /** Redeems a link token (looked up by its HMAC); undefined when unknown, expired or spent. */
    async redeemToken(kind: CodeKind, token: string): Promise<CodeRow | undefined> {
      const row = await findToken(kind, token);
      return row && (await spend(db, row)) ? row : undefined;
    },

    /** Runs `fn` in one transaction (to spend a code together with what it proves). */
    transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
      return db.transaction().execute(fn);
    },

    async deleteForFlow(flowId: string, kind: CodeKind): Promise<void> {
      await db.deleteFrom("selfservice_codes").where("flow_id", "=", flowId).where("kind", "=", kind).execute();
    },

    /** Whether the flow already used up its code submissions. */
    async exhausted(flow: Flow): Promise<boolean> {
      return (await flows.codeSubmissions(flow.id)) >= maxSubmissions;
    },

    /**
     * Takes one code submission of the flow before a code is compared; false (nothing may be compared) once
     * `max_submissions` were taken, also by concurrent requests.
     */
    async takeSubmission(flow: Flow): Promise<boolean> {
      return flows.takeCodeSubmission(flow.id, maxSubmissions);
    },

    /** After a wrong code: once the flow's submissions are used up its codes are deleted. True when that happened. */
    async recordFailure(flow: Flow, kind: CodeKind): Promise<boolean> {
      const done = (await flows.codeSubmissions(flow.id)) >= maxSubmissions;
      if (done) await this.deleteForFlow(flow.id, kind);
      return done;
    },
  };
}

export type CodeStore = ReturnType<typeof createCodeStore>;
