import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createDatabase } from "../../src/persistence/db.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { REPO_ROOT } from "./harness.ts";

/**
 * Crash safety: a worker process is killed with SIGKILL in the middle of a burst of 200 messages, then started again.
 * Every message must arrive. A message the SMTP server accepted just before the kill, but whose `sent` update never
 * ran, is sent again once its lease expires: duplicates are bounded by the batch in flight (pull_count = 10) and
 * carry the same Message-ID.
 */
const N = 200;
const PULL_COUNT = 10;
const dir = mkdtempSync(join(tmpdir(), "tessera-sigkill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function startChild(file: string, uri: string, count: number): { child: ChildProcess; ready: Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/courier/sigkill-child.ts"), file, uri, String(count)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", () => reject(new Error(`child exited before ready: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  exit.then((code) => {
    if (code !== 0 && code !== null && err) process.stderr.write(err);
  }).catch(() => {});
  return { child, ready, exit };
}

test("SIGKILL mid-burst: after a restart every message arrives, duplicates bounded by the batch in flight", { timeout: 60_000 }, async (t) => {
  const sink = await startSmtpSink();
  const file = join(dir, "courier.db");
  try {
    const first = startChild(file, sink.uri, N);
    await first.ready;
    await sink.waitForCount(N / 4, { timeoutMs: 30_000 });
    first.child.kill("SIGKILL");
    assert.equal(await first.exit, null, "killed by a signal");
    const atKill = sink.messages.length;
    assert.ok(atKill < N, `killed mid-burst (${atKill} of ${N} delivered)`);

    const second = startChild(file, sink.uri, 0);
    await second.ready;
    assert.equal(await Promise.race([second.exit, new Promise((r) => setTimeout(() => r("timeout"), 30_000).unref())]), 0);

    const database = createDatabase(`sqlite://${file}`);
    try {
      const rows = await database.db.selectFrom("courier_messages").select(["id", "status"]).execute();
      assert.equal(rows.length, N);
      assert.ok(rows.every((r) => r.status === "sent"));
      const counts = new Map<string, number>();
      for (const m of sink.messages) counts.set(m.messageId ?? "", (counts.get(m.messageId ?? "") ?? 0) + 1);
      assert.deepEqual([...counts.keys()].sort(), rows.map((r) => `<${r.id}@tessera>`).sort(), "every message arrived");
      const duplicates = sink.messages.length - N;
      assert.ok([...counts.values()].every((c) => c <= 2), "at most one resend per message");
      assert.ok(duplicates <= PULL_COUNT, `duplicates (${duplicates}) bounded by the batch in flight (${PULL_COUNT})`);
      t.diagnostic(`delivered before the kill: ${atKill}, duplicates after restart: ${duplicates}`);
    } finally {
      await database.destroy();
    }
  } finally {
    await sink.stop();
  }
});
