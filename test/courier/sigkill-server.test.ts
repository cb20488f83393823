import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { createDatabase } from "../../src/persistence/db.ts";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { openMigrated } from "./harness.ts";
import { freePorts, killAll, serverConfig, startServer, tempDir, writeConfig, type RunningServer, type TempDir } from "../compat/helpers.ts";
import { seededShuffle } from "../security/timing.ts";

/**
 * Crash safety of the whole server: the real `tessera serve` (worker inside, SQLite file) is killed with SIGKILL in
 * the middle of a burst of 200 API recovery requests, half for the 50 known addresses and half for unknown ones
 * (`notify_unknown_recipients: true`, so every accepted request queues exactly one message), while its worker is
 * sending to a real SMTP server. The server is then started again on the same file and the rest of the burst is sent.
 *
 * The relay is a real SMTP server (smtp-server + mailparser) that, until the kill, holds each message 300 ms after
 * receiving its data before it answers 250, as a relay scanning its mail does. The kill comes after 80 answers as
 * soon as the relay holds a message (at the latest after 160 answers), so the one window where a resend is
 * unavoidable, between the relay having the message and our commit of `sent`, is open at the kill in most runs.
 *
 * What must hold:
 * - every request answered 200 before the kill has its message in the outbox (per recipient: at least as many rows
 *   as 200 answers, at most as many as requests sent), and every row ends `sent`;
 * - a row that was `queued` or `sent` at the kill arrives exactly once;
 * - a row that was `processing` at the kill (claimed by the dead worker) keeps its lease after the restart (no early
 *   resend) and goes out once the lease is over. It arrives twice exactly when the relay had it before the kill (its
 *   `sent` mark never committed): so duplicates are bounded by the rows in flight (<= courier.worker.pull_count), are
 *   exactly the in-flight rows the relay had, and the resend carries the same Message-ID.
 * The production lease is 5 minutes and not configurable; instead of waiting, the test moves the dead worker's
 * `claimed_until` into the past in the database file, which is what the passing of the lease does.
 */
const IDENTITIES = 50;
const REQUESTS = 200;
const KILL_AFTER = 80;
const KILL_AT_LATEST = 160;
const ACK_DELAY_MS = 300;
const CONCURRENCY = 8;
const PULL_COUNT = 10;

let dir: TempDir | undefined;
let relay: Relay | undefined;
after(async () => {
  await killAll();
  await relay?.stop();
  await dir?.remove();
});

interface Relay {
  uri: string;
  /** Every message whose data was received, in arrival order (before its 250 is sent). */
  messages: ParsedMail[];
  /** Messages received but not answered yet. */
  held: number;
  /** How long a received message waits for its 250; 0 answers at once. */
  ackDelayMs: number;
  stop(): Promise<void>;
}

/** A real SMTP server on a free port that answers each message's data `ackDelayMs` after receiving it. */
async function startRelay(ackDelayMs: number): Promise<Relay> {
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 500,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          r.messages.push(parsed);
          if (r.ackDelayMs === 0) return callback();
          r.held++;
          setTimeout(() => {
            r.held--;
            callback();
          }, r.ackDelayMs);
        })
        .catch((e: Error) => callback(e));
    },
  });
  server.on("error", () => {}); // a session cut by the kill
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  const r: Relay = {
    uri: `smtp://127.0.0.1:${port}/?disable_starttls=true`,
    messages: [],
    held: 0,
    ackDelayMs,
    async stop() {
      const conns = (server as unknown as { connections?: Set<{ close(): void }> }).connections;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of conns ?? []) c.close();
      await closed;
    },
  };
  return r;
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
  if (init.status !== 200) throw new Error(`recovery init: ${init.status} ${await init.text()}`);
  const flow = (await init.json()) as { id: string };
  const res = await fetch(`${server.publicUrl}/self-service/recovery?flow=${flow.id}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ method: "code", email }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`recovery submit for ${email}: ${res.status} ${text}`);
  assert.equal((JSON.parse(text) as { state?: string }).state, "sent_email");
  return res.status;
}

test("SIGKILL of `tessera serve` mid-burst of 200 recovery requests: no queued message lost, resends only of rows in flight", { timeout: 90_000 }, async (t) => {
  const t0 = performance.now();
  const phases: string[] = [];
  const phase = (name: string): void => void phases.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  dir = await tempDir("tessera-sigkill-server-");
  const smtp = await startRelay(ACK_DELAY_MS);
  relay = smtp;
  const [publicPort, adminPort] = await freePorts(2);
  const file = await writeConfig(dir.path, serverConfig({
    dir: dir.path,
    publicPort,
    adminPort,
    extra: {
      courier: { smtp: { connection_uri: smtp.uri }, worker: { pull_count: PULL_COUNT, pull_wait: "50ms" } },
      selfservice: { flows: { recovery: { enabled: true, notify_unknown_recipients: true }, verification: { enabled: false } } },
      // Caps far above the burst, so neither the per-IP request limit nor the message caps suppress a mail; the
      // throttle itself stays on (its counters are written to the same SQLite file, as in production).
      security: { brute_force: { ip: { max_requests: 100_000 }, messages: { per_address: 10_000 } } },
    },
  }));
  // Migrated here rather than with `tessera migrate` (one process start less); `serve` then runs without --dev.
  await (await openMigrated(`sqlite://${join(dir.path, "tessera.db")}`)).destroy();
  let server = await startServer(file, { publicPort, adminPort });
  phase("started");

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

  phase("identities");
  // Half known (each known address twice), half unknown (each once), in a seeded random order.
  const plan = seededShuffle(Array.from({ length: REQUESTS }, (_, i) => (i % 2 === 0 ? known[(i / 2) % IDENTITIES] : `unknown${i}@example.org`)), 20261203);
  const sent = new Map<string, number>(); // requests started, per recipient
  const acked = new Map<string, number>(); // 200 answers, per recipient
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let next = 0;
  let answered = 0;
  let killed = false;
  let lostInFlight = 0;
  let mailsAtKill = -1;
  let heldAtKill = -1;
  const first = server;
  const exited = new Promise<void>((resolve) => first.child.once("exit", () => resolve()));
  const client = async (): Promise<void> => {
    while (!killed && next < REQUESTS) {
      const email = plan[next++];
      bump(sent, email);
      try {
        const status = await recover(first, email);
        assert.equal(status, 200);
        bump(acked, email); // also an answer read after kill(): the server wrote it before it died
        if (killed) continue;
        if (++answered >= KILL_AFTER && (smtp.held > 0 || answered >= KILL_AT_LATEST)) {
          killed = true;
          first.child.kill("SIGKILL");
          mailsAtKill = smtp.messages.length;
          heldAtKill = smtp.held;
          smtp.ackDelayMs = 0; // from now on a plain, fast relay
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
  phase("killed");

  // What the dead server left behind, read from its file.
  const database = createDatabase(`sqlite://${join(dir.path, "tessera.db")}`);
  try {
    const atKill = await database.db.selectFrom("courier_messages").select(["id", "status", "recipient", "claim_token"]).execute();
    const claims = atKill.filter((r) => r.status === "processing").map((r) => ({ id: r.id, token: r.claim_token })).sort((a, b) => a.id.localeCompare(b.id));
    const inFlight = new Set(claims.map((c) => c.id));
    for (const [email, n] of acked) {
      const rows = atKill.filter((r) => r.recipient === email).length;
      assert.ok(rows >= n, `${email}: ${n} answers 200 before the kill, ${rows} outbox rows`);
    }
    assert.ok(inFlight.size <= PULL_COUNT, `rows in flight at the kill (${inFlight.size}) bounded by pull_count`);
    const byStatus = (s: string): number => atKill.filter((r) => r.status === s).length;

    // Restart on the same file; send the rest of the burst.
    server = await startServer(file, { publicPort, adminPort });
    const second = server;
    phase("restarted");
    const rest = plan.slice(startedBeforeKill);
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      for (let email = rest.shift(); email !== undefined; email = rest.shift()) {
        bump(sent, email);
        assert.equal(await recover(second, email), 200);
        bump(acked, email);
      }
    }));
    // Everything but the dead worker's claims goes out. Those keep their lease: still `processing` under the dead
    // worker's claim token, so no worker took them again and nothing of them was sent early.
    const open = async () => (await database.db.selectFrom("courier_messages").select(["id", "claim_token as token"])
      .where("status", "in", ["queued", "processing"]).execute()).sort((a, b) => a.id.localeCompare(b.id));
    await until("every message but the dead worker's to be sent", 30_000, async () => (await countByStatus(second, "queued")) === 0 &&
      JSON.stringify(await open()) === JSON.stringify(claims));
    // So every mail of those rows received so far reached the relay before the kill (counted now rather than at the
    // kill, so that a message whose DATA was in the relay's buffers when the server died is not missed).
    const seenBeforeKill = new Set(smtp.messages.map((m) => m.messageId));
    const inFlightDelivered = [...inFlight].filter((id) => seenBeforeKill.has(`<${id}@tessera>`)).length;
    assert.ok(inFlightDelivered >= heldAtKill, "a message the relay held unanswered at the kill belongs to a row in flight");
    t.diagnostic(`at the kill: ${answered} answers 200, ${lostInFlight} requests cut off, ${atKill.length} outbox rows ` +
      `(sent ${byStatus("sent")}, processing ${inFlight.size} of which ${inFlightDelivered} already at the relay, queued ${byStatus("queued")}), ` +
      `${mailsAtKill} mails received, ${heldAtKill} of them held unanswered`);

    phase("drained but the dead worker's");
    // The lease passes (5 min in production): the restarted worker takes them over.
    await database.db.updateTable("courier_messages").set({ claimed_until: "2000-01-01T00:00:00.000Z" }).where("status", "=", "processing").execute();
    await until("the outbox to drain", 30_000, async () => (await countByStatus(second, "queued")) + (await countByStatus(second, "processing")) === 0);

    phase("drained");
    t.diagnostic(phases.join(", "));
    const rows = await database.db.selectFrom("courier_messages").select(["id", "status", "recipient"]).execute();
    assert.deepEqual(rows.filter((r) => r.status !== "sent"), [], "every outbox row is sent");
    for (const [email, n] of acked) {
      const count = rows.filter((r) => r.recipient === email).length;
      assert.ok(count >= n && count <= (sent.get(email) ?? 0), `${email}: ${n} answers 200, ${sent.get(email)} requests, ${count} rows`);
    }
    const mails = new Map<string, number>();
    for (const m of smtp.messages) mails.set(m.messageId ?? "", (mails.get(m.messageId ?? "") ?? 0) + 1);
    assert.deepEqual([...mails.keys()].sort(), rows.map((r) => `<${r.id}@tessera>`).sort(), "every row arrived, nothing else did");
    const twice = rows.filter((r) => mails.get(`<${r.id}@tessera>`) !== 1);
    assert.ok(twice.every((r) => inFlight.has(r.id) && mails.get(`<${r.id}@tessera>`) === 2), "only rows in flight at the kill are resent, once");
    assert.equal(twice.length, inFlightDelivered, "resent exactly the rows the relay had accepted before the kill");
    t.diagnostic(`after the restart: ${rows.length} rows all sent, ${smtp.messages.length} mails, duplicates ${twice.length} ` +
      `(bound: ${inFlight.size} in flight, pull_count ${PULL_COUNT})`);
  } finally {
    await database.destroy();
  }
  assert.equal(await server.stop(), 0);
});
