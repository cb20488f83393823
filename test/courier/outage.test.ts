import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Database } from "../../src/persistence/db.ts";
import type { AppError } from "../../src/util/app-error.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import type { SmtpSink } from "../helpers/smtp-sink.ts";
import { courierConfig, courierFor, openMigrated } from "./harness.ts";

/** SMTP outages, retries with backoff, abandonment and crashed-worker leases, on SQLite with a manual clock. */
const dir = mkdtempSync(join(tmpdir(), "tessera-courier-"));
let sink: SmtpSink;
let database: Database;
const clock = createManualClock(new Date("2026-12-03T10:00:00.000Z"));
const LEASE_MS = 60_000;

before(async () => {
  sink = await startSmtpSink();
  database = await openMigrated(`sqlite://${join(dir, "courier.db")}`);
});
after(async () => {
  await sink.stop();
  await database.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function makeCourier(retries: number) {
  const config = await courierConfig(`sqlite://${join(dir, "courier.db")}`, {
    smtp: { connection_uri: sink.uri },
    message_retries: retries,
  });
  return courierFor(database, config, clock, { tuning: { leaseMs: LEASE_MS, backoffBaseMs: 1000, backoffMaxMs: 60_000 } });
}

test("enqueue answers at once while SMTP is down; the message waits, retries with backoff and goes out when SMTP is back", async () => {
  const courier = await makeCourier(5);
  await sink.stop();
  const t0 = performance.now();
  const id = await database.db.transaction().execute((trx) =>
    courier.enqueue(trx, { template_type: "verification_code", recipient: "down@example.com", data: { verification_code: "424242" } }));
  const enqueueMs = performance.now() - t0;
  assert.ok(enqueueMs < 250, `enqueue took ${enqueueMs} ms`);

  assert.equal(await courier.drainOnce(), 1);
  let m = await courier.repo.get(id);
  assert.equal(m?.status, "queued");
  assert.equal(m?.send_count, 1);
  assert.ok(m && m.next_attempt_at.getTime() > clock.now().getTime(), "backoff pushes the next attempt into the future");
  assert.equal(await courier.drainOnce(), 0, "not due yet");

  clock.advance(1200); // first backoff: 1 s +-20 %
  assert.equal(await courier.drainOnce(), 1);
  const d = await courier.repo.dispatches([id]);
  assert.deepEqual(d.map((x) => x.status), ["failed", "failed"]);
  assert.match(String((d[0].error as { message: string }).message), /ECONNREFUSED|connect/i);

  await sink.start();
  clock.advance(2400); // second backoff: 2 s +-20 %
  assert.equal(await courier.drainOnce(), 1);
  const mail = await sink.waitFor("down@example.com", { timeoutMs: 5000 });
  assert.equal(mail.messageId, `<${id}@tessera>`);
  assert.match(mail.text ?? "", /424242/);
  m = await courier.repo.get(id);
  assert.equal(m?.status, "sent");
  assert.equal(m?.send_count, 3);
  assert.deepEqual((await courier.repo.dispatches([id])).map((x) => x.status), ["failed", "failed", "success"]);
  courier.close();
});

test("after message_retries failed attempts the message is abandoned and never sent", async () => {
  const courier = await makeCourier(3);
  await sink.stop();
  const id = await courier.enqueue(database.db, { template_type: "login_code", recipient: "gone@example.com", data: { login_code: "1" } });
  for (let i = 0; i < 3; i++) {
    assert.equal(await courier.drainOnce(), 1, `attempt ${i + 1}`);
    clock.advance(60_000);
  }
  const m = await courier.repo.get(id);
  assert.equal(m?.status, "abandoned");
  assert.equal(m?.send_count, 3);
  assert.equal((await courier.repo.dispatches([id])).filter((x) => x.status === "failed").length, 3);
  await sink.start();
  clock.advance(3_600_000);
  assert.equal(await courier.drainOnce(), 0);
  assert.equal(sink.messages.filter((x) => x.messageId === `<${id}@tessera>`).length, 0);
  courier.close();
});

test("a rolled-back transaction leaves no message; a crashed worker's claim is retaken after its lease", async () => {
  const courier = await makeCourier(5);
  await assert.rejects(database.db.transaction().execute(async (trx) => {
    await courier.enqueue(trx, { template_type: "recovery_code", recipient: "rollback@example.com", data: { recovery_code: "9" } });
    throw new Error("the causing change failed");
  }));
  assert.equal((await courier.repo.list({ limit: 10, recipient: "rollback@example.com" }))?.length, 0);

  const id = await courier.enqueue(database.db, { template_type: "recovery_code", recipient: "lease@example.com", data: { recovery_code: "77" } });
  const crashed = await courier.repo.claim(clock.now(), 10, LEASE_MS); // a worker that claims, then dies
  assert.deepEqual(crashed.rows.map((r) => r.id), [id]);
  assert.equal(await courier.drainOnce(), 0, "leased to the dead worker");
  clock.advance(LEASE_MS);
  assert.equal(await courier.drainOnce(), 1);
  await sink.waitFor("lease@example.com");
  assert.equal((await courier.repo.get(id))?.status, "sent");
  courier.close();
});

test("sms goes through the configured HTTP channel; sms without a channel is refused at enqueue", async () => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let b = "";
    req.on("data", (c: Buffer) => (b += c.toString()));
    req.on("end", () => {
      bodies.push(b);
      res.end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const config = await courierConfig(`sqlite://${join(dir, "courier.db")}`, {
      smtp: { connection_uri: sink.uri },
      channels: [{ id: "sms", type: "http", request_config: { url: `http://127.0.0.1:${port}/sms` } }],
    });
    const courier = courierFor(database, config, clock);
    const id = await courier.enqueue(database.db, { template_type: "login_code", channel: "sms", recipient: "+15550123", data: { login_code: "606060" } });
    assert.equal(await courier.drainOnce(), 1);
    const sent = JSON.parse(bodies[0]) as { recipient: string; body: string; template_type: string };
    assert.equal(sent.recipient, "+15550123");
    assert.equal(sent.template_type, "login_code_valid");
    assert.match(sent.body, /606060/);
    const m = await courier.repo.get(id);
    assert.equal(m?.status, "sent");
    assert.equal(m?.type, "phone");
    const noSms = await makeCourier(5);
    await assert.rejects(noSms.enqueue(database.db, { template_type: "login_code", channel: "sms", recipient: "+1555", data: {} }), (e: AppError) => /channels/.test(e.reason ?? ""));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
