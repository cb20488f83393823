/**
 * Admin identity reads on a large SQLite database, against a bare Fastify route in the same run:
 * - `GET /admin/identities/{id}` (1000 different ids, round robin) vs a bare route answering one identity's JSON;
 * - `GET /admin/identities?page_size=250` (page 1) vs a bare route answering that page's JSON;
 * - the last full page (page 400 of 100,000) vs page 1: keyset pagination must keep it within 2x of page 1's latency
 *   (offset pagination would scan 99,750 rows first). Its token is taken from the keyset directly in SQL: the id of
 *   the 99,750th identity in id order.
 *
 * Run: node --import tsx bench/identities.ts
 * Env: BENCH_IDENTITIES (default 100000), BENCH_DURATION seconds per measurement (default 5), BENCH_ROUNDS (default 2).
 * Exit code 1 when page 400's mean latency is more than 2x page 1's.
 *
 * Seeding: identities are built by the real identity service (schema validation, normalization, derived credentials,
 * identifiers and addresses) with a repository that only collects them, then written with Kysely in multi-row inserts,
 * one transaction per batch of 1000, into the same tables and columns as `identity-repo.ts` writes (checked: one seeded
 * identity read back through the real repository equals what the service built).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql, type Insertable, type Transaction } from "kysely";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config/load.ts";
import { encodePageToken } from "../src/identity/admin-routes.ts";
import { createIdentityService } from "../src/identity/identity-service.ts";
import type { Identity } from "../src/identity/identity.ts";
import { renderAddresses } from "../src/identity/addresses-json.ts";
import { codec } from "../src/persistence/codec.ts";
import { migrator } from "../src/persistence/migrate.ts";
import type { DB } from "../src/persistence/schema.ts";
import { systemClock } from "../src/util/clock.ts";
import { createLogger } from "../src/util/logger.ts";
import { formatMeasurement, measureRounds, type Target } from "./lib/autocannon.ts";
import { startBareServer } from "./lib/bare.ts";
import { runBench } from "./lib/child.ts";

const COUNT = Number(process.env.BENCH_IDENTITIES ?? 100_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PAGE_SIZE = 250;
const BATCH = 1000;
const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

interface Info {
  count: number;
  seedSeconds: number;
  admin: string;
  bare: string;
  ids: string[];
  lastPage: number;
  lastPageToken: string;
}

type Trx = Transaction<DB>;

/** `rows` in multi-row INSERTs of at most `per` rows (SQLite allows 32766 bound parameters a statement). */
async function insertChunked<R>(rows: R[], per: number, insert: (chunk: R[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += per) await insert(rows.slice(i, i + per));
}

/** The rows `identity-repo.ts` writes for these identities (identityRow + writeChildren), in one transaction. */
async function writeBatch(trx: Trx, batch: Identity[]): Promise<void> {
  const identities: Insertable<DB["identities"]>[] = [];
  const credentials: Insertable<DB["identity_credentials"]>[] = [];
  const identifiers: Insertable<DB["identity_credential_identifiers"]>[] = [];
  const verifiable: Insertable<DB["identity_verifiable_addresses"]>[] = [];
  const recovery: Insertable<DB["identity_recovery_addresses"]>[] = [];
  for (const i of batch) {
    identities.push({
      id: i.id,
      schema_id: i.schema_id,
      state: i.state,
      traits: codec.json(i.traits),
      metadata_public: i.metadata_public === null || i.metadata_public === undefined ? null : codec.json(i.metadata_public),
      metadata_admin: i.metadata_admin === null || i.metadata_admin === undefined ? null : codec.json(i.metadata_admin),
      external_id: i.external_id ?? null,
      organization_id: i.organization_id,
      addresses: renderAddresses(i.verifiable_addresses, i.recovery_addresses),
      created_at: i.created_at,
      updated_at: i.updated_at,
    });
    for (const c of Object.values(i.credentials)) {
      if (!c) continue;
      credentials.push({ id: c.id, identity_id: i.id, type: c.type, config: codec.json(c.config), version: c.version, created_at: c.created_at, updated_at: c.updated_at });
      for (const identifier of c.identifiers) {
        identifiers.push({ id: crypto.randomUUID(), identity_id: i.id, credential_id: c.id, type: c.type, identifier, created_at: c.updated_at });
      }
    }
    for (const a of i.verifiable_addresses) {
      verifiable.push({
        id: a.id,
        identity_id: i.id,
        via: a.via,
        value: a.value,
        verified: codec.bool(a.verified),
        verified_at: a.verified_at ?? null,
        status: a.status,
        created_at: a.created_at,
        updated_at: a.updated_at,
      });
    }
    for (const a of i.recovery_addresses) {
      recovery.push({ id: a.id, identity_id: i.id, via: a.via, value: a.value, created_at: a.created_at, updated_at: a.updated_at });
    }
  }
  await insertChunked(identities, 2000, (rows) => trx.insertInto("identities").values(rows).execute());
  await insertChunked(credentials, 4000, (rows) => trx.insertInto("identity_credentials").values(rows).execute());
  await insertChunked(identifiers, 4000, (rows) => trx.insertInto("identity_credential_identifiers").values(rows).execute());
  await insertChunked(verifiable, 3000, (rows) => trx.insertInto("identity_verifiable_addresses").values(rows).execute());
  await insertChunked(recovery, 4000, (rows) => trx.insertInto("identity_recovery_addresses").values(rows).execute());
}

/** Child: a migrated SQLite file with COUNT identities, the real admin listener, and the bare baseline. */
async function setup() {
  if (!Number.isInteger(COUNT) || COUNT < 2 * PAGE_SIZE) throw new Error(`BENCH_IDENTITIES must be an integer >= ${2 * PAGE_SIZE}`);
  const dir = mkdtempSync(join(tmpdir(), "tessera-bench-identities-"));
  const { config } = await loadConfig({
    env: {},
    overrides: {
      dsn: `sqlite://${join(dir, "bench.db")}`,
      serve: { public: { base_url: "http://127.0.0.1:4433/" }, admin: { host: "127.0.0.1" } },
      secrets: { default: ["bench-secret-0123456789abcdefghij"] },
      identity: { default_schema_id: "default", schemas: [{ id: "default", url: `file://${join(REPO_ROOT, "config/identity.schema.json")}` }] },
      selfservice: { default_browser_return_url: "http://127.0.0.1:4455/" },
      hashers: { argon2: { memory: "1MB", iterations: 1, parallelism: 1 } },
      log: { level: "warning" },
    },
  });
  const app = await createApp({ config, baseDir: REPO_ROOT, logger: createLogger({ level: "warn" }) });
  const { database, repo, schemas, hasher } = app.deps;
  await migrator(database).up();

  // Build identities exactly as the admin API would, but collect them instead of inserting one transaction each.
  let collected: Identity[] = [];
  const service = createIdentityService({ repo: { ...repo, insert: async (i: Identity) => void collected.push(i) }, schemas, hasher, clock: systemClock });
  const started = performance.now();
  let sample: Identity | undefined;
  for (let n = 0; n < COUNT; n += BATCH) {
    collected = [];
    for (let k = n; k < Math.min(n + BATCH, COUNT); k++) {
      await service.create({ schema_id: "default", traits: { email: `bench-${k}@example.com`, name: { first: "Bench", last: String(k) } } });
    }
    sample ??= collected[0];
    const batch = collected;
    await database.db.transaction().execute((trx) => writeBatch(trx, batch));
    if ((n / BATCH) % 10 === 9) process.stderr.write(`\rseeded ${n + BATCH}/${COUNT}`);
  }
  await sql`PRAGMA optimize`.execute(database.db);
  const seedSeconds = (performance.now() - started) / 1000;
  process.stderr.write("\n");
  assert.equal(await repo.count(), COUNT);
  assert.ok(sample);
  assert.deepEqual(await repo.get(sample.id), sample, "a seeded identity reads back exactly as the service built it");

  // Page P (1-based) starts after the ((P-1) * PAGE_SIZE)-th identity in id order: its token is that identity's id.
  const lastPage = Math.floor(COUNT / PAGE_SIZE);
  const boundary = await database.db.selectFrom("identities").select("id").orderBy("id").limit(1).offset((lastPage - 1) * PAGE_SIZE - 1).executeTakeFirstOrThrow();
  const ids = (await database.db.selectFrom("identities").select("id").orderBy(sql`random()`).limit(1000).execute()).map((r) => r.id);

  const admin = await app.admin.listen({ host: "127.0.0.1", port: 0 });
  const identityJson = (await (await fetch(`${admin}/admin/identities/${ids[0]}`)).json()) as unknown;
  const pageJson = (await (await fetch(`${admin}/admin/identities?page_size=${PAGE_SIZE}`)).json()) as unknown[];
  const bare = await startBareServer({ "/identities/:id": identityJson, "/identities": pageJson });
  return {
    info: { count: COUNT, seedSeconds, admin, bare: bare.url, ids, lastPage, lastPageToken: encodePageToken(boundary.id) } satisfies Info,
    async close() {
      await bare.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Parent: sanity checks, then autocannon. Returns the exit code. */
async function measure(info: Info): Promise<number> {
  const pageUrl = (token?: string) => `${info.admin}/admin/identities?page_size=${PAGE_SIZE}${token ? `&page_token=${token}` : ""}`;
  const first = await fetch(pageUrl());
  const last = await fetch(pageUrl(info.lastPageToken));
  const [firstPage, lastPage] = [(await first.json()) as Array<{ id: string }>, (await last.json()) as Array<{ id: string }>];
  assert.equal(firstPage.length, PAGE_SIZE);
  assert.equal(lastPage.length, PAGE_SIZE, `page ${info.lastPage} is full`);
  assert.match(first.headers.get("link") ?? "", /rel="next"/);
  assert.equal((await fetch(`${info.admin}/admin/identities/${info.ids[1]}`)).status, 200);

  console.log(`# admin identities on SQLite: ${info.count} identities (seeded in ${info.seedSeconds.toFixed(1)} s, ${(info.count / info.seedSeconds).toFixed(0)}/s)`);
  console.log(`# autocannon: ${ROUNDS} rounds x ${DURATION} s per target after a 1 s warm-up; servers in a child process`);
  const roundRobin = (base: string): Target["paths"] => info.ids.map((id) => `${new URL(base).pathname}/${id}`);
  const gets = await measureRounds(
    [
      { label: "bare GET /identities/:id", url: `${info.bare}/identities`, paths: roundRobin(`${info.bare}/identities`) },
      { label: "GET /admin/identities/{id}", url: `${info.admin}/admin/identities`, paths: roundRobin(`${info.admin}/admin/identities`) },
    ],
    { connections: 10, duration: DURATION, rounds: ROUNDS },
  );
  const pages = await measureRounds(
    [
      { label: `bare page (${PAGE_SIZE} identities)`, url: `${info.bare}/identities` },
      { label: "list page 1", url: pageUrl() },
      { label: `list page ${info.lastPage}`, url: pageUrl(info.lastPageToken) },
    ],
    { connections: 4, duration: DURATION, rounds: ROUNDS },
  );
  for (const m of [...Object.values(gets), ...Object.values(pages)]) console.log(formatMeasurement(m));
  const getRatio = gets["GET /admin/identities/{id}"].rps / gets["bare GET /identities/:id"].rps;
  const p1 = pages["list page 1"];
  const pN = pages[`list page ${info.lastPage}`];
  const listRatio = p1.rps / pages[`bare page (${PAGE_SIZE} identities)`].rps;
  const depth = pN.mean / p1.mean;
  console.log(`ratio identity GET rps / bare rps      = ${getRatio.toFixed(2)}`);
  console.log(`ratio list page rps / bare page rps    = ${listRatio.toFixed(2)}`);
  console.log(`ratio page ${info.lastPage} latency / page 1 latency = ${depth.toFixed(2)} (mean; p50 ${pN.p50}/${p1.p50} ms) ${depth <= 2 ? "OK (<= 2)" : "FAIL (> 2)"}`);
  return depth <= 2 ? 0 : 1;
}

await runBench<Info>(import.meta.url, setup, measure);
