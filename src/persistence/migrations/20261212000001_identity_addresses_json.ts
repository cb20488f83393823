import type { Kysely } from "kysely";
import { t, type MigrationDb } from "./helpers.ts";

/**
 * `identities.addresses`: a copy of each identity's verifiable and recovery addresses in the identity's own row, as
 * the API shows them (`identity/addresses-json.ts` keeps it current), so reading an identity or a whoami answer needs
 * no sub-select over the address tables.
 *
 * Every identity written before this migration is backfilled here, 500 at a time. The renderer below is frozen with
 * this migration (migrations never import the app's code, which moves on); it writes what `renderAddresses` wrote
 * when this migration was made. A row left null (written meanwhile by an older release) is read through the
 * address tables instead, so it is never wrong, only slower. Older releases do not update the copy when they change
 * an address: stop them before running this migration (docs/databases.md, "Upgrading").
 *
 * Idempotent: the column is only added when missing, and only null rows are filled.
 */
async function hasColumn(db: MigrationDb): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((tb) => tb.name === "identities" && tb.columns.some((c) => c.name === "addresses"));
}

interface VaRow { identity_id: string; id: string; value: string; verified: unknown; via: string; status: string; verified_at: string | null; created_at: string; updated_at: string }
interface RaRow { identity_id: string; id: string; value: string; via: string; created_at: string; updated_at: string }

const bool = (v: unknown): boolean => (typeof v === "string" ? v !== "" && v !== "0" : Buffer.isBuffer(v) ? v.length > 0 && v[0] !== 0 && v[0] !== 0x30 : Boolean(v));
const order = (a: { created_at: string; id: string }, b: { created_at: string; id: string }): number =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

function render(va: VaRow[], ra: RaRow[]): string {
  return JSON.stringify({
    verifiable_addresses: [...va].sort(order).map((a) => {
      const out: Record<string, unknown> = { id: a.id, value: a.value, verified: bool(a.verified), via: a.via, status: a.status, created_at: a.created_at, updated_at: a.updated_at };
      if (a.verified_at) out.verified_at = a.verified_at;
      return out;
    }),
    recovery_addresses: [...ra].sort(order).map((a) => ({ id: a.id, value: a.value, via: a.via, created_at: a.created_at, updated_at: a.updated_at })),
  });
}

export async function up(db: MigrationDb): Promise<void> {
  if (!(await hasColumn(db))) await db.schema.alterTable("identities").addColumn("addresses", t.json(db)).execute();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are untyped (frozen in time)
  const q = db as Kysely<any>;
  let after = "";
  for (;;) {
    const ids = ((await q.selectFrom("identities").select("id").where("id", ">", after).where("addresses", "is", null).orderBy("id").limit(500).execute()) as { id: string }[]).map((r) => r.id);
    if (ids.length === 0) break;
    const va = (await q
      .selectFrom("identity_verifiable_addresses")
      .select(["identity_id", "id", "value", "verified", "via", "status", "verified_at", "created_at", "updated_at"])
      .where("identity_id", "in", ids)
      .execute()) as VaRow[];
    const ra = (await q.selectFrom("identity_recovery_addresses").select(["identity_id", "id", "value", "via", "created_at", "updated_at"]).where("identity_id", "in", ids).execute()) as RaRow[];
    for (const id of ids) {
      const text = render(va.filter((a) => a.identity_id === id), ra.filter((a) => a.identity_id === id));
      await q.updateTable("identities").set({ addresses: text }).where("id", "=", id).where("addresses", "is", null).execute();
    }
    after = ids[ids.length - 1];
  }
}

export async function down(db: MigrationDb): Promise<void> {
  if (!(await hasColumn(db))) return;
  await db.schema.alterTable("identities").dropColumn("addresses").execute();
}
