import type { MigrationDb } from "./helpers.ts";
import * as m20261203000001 from "./20261203000001_identities.ts";
import * as m20261203000002 from "./20261203000002_sessions_flows.ts";
import * as m20261203000003 from "./20261203000003_courier.ts";
import * as m20261203000004 from "./20261203000004_throttles.ts";
import * as m20261203000005 from "./20261203000005_codes.ts";
import * as m20261210000001 from "./20261210000001_flow_code_submissions.ts";
import * as m20261211000001 from "./20261211000001_address_order_indexes.ts";
import * as m20261212000001 from "./20261212000001_identity_addresses_json.ts";
import * as m20261212000002 from "./20261212000002_drop_address_order_indexes.ts";
import * as m20261213000001 from "./20261213000001_drop_session_logout_token_hash.ts";

/** One schema change: `up` applies it, `down` reverts it exactly. Both receive an untyped Kysely (frozen in time). */
export interface Migration {
  up(db: MigrationDb): Promise<void>;
  down(db: MigrationDb): Promise<void>;
}

/**
 * Every migration, in order. A static map (no directory scan) so bundles and `tsx` see the same list. Names are
 * `<UTC timestamp>_<what>`; a new one is appended with a later timestamp and never edited once released.
 */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  "20261203000001_identities": m20261203000001,
  "20261203000002_sessions_flows": m20261203000002,
  "20261203000003_courier": m20261203000003,
  "20261203000004_throttles": m20261203000004,
  "20261203000005_codes": m20261203000005,
  "20261210000001_flow_code_submissions": m20261210000001,
  "20261211000001_address_order_indexes": m20261211000001,
  "20261212000001_identity_addresses_json": m20261212000001,
  "20261212000002_drop_address_order_indexes": m20261212000002,
  "20261213000001_drop_session_logout_token_hash": m20261213000001,
});
