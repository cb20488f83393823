import { after, test } from "node:test";
import assert from "node:assert/strict";
import { migrations } from "../../src/persistence/migrations/index.ts";
import { killAll, runCli, serverConfig, tempDir, writeConfig, type TempDir } from "../compat/helpers.ts";

/** `tessera migrate sql status|up|down` through the real bin, on a fresh SQLite file. */

let dir: TempDir | undefined;
after(async () => {
  await killAll();
  await dir?.remove();
});

test("migrate sql status -> up -> status -> down --yes -> status -> up", { timeout: 300_000 }, async () => {
  dir = await tempDir("tessera-cli-");
  const file = await writeConfig(dir.path, serverConfig({ dir: dir.path }));
  const names = Object.keys(migrations);
  assert.ok(names.length >= 2);
  const latest = names[names.length - 1];

  const before = await runCli(["migrate", "sql", "status", "-c", file]);
  assert.equal(before.code, 0, before.stderr);
  for (const n of names) assert.match(before.stdout, new RegExp(`^Pending\\t${n}$`, "m"));
  assert.match(before.stdout, new RegExp(`^${names.length} migration\\(s\\) pending$`, "m"));

  const up = await runCli(["migrate", "sql", "up", "-c", file, "--yes"]);
  assert.equal(up.code, 0, up.stderr);
  for (const n of names) assert.match(up.stdout, new RegExp(`^Applied migration ${n}$`, "m"));

  // No terminal and no --yes: refused, nothing reverted (the status running beside it sees everything applied).
  const [again, refused] = await Promise.all([runCli(["migrate", "sql", "up", "-c", file, "--yes"]), runCli(["migrate", "sql", "down", "-c", file])]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to apply/);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--yes/);
  const applied = await runCli(["migrate", "sql", "status", "-c", file]);
  for (const n of names) assert.match(applied.stdout, new RegExp(`^Applied\\t${n}$`, "m"));
  assert.match(applied.stdout, /Database is up to date/);

  const down = await runCli(["migrate", "sql", "down", "-c", file, "--yes"]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stdout.trim(), `Reverted migration ${latest}`);

  const after1 = await runCli(["migrate", "sql", "status", "-c", file]);
  assert.match(after1.stdout, new RegExp(`^Pending\\t${latest}$`, "m"));
  assert.match(after1.stdout, new RegExp(`^Applied\\t${names[0]}$`, "m"));
  assert.match(after1.stdout, /^1 migration\(s\) pending$/m);

  const reapplied = await runCli(["migrate", "sql", "up", "-c", file, "--yes"]);
  assert.equal(reapplied.code, 0, reapplied.stderr);
  assert.equal(reapplied.stdout.split("\n")[0], `Applied migration ${latest}`);
});
