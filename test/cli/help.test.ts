import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { killAll, REPO_ROOT, runCli } from "../compat/helpers.ts";

/** `tessera version` and `--help` of every command through the real bin: exit 0, usage on stdout, nothing on stderr. */

after(killAll);

const VERSION = (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;

describe("version and help", { concurrency: 4, timeout: 300_000 }, () => {
  test("version prints the package version", async () => {
    for (const args of [["version"], ["--version"]]) {
      const res = await runCli(args);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, `${VERSION}\n`);
    }
  });

  // Every command and sub-command: `--help` must print that command's usage (not run it, not print the version), and
  // the usage must name the sub-command asked about.
  const commands: Array<{ args: string[]; usage: RegExp; mentions?: string }> = [
    { args: ["--help"], usage: /^Usage: tessera <command>/, mentions: "courier watch" },
    { args: ["-h"], usage: /^Usage: tessera <command>/ },
    { args: ["help"], usage: /^Usage: tessera <command>/ },
    { args: ["serve", "--help"], usage: /^Usage: tessera serve/ },
    { args: ["serve", "-h"], usage: /^Usage: tessera serve/ },
    { args: ["migrate", "--help"], usage: /^Usage: tessera migrate sql/ },
    { args: ["migrate", "sql", "--help"], usage: /^Usage: tessera migrate sql/ },
    ...["up", "down", "status"].map((sub) => ({ args: ["migrate", "sql", sub, "--help"], usage: /^Usage: tessera migrate sql/, mentions: sub })),
    { args: ["identities", "--help"], usage: /^Usage: tessera identities/ },
    ...["import", "list", "get", "delete"].map((sub) => ({ args: ["identities", sub, "--help"], usage: /^Usage: tessera identities/, mentions: sub })),
    { args: ["courier", "--help"], usage: /^Usage: tessera courier watch/ },
    { args: ["courier", "watch", "--help"], usage: /^Usage: tessera courier watch/ },
    { args: ["hashers", "--help"], usage: /^Usage: tessera hashers/ },
    { args: ["hashers", "argon2", "--help"], usage: /^Usage: tessera hashers argon2/ },
    ...["calibrate", "hash", "compare"].map((sub) => ({ args: ["hashers", "argon2", sub, "--help"], usage: /^Usage: tessera hashers argon2/, mentions: sub })),
    { args: ["passwords", "--help"], usage: /^Usage: tessera passwords/ },
    { args: ["passwords", "check", "--help"], usage: /^Usage: tessera passwords check/ },
    { args: ["passwords", "check", "--help", "-c", "/nonexistent/kratos.yml"], usage: /^Usage: tessera passwords check/ },
    { args: ["version", "--help"], usage: /^Usage: tessera version/ },
    { args: ["version", "-h"], usage: /^Usage: tessera version/ },
  ];
  for (const { args, usage, mentions } of commands) {
    test(`tessera ${args.join(" ")}: exit 0 with usage`, async () => {
      const res = await runCli(args);
      assert.equal(res.code, 0, `exit code; stderr: ${res.stderr}`);
      assert.match(res.stdout, usage);
      if (mentions) assert.ok(res.stdout.includes(mentions), `the usage names "${mentions}":\n${res.stdout}`);
      assert.notEqual(res.stdout, `${VERSION}\n`, "usage, not the version");
      assert.equal(res.stderr, "");
    });
  }

  test("an unknown command: usage on stderr, exit 2", async () => {
    const res = await runCli(["frobnicate"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "frobnicate"/);
  });
});
