import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Database } from "../../src/persistence/db.ts";
import { systemClock } from "../../src/util/clock.ts";
import { describeEachDatabase } from "../helpers/databases.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import type { SmtpSink } from "../helpers/smtp-sink.ts";
import { courierConfig, courierFor, openMigrated } from "./harness.ts";

/**
 * Two workers, each with its own connection pool (as two instances would have), drain 200 messages from the same
 * database: every message is sent exactly once (row claiming with FOR UPDATE SKIP LOCKED on PostgreSQL and MariaDB,
 * one atomic UPDATE on SQLite). On SQLite both workers share one connection, as two workers in one process would:
 * better-sqlite3 is synchronous, so a second connection in the same process would busy-wait on the first one's write
 * lock while blocking the event loop that must release it. Separate processes on one SQLite file are covered by
 * `sigkill.test.ts`.
 */
const N = 200;

describeEachDatabase("courier: two workers drain one outbox", (tdb) => {
  let sink: SmtpSink;
  let dsn: { dsn: string; drop(): Promise<void> };
  const databases: Database[] = [];

  before(async () => {
    sink = await startSmtpSink();
    dsn = await tdb.dsn();
    databases.push(await openMigrated(dsn.dsn));
    if (tdb.name === "sqlite") databases.push(databases[0]);
    else databases.push(await openMigrated(dsn.dsn));
  });
  after(async () => {
    await sink.stop();
    for (const d of new Set(databases)) await d.destroy();
    await dsn.drop();
  });

  test(`${N} messages, each sent exactly once`, async () => {
    const config = await courierConfig(dsn.dsn, { smtp: { connection_uri: sink.uri }, worker: { pull_count: 10 } });
    const workers = databases.map((d) => courierFor(d, config, systemClock));
    const ids = new Set<string>();
    await databases[0].db.transaction().execute(async (trx) => {
      for (let i = 0; i < N; i++) {
        ids.add(await workers[0].enqueue(trx, { template_type: "login_code", recipient: `user${i}@example.com`, data: { login_code: String(i) } }));
      }
    });

    const handled = [0, 0];
    const run = async (w: number): Promise<void> => {
      // Stop when a round finds nothing and everything is accounted for in the sink.
      for (;;) {
        const n = await workers[w].drainOnce();
        handled[w] += n;
        if (n === 0 && sink.messages.length >= N) return;
        if (n === 0) await new Promise((r) => setTimeout(r, 20));
      }
    };
    await Promise.race([
      Promise.all([run(0), run(1)]),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${sink.messages.length} of ${N} arrived`)), 30_000).unref()),
    ]);
    for (const w of workers) w.close();

    const seen = new Map<string, number>();
    for (const m of sink.messages) seen.set(m.messageId ?? "", (seen.get(m.messageId ?? "") ?? 0) + 1);
    assert.equal(sink.messages.length, N, "no message sent twice");
    assert.deepEqual([...seen.keys()].sort(), [...ids].map((id) => `<${id}@tessera>`).sort());
    assert.equal(handled[0] + handled[1], N);
    assert.ok(handled[0] > 0 && handled[1] > 0, `both workers took part (${handled.join(" / ")})`);

    const rows = await workers[0].repo.list({ limit: N + 1 });
    assert.equal(rows?.length, N);
    assert.ok(rows?.every((r) => r.status === "sent" && r.send_count === 1));
    const dispatches = await workers[0].repo.dispatches([...ids]);
    assert.equal(dispatches.length, N);
    assert.ok(dispatches.every((d) => d.status === "success"));
  });
});
