import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { testDatabases } from "../helpers/databases.ts";
import { answerOf, apiFlowId, assertSameAnswer, createIdentity, postJson, serve, type Served } from "./enumeration-helpers.ts";

/**
 * Two server instances sharing one store enforce ONE count per identifier, over HTTP: failures alternate between
 * instance A and B, and after `free_attempts` failures in total both refuse with 429 (identical answers). Runs on
 * PostgreSQL (`store: sql`, TEST_POSTGRES_DSN) and on Redis (`store: redis`, TEST_REDIS_URL; the two instances then
 * share a database too). Without the variables the suites are skipped visibly.
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const pgDb = testDatabases().find((d) => d.name === "postgres");
const sqliteDb = testDatabases().find((d) => d.name === "sqlite");
const redisUrl = process.env.TEST_REDIS_URL;

const variants: Array<{ name: string; skip?: string; dsn: () => Promise<{ dsn: string; drop(): Promise<void> }>; store: Record<string, unknown> }> = [
  { name: "postgres, store sql", skip: pgDb ? undefined : "skipped postgres: TEST_POSTGRES_DSN not set", dsn: () => pgDb!.dsn(), store: { store: "sql" } },
  {
    name: "redis, store redis",
    skip: redisUrl ? undefined : "skipped redis: TEST_REDIS_URL not set",
    dsn: () => (pgDb ?? sqliteDb)!.dsn(),
    store: { store: "redis", redis_url: redisUrl },
  },
];

for (const v of variants) {
  if (v.skip) {
    test(`two instances share one throttle count [${v.name}]`, { skip: v.skip }, () => {});
    continue;
  }
  describe(`two instances share one throttle count [${v.name}]`, () => {
    let db: { dsn: string; drop(): Promise<void> };
    let a: Served;
    let b: Served;
    const user = `shared-${randomBytes(4).toString("hex")}@example.com`;
    before(async () => {
      db = await v.dsn();
      const config = { security: { brute_force: { ...v.store, identifier: { free_attempts: 3, max_delay: "1m" } } } };
      a = await serve(config, db.dsn);
      b = await serve(config, db.dsn);
      // Each test app has its own manual clock; real instances share (NTP) time.
      b.t.clock.set(a.t.clock.now());
      await createIdentity(a.t, user, PASSWORD);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await db?.drop();
    });

    const login = async (s: Served, identifier: string, password: string) =>
      postJson(s.base, `/self-service/login?flow=${await apiFlowId(s.base, "login")}`, { method: "password", identifier, password });

    test("failures on A and B add up; both then refuse, for known and unknown identifiers alike", async () => {
      const ghost = `ghost-${user}`;
      for (const id of [user, ghost]) {
        const statuses = [];
        for (const s of [a, b, a]) statuses.push((await login(s, id, "wrong password, quite long")).status);
        assert.deepEqual(statuses, [400, 400, 400], id);
      }
      const onB = await login(b, user, PASSWORD);
      const onA = await login(a, ghost, PASSWORD);
      assert.equal(onB.status, 429, "the right password is refused on B after failures on A and B");
      assertSameAnswer(await answerOf(onB, [user]), await answerOf(onA, [ghost]), "429");
      const status = await b.t.app.admin.inject({ url: `/admin/security/throttles?identifier=${encodeURIComponent(user)}` });
      assert.equal(status.json<{ failures: number }>().failures, 3);
    });
  });
}
