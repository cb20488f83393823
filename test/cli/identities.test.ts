import { after, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { killAll, runCli, serverConfig, tempDir, writeConfig, type TempDir } from "../compat/helpers.ts";

/** `tessera identities import|list|get|delete` through the real bin, on a migrated SQLite file. */

let dir: TempDir | undefined;
after(async () => {
  await killAll();
  await dir?.remove();
});

interface IdentityJson {
  id: string;
  traits: { email: string };
  credentials?: { password?: { identifiers: string[]; config?: { hashed_password?: string } } };
}

test("import a .jsonl with a bad line and a schema violation, then list, get, delete", { timeout: 300_000 }, async () => {
  dir = await tempDir("tessera-cli-");
  const file = await writeConfig(dir.path, serverConfig({ dir: dir.path }));
  const migrated = await runCli(["migrate", "sql", "up", "-c", file, "--yes"]);
  assert.equal(migrated.code, 0, migrated.stderr);

  const good = (email: string, extra: Record<string, unknown> = {}) => JSON.stringify({ schema_id: "default", traits: { email }, ...extra });
  const lines = [
    good("ann@example.com", { credentials: { password: { config: { password: "an imported passphrase" } } } }),
    good("bob@example.com"),
    '{"schema_id": "default", "traits": {"email": "broken@example.com"',
    good("cid@example.com", { metadata_public: { plan: "pro" } }),
    JSON.stringify({ schema_id: "default", traits: { email: "eve@example.com", nickname: "not in the schema" } }),
    "",
    good("fay@example.com"),
  ];
  const jsonl = join(dir.path, "people.jsonl");
  await writeFile(jsonl, `${lines.join("\n")}\n`);

  const imported = await runCli(["identities", "import", jsonl, "-c", file]);
  assert.equal(imported.code, 1, "a failed record makes the exit code 1");
  const errors = imported.stderr.trimEnd().split("\n");
  assert.equal(errors.length, 2, imported.stderr);
  assert.match(errors[0], new RegExp(`^${jsonl}: line 3: invalid JSON`));
  assert.match(errors[1], new RegExp(`^${jsonl}: line 5: .*nickname`));
  assert.match(imported.stdout, /^imported 4 identities, 2 failed, in \d+(\.\d+)?s$/m);

  const [listed, paged, badSize] = await Promise.all([
    runCli(["identities", "list", "-c", file]),
    runCli(["identities", "list", "-c", file, "--page-size", "3"]),
    runCli(["identities", "list", "-c", file, "--page-size", "0"]),
  ]);
  assert.equal(badSize.code, 1);
  assert.match(badSize.stderr, /^tessera: --page-size must be an integer between 1 and \d+\n$/);
  assert.equal(listed.code, 0, listed.stderr);
  const all = listed.stdout.trim().split("\n").map((l) => JSON.parse(l) as IdentityJson);
  assert.deepEqual(all.map((i) => i.traits.email).sort(), ["ann@example.com", "bob@example.com", "cid@example.com", "fay@example.com"]);
  assert.deepEqual(all.map((i) => i.id), all.map((i) => i.id).sort(), "ordered by id");
  assert.equal(paged.code, 0, paged.stderr);
  assert.equal(paged.stdout, listed.stdout, "page size changes nothing but the number of queries");
  for (const i of all) assert.equal(i.credentials?.password?.config, undefined, "list never prints secrets");

  const ann = all.find((i) => i.traits.email === "ann@example.com")!;
  const [got, withPassword, unknown, notUuid] = await Promise.all([
    runCli(["identities", "get", ann.id, "-c", file]),
    runCli(["identities", "get", ann.id, "-c", file, "--include-credential", "password"]),
    runCli(["identities", "get", randomUUID(), "-c", file]),
    runCli(["identities", "get", "not-a-uuid", "-c", file]),
  ]);
  assert.equal(got.code, 0, got.stderr);
  const one = JSON.parse(got.stdout) as IdentityJson;
  assert.equal(one.id, ann.id);
  assert.deepEqual(one.credentials?.password?.identifiers, ["ann@example.com"]);
  assert.equal(one.credentials?.password?.config, undefined);
  assert.match(String((JSON.parse(withPassword.stdout) as IdentityJson).credentials?.password?.config?.hashed_password), /^\$argon2id\$/);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /not found/);
  assert.equal(notUuid.code, 1);
  assert.equal(notUuid.stderr.trimEnd().split("\n").length, 1, notUuid.stderr);

  const bob = all.find((i) => i.traits.email === "bob@example.com")!;
  const deleted = await runCli(["identities", "delete", ann.id, bob.id, "-c", file]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(deleted.stdout, `deleted ${ann.id}\ndeleted ${bob.id}\n`);
  const [gone, deleteAgain, remaining] = await Promise.all([
    runCli(["identities", "get", ann.id, "-c", file]),
    runCli(["identities", "delete", ann.id, "-c", file]),
    runCli(["identities", "list", "-c", file]),
  ]);
  assert.equal(gone.code, 1);
  assert.equal(deleteAgain.code, 1);
  assert.match(deleteAgain.stderr, /not found/);
  assert.deepEqual(
    remaining.stdout.trim().split("\n").map((l) => (JSON.parse(l) as IdentityJson).traits.email).sort(),
    ["cid@example.com", "fay@example.com"],
  );
});
