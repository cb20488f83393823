import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { freePorts, killAll, runCli, serverConfig, startServer, tempDir, writeConfig, type CliResult, type TempDir } from "../compat/helpers.ts";

/**
 * `tessera serve` start-up rules, through the real bin: a start either listens or stops with exit code 1 and one line
 * on stderr saying what is wrong (never a stack trace).
 */

const dirs: TempDir[] = [];
async function fresh(): Promise<TempDir> {
  const d = await tempDir("tessera-cli-");
  dirs.push(d);
  return d;
}
after(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => d.remove()));
});

/** Exit 1 with exactly one stderr line, matching `pattern`; nothing looks like a stack trace. */
function assertOneLineFailure(res: CliResult, pattern: RegExp): void {
  assert.equal(res.code, 1, `exit code; stderr: ${res.stderr}`);
  const lines = res.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${res.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
}

async function configIn(dir: TempDir, extra: Record<string, unknown> = {}): Promise<{ file: string; publicPort: number; adminPort: number }> {
  const [publicPort, adminPort] = await freePorts(2);
  return { file: await writeConfig(dir.path, serverConfig({ dir: dir.path, publicPort, adminPort, extra })), publicPort, adminPort };
}

describe("tessera serve: refusals", { concurrency: 3, timeout: 300_000 }, () => {
  test("refuses a database with pending migrations, naming `tessera migrate sql up`", async () => {
    const dir = await fresh();
    const { file } = await configIn(dir);
    const res = await runCli(["serve", "-c", file]);
    assertOneLineFailure(res, /pending/);
    assert.ok(res.stderr.includes(`tessera migrate sql up -c ${file}`), res.stderr);
    assert.match(res.stderr, /20261203000001_identities/, "names the pending migrations");
  });

  test("a value of the wrong type: one line naming the key path", async () => {
    const dir = await fresh();
    const { file } = await configIn(dir, { serve: { public: { port: "not-a-port" } } });
    assertOneLineFailure(await runCli(["serve", "-c", file]), /^config: \/serve\/public\/port: must be integer$/);
  });

  test("an unknown key: one line naming the key path", async () => {
    const dir = await fresh();
    const { file } = await configIn(dir, { serve: { admin: { hots: "127.0.0.1" } } });
    assertOneLineFailure(await runCli(["serve", "-c", file]), /^config: \/serve\/admin\/hots: unknown key$/);
  });

  test("an identity schema that is not JSON: one line naming the schema", async () => {
    const dir = await fresh();
    const schema = join(dir.path, "broken.schema.json");
    await writeFile(schema, '{"type": "object", "properties": {');
    const { file } = await configIn(dir, { identity: { schemas: [{ id: "default", url: pathToFileURL(schema).href }] } });
    assertOneLineFailure(await runCli(["serve", "-c", file, "--dev"]), /^identity schema "default": .*not valid JSON/);
  });

  test("an unreadable identity schema: one line naming the schema", async () => {
    const dir = await fresh();
    const missing = join(dir.path, "missing.schema.json");
    const { file } = await configIn(dir, { identity: { schemas: [{ id: "default", url: pathToFileURL(missing).href }] } });
    assertOneLineFailure(await runCli(["serve", "-c", file, "--dev"]), /^identity schema "default": .*missing\.schema\.json/);
  });

  test("an identity schema that violates the JSON Schema meta-schema: one line", async () => {
    const dir = await fresh();
    const schema = join(dir.path, "invalid.schema.json");
    await writeFile(schema, JSON.stringify({ type: "object", properties: { traits: { type: "no-such-type" } } }));
    const { file } = await configIn(dir, { identity: { schemas: [{ id: "default", url: pathToFileURL(schema).href }] } });
    assertOneLineFailure(await runCli(["serve", "-c", file, "--dev"]), /^identity schema "default": /);
  });

  test("admin API on a non-loopback host without api_keys: refused", async () => {
    const dir = await fresh();
    const { file } = await configIn(dir, { serve: { admin: { host: "0.0.0.0" } } });
    assertOneLineFailure(await runCli(["serve", "-c", file, "--dev"]), /^config: \/serve\/admin\/host: .*api_keys.*allow_unauthenticated/);
  });
});

describe("tessera serve: starts", { concurrency: 3, timeout: 300_000 }, () => {
  test("--dev migrates the database itself and keeps a generated secret in the data dir", async () => {
    const dir = await fresh();
    const [publicPort, adminPort] = await freePorts(2);
    const config = serverConfig({ dir: dir.path, publicPort, adminPort });
    delete config.secrets;
    const file = await writeConfig(dir.path, config);
    const server = await startServer(file, { publicPort, adminPort, args: ["--dev"] });
    const created = await fetch(`${server.adminUrl}/admin/identities`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schema_id: "default", traits: { email: "dev@example.com" } }),
    });
    assert.equal(created.status, 201, "the identities table exists");
    assert.equal(await server.stop(), 0);
    const secret = (await readFile(join(dir.path, "secret"), "utf8")).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal((await stat(join(dir.path, "secret"))).mode & 0o077, 0, "secret readable by the owner only");
    const status = await runCli(["migrate", "sql", "status", "-c", file]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Database is up to date/);
  });

  test("admin API on 0.0.0.0 with allow_unauthenticated: true starts", async () => {
    const dir = await fresh();
    // The temp database is empty and the process lives a few seconds: nothing is exposed.
    const { file, publicPort, adminPort } = await configIn(dir, { serve: { admin: { host: "0.0.0.0", allow_unauthenticated: true } } });
    const server = await startServer(file, { publicPort, adminPort, args: ["--dev"] });
    assert.equal((await fetch(`${server.adminUrl}/admin/identities`)).status, 200);
    assert.equal(await server.stop(), 0);
  });

  test("admin API on 0.0.0.0 with api_keys starts and wants the key", async () => {
    const dir = await fresh();
    const key = "admin-key-0123456789abcdef0123456789";
    const { file, publicPort, adminPort } = await configIn(dir, { serve: { admin: { host: "0.0.0.0", api_keys: [key] } } });
    const server = await startServer(file, { publicPort, adminPort, args: ["--dev"] });
    assert.equal((await fetch(`${server.adminUrl}/admin/identities`)).status, 401);
    assert.equal((await fetch(`${server.adminUrl}/admin/identities`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal(await server.stop(), 0);
  });
  test("a relative SQLite DSN resolves against the working directory in migrate and serve alike", async () => {
    const dir = await fresh();
    const [publicPort, adminPort] = await freePorts(2);
    await mkdir(join(dir.path, "etc"));
    const config = serverConfig({ dir: dir.path, publicPort, adminPort, extra: { dsn: "sqlite://./data/rel.db" } });
    const file = await writeConfig(join(dir.path, "etc"), config);
    const migrated = await runCli(["migrate", "sql", "up", "-c", file, "--yes"], { cwd: dir.path });
    assert.equal(migrated.code, 0, migrated.stderr);
    await stat(join(dir.path, "data", "rel.db"));
    // serve, started from the same directory with the config elsewhere, finds the migrated file (no "pending").
    const server = await startServer(file, { publicPort, adminPort, cwd: dir.path });
    assert.equal((await fetch(`${server.adminUrl}/admin/identities`)).status, 200);
    assert.equal(await server.stop(), 0);
    await assert.rejects(stat(join(dir.path, "etc", "data", "rel.db")), "no second database next to the config file");
  });
});
