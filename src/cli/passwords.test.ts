import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { sha1Hex, startPwnedServer } from "../../test/helpers/pwned-server.ts";
import type { PwnedServer } from "../../test/helpers/pwned-server.ts";
import { defaultPasswordPolicyConfig } from "../security/password/password-policy.ts";
import { runPasswordsCommand } from "./passwords.ts";

const testdata = join(import.meta.dirname, "../config/testdata");
let server: PwnedServer;
let dir: string;

before(async () => {
  server = await startPwnedServer({ breached: { "lilac-harbor-9031": 12 } });
  dir = await mkdtemp(join(tmpdir(), "tessera-passwords-cli-"));
});
after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], stdin: string, config?: typeof defaultPasswordPolicyConfig) {
  let out = "";
  let err = "";
  const code = await runPasswordsCommand(argv, config, {
    stdin: Readable.from([Buffer.from(stdin)]),
    out: (s) => (out += s),
    err: (s) => (err += s),
  });
  return { code, out, err };
}

interface Quickstart {
  selfservice: { methods: { password: { config?: Record<string, unknown> } } };
  identity: { schemas: Array<{ url: string }> };
}

/** Kratos's quickstart config with the password section pointed at our local range server or corpus. */
async function configFile(password: Record<string, unknown>): Promise<string> {
  const raw = parse(await readFile(join(testdata, "quickstart-email-password.kratos.yml"), "utf8")) as Quickstart;
  raw.selfservice.methods.password.config = password;
  raw.identity.schemas[0].url = pathToFileURL(join(testdata, "quickstart-email-password.identity.schema.json")).href;
  const file = join(dir, `kratos-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, stringify(raw));
  return file;
}

test("check with -c FILE: breached password rejected (exit 1), clean one accepted (exit 0), trailing newline dropped", async () => {
  const file = await configFile({ haveibeenpwned_host: server.url });
  const bad = await run(["check", "-c", file], "lilac-harbor-9031\n");
  assert.equal(bad.code, 1);
  assert.match(bad.out, /^rejected:\n {2}4000034 /);
  assert.match(bad.err, new RegExp(`breach check: ${server.url}/range/`));
  assert.ok(!bad.out.includes("lilac-harbor-9031"));
  const good = await run(["check", "-c", file], "lilac-harbor-9032\r\n");
  assert.equal(good.code, 0);
  assert.equal(good.out, "ok: the password meets the policy\n");
  assert.equal(server.requests.at(-1)?.path, `/range/${sha1Hex("lilac-harbor-9032").slice(0, 5)}`);
});

test("check --json with identifiers and an explicit config", async () => {
  const cfg = { ...defaultPasswordPolicyConfig, haveibeenpwned_enabled: false };
  const r = await run(["check", "--identifier", "dora@example.com", "--json"], "dora@example.com!", cfg);
  assert.equal(r.code, 1);
  const body = JSON.parse(r.out) as { ok: boolean; messages: { id: number }[] };
  assert.equal(body.ok, false);
  assert.deepEqual(body.messages.map((m) => m.id), [4000031]);
  assert.match(r.err, /breach check: disabled/);
});

test("check with an offline corpus from the config file makes no request", async () => {
  const corpus = join(dir, "pwned.txt");
  const hashes = ["lilac-harbor-9031", "granite-owl-77", "amber-sparrow-5"].map((p, i) => `${sha1Hex(p)}:${i + 3}`).sort();
  await writeFile(corpus, hashes.join("\r\n") + "\r\n");
  const file = await configFile({ haveibeenpwned_host: server.url, haveibeenpwned_file: corpus });
  const before = server.requests.length;
  const r = await run(["check", "-c", file], "granite-owl-77");
  assert.equal(r.code, 1);
  assert.match(r.out, /4000034/);
  assert.equal((await run(["check", "-c", file], "granite-owl-78")).code, 0);
  assert.equal(server.requests.length, before);
});

test("usage and configuration errors exit 2", async () => {
  assert.equal((await run([], "x")).code, 2);
  assert.equal((await run(["check", "--bogus"], "x")).code, 2);
  const missing = await run(["check", "-c", join(dir, "nope.yml")], "x");
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^config: /);
  assert.equal((await run(["--help"], "")).code, 0);
});
