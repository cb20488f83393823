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

  const commands: Array<{ args: string[]; usage: RegExp }> = [
    { args: ["--help"], usage: /^Usage: tessera <command>/ },
    { args: ["help"], usage: /^Usage: tessera <command>/ },
    { args: ["serve", "--help"], usage: /^Usage: tessera serve/ },
    { args: ["migrate", "--help"], usage: /^Usage: tessera migrate sql/ },
    { args: ["migrate", "sql", "up", "--help"], usage: /^Usage: tessera migrate sql/ },
    { args: ["identities", "--help"], usage: /^Usage: tessera identities/ },
    { args: ["identities", "import", "--help"], usage: /^Usage: tessera identities/ },
    { args: ["hashers", "--help"], usage: /^Usage: tessera hashers/ },
    { args: ["passwords", "--help"], usage: /^Usage: tessera passwords/ },
    { args: ["version", "--help"], usage: /^\d+\.\d+\.\d+/ },
  ];
  for (const { args, usage } of commands) {
    test(`tessera ${args.join(" ")}: exit 0 with usage`, async () => {
      const res = await runCli(args);
      assert.equal(res.code, 0, `exit code; stderr: ${res.stderr}`);
      assert.match(res.stdout, usage);
      assert.equal(res.stderr, "");
    });
  }

  test("an unknown command: usage on stderr, exit 2", async () => {
    const res = await runCli(["frobnicate"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command "frobnicate"/);
  });
});
