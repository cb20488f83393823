import type { MigrationDb } from "./helpers.ts";

/**
 * `selfservice_flows.code_submissions`: how many one-time codes were submitted on a flow (`max_submissions`,
 * `strategies/code/code-store.ts`). A column of its own, apart from the `internal` JSON that every flow update
 * rewrites whole, so that one conditional `code_submissions = code_submissions + 1 ... where code_submissions < max`
 * counts every concurrent guess (no lost update) and a resend never resets it.
 *
 * Idempotent like the helpers: the column is only added when missing (MySQL has no transactional DDL, and no
 * dialect offers `add column if not exists` everywhere).
 */
async function hasColumn(db: MigrationDb): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((t) => t.name === "selfservice_flows" && t.columns.some((c) => c.name === "code_submissions"));
}

export async function up(db: MigrationDb): Promise<void> {
  if (await hasColumn(db)) return;
  await db.schema
    .alterTable("selfservice_flows")
    .addColumn("code_submissions", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: MigrationDb): Promise<void> {
  if (!(await hasColumn(db))) return;
  await db.schema.alterTable("selfservice_flows").dropColumn("code_submissions").execute();
}
