import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createDatabase } from "../../src/persistence/db.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.ts";
import { freePorts, killAll, runCli, serverConfig, startServer, tempDir, writeConfig, type RunningServer, type TempDir } from "../compat/helpers.ts";

/**
 * Crash safety of the whole server: the real `tessera serve` (worker inside, SQLite file) is killed with SIGKILL in
 * the middle of a burst of 200 API recovery requests, half for the 50 known addresses and half for unknown ones
 * (`notify_unknown_recipients: true`, so every accepted request queues exactly one message), while its worker is
 * sending to a real SMTP server. The server is then started again on the same file and the rest of the burst is sent.
 *
 * What must hold:
 * - every request answered 200 before the kill has its message in the outbox (per recipient: at least as many rows
 *   as 200 answers, at most as many as requests sent), and every row ends `sent`;
 * - a row that was `queued` or `sent` at the kill arrives exactly once;
 * - a row that was `processing` at the kill (claimed by the dead worker) keeps its lease after the restart (no early
 *   resend) and goes out once the lease is over. It arrives twice exactly when the relay had accepted it before the
 *   kill (its `sent` mark never committed): that window between the relay's 250 and our commit cannot be closed, so
 *   duplicates are bounded by the rows in flight (<= courier.worker.pull_count) and carry the same Message-ID.
 * The production lease is 5 minutes and not configurable; instead of waiting, the test moves the dead worker's
 * `claimed_until` into the past in the database file, which is what the passing of the lease does.
 */
const IDENTITIES = 50;
const REQUESTS = 200;
const KILL_AFTER = 80;
const CONCURRENCY = 8;
const PULL_COUNT = 10;

let dir: TempDir | undefined;
let sink: SmtpSink | undefined;
after(async () => {
  await killAll();
  await sink?.stop();
  await dir?.remove();
});

/** Deterministic shuffle (mulberry32), so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of outbox rows with `status`, through the admin API (page_size 1000 covers the whole test). */
async function countByStatus(server: RunningServer, status: string): Promise<number> {
  const res = await fetch(`${server.adminUrl}/admin/courier/messages?status=${status}&page_size=1000`);
  assert.equal(res.status, 200);
  return ((await res.json()) as unknown[]).length;
}

/** One API recovery request: init the flow, submit the address. Resolves with the submit's status. */
async function recover(server: RunningServer, email: string): Promise<number> {
  const init = await fetch(`${server.publicUrl}/self-service/recovery/api`, { headers: { accept: "application/json" } });
  assert.equal(init.status, 200, await init.clone().text());
  const flow = (await init.json()) as { id: string };
  const res = await fetch(`${server.publicUrl}/self-service/recovery?flow=${flow.id}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ method: "code", email }),
  });
  const body = (await res.json()) as { state?: string };
  if (res.status === 200) assert.equal(body.state, "sent_email");
  return res.status;
}

test("SIGKILL of `tessera serve` mid-burst of 200 recovery requests: no queued message lost, resends only of rows in flight", { timeout: 90_000 }, async (t) => {
  dir = await tempDir("tessera-sigkill-server-");
  sink = await startSmtpSink();
  const [publicPort, adminPort] = await freePorts(2);
  const file = await writeConfig(dir.path, serverConfig({
    dir: dir.path,
    publicPort,
    adminPort,
    extra: {
      courier: { smtp: { connection_uri: sink.uri }, worker: { pull_count: PULL_COUNT, pull_wait: "50ms" } },
      selfservice: { flows: { recovery: { enabled: true, notify_unknown_recipients: true }, verification: { enabled: false } } },
      // Caps far above the burst, so neither the per-IP request limit nor the message caps suppress a mail; the
      // throttle itself stays on (its counters are written to the same SQLite file, as in production).
      security: { brute_force: { ip: { max_requests: 100_000 }, messages: { per_address: 10_000 } } },
    },
  }));
  const migrated = await runCli(["migrate", "sql", "up", "-c", file, "--yes"]);
  assert.equal(migrated.code, 0, migrated.stderr);
  let server = await startServer(file, { publicPort, adminPort });

  const known: string[] = [];
  for (let i = 0; i < IDENTITIES; i++) {
    const email = `known${i}@example.com`;
    const res = await fetch(`${server.adminUrl}/admin/identities`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schema_id: "default", traits: { email } }),
    });
    assert.equal(res.status, 201, await res.text());
    known.push(email);
  }
  assert.equal(await countByStatus(server, "queued") + await countByStatus(server, "sent"), 0, "creating identities queues nothing");

  // Half known (each known address twice), half unknown (each once), in a seeded random order.
  const plan = shuffled(Array.from({ length: REQUESTS }, (_, i) => (i % 2 === 0 ? known[(i / 2) % IDENTITIES] : `unknown${i}@example.org`)), 20261203);
  const sent = new Map<string, number>(); // requests started, per recipient
  const acked = new Map<string, number>(); // 200 answers, per recipient
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let next = 0;
  let answered = 0;
  let killed = false;
  let lostInFlight = 0;
  let mailsAtKill = -1;
  const first = server;
  const exited = new Promise<void>((resolve) => first.child.once("exit", () => resolve()));
  const client = async (): Promise<void> => {
    while (!killed && next < REQUESTS) {
      const email = plan[next++];
      bump(sent, email);
      try {
        const status = await recover(first, email);
        assert.equal(status, 200);
        if (killed) continue; // answered, but after the kill was decided: counted as acked all the same
        bump(acked, email);
        if (++answered === KILL_AFTER) {
          killed = true;
          first.child.kill("SIGKILL");
          mailsAtKill = sink?.messages.length ?? -1;
        }
      } catch (e) {
        if (!killed) throw e;
        lostInFlight++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  await exited;
  assert.equal(first.child.signalCode, "SIGKILL");
  const startedBeforeKill = next;

  // What the dead server left behind, read from its file.
  const database = createDatabase(`sqlite://${join(dir.path, "tessera.db")}`);
  try {
    const atKill = await database.db.selectFrom("courier_messages").select(["id", "status", "recipient"]).execute();
    const inFlight = new Set(atKill.filter((r) => r.status === "processing").map((r) => r.id));
    const seenAtKill = new Set(sink.messages.map((m) => m.messageId));
    const inFlightDelivered = [...inFlight].filter((id) => seenAtKill.has(`<${id}@tessera>`)).length;
    for (const [email, n] of acked) {
      const rows = atKill.filter((r) => r.recipient === email).length;
      assert.ok(rows >= n, `${email}: ${n} answers 200 before the kill, ${rows} outbox rows`);
    }
    assert.ok(inFlight.size <= PULL_COUNT, `rows in flight at the kill (${inFlight.size}) bounded by pull_count`);
    const byStatus = (s: string): number => atKill.filter((r) => r.status === s).length;
    t.diagnostic(`at the kill: ${answered} answers 200, ${lostInFlight} requests cut off, ${atKill.length} outbox rows ` +
      `(sent ${byStatus("sent")}, processing ${inFlight.size} of which ${inFlightDelivered} already at the relay, queued ${byStatus("queued")}), ` +
      `${mailsAtKill} mails received`);

    // Restart on the same file; send the rest of the burst.
    server = await startServer(file, { publicPort, adminPort });
    const second = server;
    for (const email of plan.slice(startedBeforeKill)) {
      bump(sent, email);
      assert.equal(await recover(second, email), 200);
      bump(acked, email);
    }
    await until("the queued messages to be sent", 30_000, async () => (await countByStatus(second, "queued")) === 0);
    // The dead worker's claims still hold: nothing of them was sent again early.
    const stillProcessing = await database.db.selectFrom("courier_messages").select("id").where("status", "=", "processing").execute();
    assert.deepEqual(stillProcessing.map((r) => r.id).sort(), [...inFlight].sort(), "the dead worker's rows wait for their lease");

    // The lease passes (5 min in production): the restarted worker takes them over.
    await database.db.updateTable("courier_messages").set({ claimed_until: "2000-01-01T00:00:00.000Z" }).where("status", "=", "processing").execute();
    await until("the outbox to drain", 30_000, async () => (await countByStatus(second, "queued")) + (await countByStatus(second, "processing")) === 0);

    const rows = await database.db.selectFrom("courier_messages").select(["id", "status", "recipient"]).execute();
    assert.deepEqual(rows.filter((r) => r.status !== "sent"), [], "every outbox row is sent");
    for (const [email, n] of acked) {
      const count = rows.filter((r) => r.recipient === email).length;
      assert.ok(count >= n && count <= (sent.get(email) ?? 0), `${email}: ${n} answers 200, ${sent.get(email)} requests, ${count} rows`);
    }
    const mails = new Map<string, number>();
    for (const m of sink.messages) mails.set(m.messageId ?? "", (mails.get(m.messageId ?? "") ?? 0) + 1);
    assert.deepEqual([...mails.keys()].sort(), rows.map((r) => `<${r.id}@tessera>`).sort(), "every row arrived, nothing else did");
    const twice = rows.filter((r) => mails.get(`<${r.id}@tessera>`) !== 1);
    assert.ok(twice.every((r) => inFlight.has(r.id) && mails.get(`<${r.id}@tessera>`) === 2), "only rows in flight at the kill are resent, once");
    assert.equal(twice.length, inFlightDelivered, "resent exactly the rows the relay had accepted before the kill");
    t.diagnostic(`after the restart: ${rows.length} rows all sent, ${sink.messages.length} mails, duplicates ${twice.length} ` +
      `(bound: ${inFlight.size} in flight, pull_count ${PULL_COUNT})`);
  } finally {
    await database.destroy();
  }
  assert.equal(await server.stop(), 0);
});
