import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { runCourierCommand } from "../../src/cli/courier.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { courierConfig, courierFor, openMigrated, REPO_ROOT } from "./harness.ts";

/** `tessera courier watch -c FILE` runs the worker alone: it sends what another process queued, and stops cleanly. */
const dir = mkdtempSync(join(tmpdir(), "tessera-courier-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(dsn: string, uri: string): string {
  const file = join(dir, `kratos-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({
    dsn,
    log: { level: "error" },
    serve: { public: { base_url: "https://id.example.test/" } },
    identity: { default_schema_id: "default", schemas: [{ id: "default", url: `file://${REPO_ROOT}config/identity.schema.json` }] },
    selfservice: { default_browser_return_url: "http://127.0.0.1:4455/", flows: { error: { ui_url: "http://127.0.0.1:4455/error" }, login: { ui_url: "http://127.0.0.1:4455/login" } } },
    courier: { smtp: { connection_uri: uri }, worker: { pull_wait: "100ms" } },
  }));
  return file;
}

const sinkStream = (): Writable & { text: string } => {
  const w = new Writable({ write(chunk: Buffer, _e, cb) { w.text += chunk.toString(); cb(); } }) as Writable & { text: string };
  w.text = "";
  return w;
};

test("watch sends messages queued by another process and stops on signal", async () => {
  const sink = await startSmtpSink();
  const dsn = `sqlite://${join(dir, "watch.db")}`;
  const database = await openMigrated(dsn);
  try {
    const producer = courierFor(database, await courierConfig(dsn, { smtp: { connection_uri: sink.uri } }), createManualClock());
    const id = await producer.enqueue(database.db, { template_type: "password_changed", recipient: "cli@example.com", data: {} });
    const ac = new AbortController();
    const run = runCourierCommand(["watch", "-c", writeConfig(dsn, sink.uri)], { env: {}, signal: ac.signal, stdout: sinkStream(), stderr: sinkStream() });
    const mail = await sink.waitFor("cli@example.com", { timeoutMs: 10_000 });
    assert.equal(mail.messageId, `<${id}@tessera>`);
    assert.match(mail.text ?? "", /https:\/\/id\.example\.test\/self-service\/recovery\/browser/);
    ac.abort();
    assert.equal(await run, 0);
  } finally {
    await database.destroy();
    await sink.stop();
  }
});

test("watch refuses an unmigrated database and bad usage", async () => {
  const err = sinkStream();
  const file = writeConfig(`sqlite://${join(dir, "empty.db")}`, "smtp://127.0.0.1:1/?disable_starttls=true");
  assert.equal(await runCourierCommand(["watch", "-c", file], { env: {}, stderr: err }), 1);
  assert.match(err.text, /pending migration/);
  assert.equal(await runCourierCommand(["send"], { env: {}, stderr: sinkStream() }), 2);
});
