/**
 * Child process of `sigkill.test.ts`: `node --import tsx sigkill-child.ts <sqlite file> <smtp uri> <enqueue count>`.
 * Migrates the SQLite file, enqueues `count` messages in one transaction (0: none), prints `ready`, then runs the
 * real worker (`startWorker`) until no message is queued or processing, and exits 0. The parent kills it with
 * SIGKILL somewhere in the middle.
 */
import { systemClock } from "../../src/util/clock.ts";
import { courierConfig, courierFor, openMigrated } from "./harness.ts";

const [file, uri, countRaw] = process.argv.slice(2);
const LEASE_MS = 1500;
const dsn = `sqlite://${file}`;
const database = await openMigrated(dsn);
const config = await courierConfig(dsn, { smtp: { connection_uri: uri }, worker: { pull_count: 10 } });
const courier = courierFor(database, config, systemClock, { tuning: { leaseMs: LEASE_MS, backoffBaseMs: 100, backoffMaxMs: 500 } });
const count = Number(countRaw);
if (count > 0) {
  await database.db.transaction().execute(async (trx) => {
    for (let i = 0; i < count; i++) {
      await courier.enqueue(trx, { template_type: "login_code", recipient: `burst${i}@example.com`, data: { login_code: String(i) } });
    }
  });
}
process.stdout.write("ready\n");
const stop = courier.startWorker({ pollMs: 50 });
for (;;) {
  const open = await database.db.selectFrom("courier_messages").select((eb) => eb.fn.countAll().as("n"))
    .where("status", "in", ["queued", "processing"]).executeTakeFirstOrThrow();
  if (Number(open.n) === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
await stop();
await database.destroy();
process.stdout.write("done\n");
