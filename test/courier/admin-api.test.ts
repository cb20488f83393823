import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { registerCourierAdminRoutes } from "../../src/courier/admin-routes.ts";
import { createHttpInstance } from "../../src/http/server.ts";
import type { Database } from "../../src/persistence/db.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import type { SmtpSink } from "../helpers/smtp-sink.ts";
import { courierConfig, courierFor, openMigrated, silentLogger } from "./harness.ts";

/** `GET /admin/courier/messages[/{id}]`: Kratos's message JSON, keyset pagination with Link headers, filters, 400s. */
const dir = mkdtempSync(join(tmpdir(), "tessera-courier-admin-"));
let sink: SmtpSink;
let database: Database;
let app: FastifyInstance;
const sentIds: string[] = [];
const queuedIds: string[] = [];

before(async () => {
  sink = await startSmtpSink();
  const dsn = `sqlite://${join(dir, "c.db")}`;
  database = await openMigrated(dsn);
  const clock = createManualClock(new Date("2026-12-03T12:00:00.000Z"));
  const courier = courierFor(database, await courierConfig(dsn, { smtp: { connection_uri: sink.uri } }), clock);
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    sentIds.push(await courier.enqueue(database.db, { template_type: "recovery_code", recipient: "alice@example.com", data: { recovery_code: `${i}` } }));
  }
  assert.equal(await courier.drainOnce(), 3);
  courier.close();
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    queuedIds.push(await courier.enqueue(database.db, { template_type: "verification_code", recipient: i % 2 ? "bob@example.com" : "alice@example.com", data: { verification_code: `${i}` } }));
  }
  app = createHttpInstance({ logger: silentLogger(), bodyLimit: 1 << 20 });
  await app.register(async (scope) => registerCourierAdminRoutes(scope, { database }), { prefix: "/admin" });
  await app.ready();
});
after(async () => {
  await app.close();
  await database.destroy();
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: "GET", url });
type Msg = { id: string; status: string; recipient: string; dispatches: Array<Record<string, unknown>> };

test("get one message: exactly Kratos's message JSON with its dispatches", async () => {
  const res = await get(`/admin/courier/messages/${sentIds[0]}`);
  assert.equal(res.statusCode, 200);
  const m = res.json() as Record<string, unknown> & Msg;
  assert.deepEqual(Object.keys(m).sort(), ["body", "created_at", "dispatches", "id", "recipient", "send_count", "status", "subject", "template_type", "type", "updated_at"]);
  assert.equal(m.id, sentIds[0]);
  assert.equal(m.status, "sent");
  assert.equal(m.type, "email");
  assert.equal(m.template_type, "recovery_code_valid");
  assert.equal(m.send_count, 1);
  assert.match(String(m.body), /recover access/);
  assert.equal(m.dispatches.length, 1);
  assert.deepEqual(Object.keys(m.dispatches[0]).sort(), ["created_at", "id", "message_id", "status", "updated_at"]);
  assert.equal(m.dispatches[0].status, "success");
  assert.equal(m.dispatches[0].message_id, sentIds[0]);
});

test("list: newest first, keyset pages through Link rel=next until the end, no overlap", async () => {
  const seen: string[] = [];
  let url: string | undefined = "/admin/courier/messages?page_size=3";
  let pages = 0;
  while (url) {
    const res = await get(url);
    assert.equal(res.statusCode, 200);
    seen.push(...(res.json() as Msg[]).map((m) => m.id));
    const link = String(res.headers.link ?? "");
    assert.match(link, /rel="first"/);
    url = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...sentIds, ...queuedIds].reverse());
});

test("filters: status and recipient, also combined and carried into the Link header", async () => {
  const queued = (await get("/admin/courier/messages?status=queued")).json() as Msg[];
  assert.deepEqual(queued.map((m) => m.id).sort(), [...queuedIds].sort());
  const sent = (await get("/admin/courier/messages?status=sent")).json() as Msg[];
  assert.deepEqual(sent.map((m) => m.id).sort(), [...sentIds].sort());
  assert.ok(sent.every((m) => m.dispatches.length === 1));
  const bob = (await get("/admin/courier/messages?recipient=bob@example.com")).json() as Msg[];
  assert.deepEqual(bob.map((m) => m.id), [queuedIds[3], queuedIds[1]]);
  const res = await get("/admin/courier/messages?recipient=alice@example.com&status=queued&page_size=1");
  assert.deepEqual((res.json() as Msg[]).map((m) => m.id), [queuedIds[2]]);
  const next = /<([^>]+)>; rel="next"/.exec(String(res.headers.link))?.[1] ?? "";
  assert.match(next, /status=queued/);
  assert.match(next, /recipient=alice%40example.com/);
  assert.deepEqual(((await get(next)).json() as Msg[]).map((m) => m.id), [queuedIds[0]]);
  assert.deepEqual((await get("/admin/courier/messages?recipient=nobody@example.com")).json(), []);
});

test("bad input is a 400 in Kratos's error shape; an unknown id a 404", async () => {
  const unknownToken = Buffer.from(JSON.stringify({ k: "00000000-0000-4000-8000-000000000000", v: 1 })).toString("base64url");
  for (const url of [
    "/admin/courier/messages?page_size=0",
    "/admin/courier/messages?page_size=1001",
    "/admin/courier/messages?page_size=abc",
    "/admin/courier/messages?page_token=garbage",
    `/admin/courier/messages?page_token=${unknownToken}`,
    "/admin/courier/messages?status=delivered",
    "/admin/courier/messages/not-a-uuid",
  ]) {
    const res = await get(url);
    assert.equal(res.statusCode, 400, url);
    const e = (res.json() as { error: Record<string, unknown> }).error;
    assert.equal(e.id, "bad_request", url);
    assert.equal(e.code, 400);
    assert.equal(e.status, "Bad Request");
    assert.equal(typeof e.message, "string");
  }
  const res = await get("/admin/courier/messages/00000000-0000-4000-8000-000000000000");
  assert.equal(res.statusCode, 404);
  assert.equal((res.json() as { error: { id: string } }).error.id, "not_found");
});
