import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createDatabase } from "../persistence/db.ts";
import { migrator } from "../persistence/migrate.ts";
import { migrations } from "../persistence/migrations/index.ts";
import { runMigrateCommand } from "./migrate.ts";

/** The newest migration: `down` reverts it first. */
const LATEST = Object.keys(migrations).sort().at(-1) as string;
import type { MigrateIo } from "./migrate.ts";

const ALL = Object.keys(migrations);
const dir = mkdtempSync(join(tmpdir(), "tessera-migrate-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function io(env: Record<string, string> = {}, confirm?: (q: string) => Promise<boolean>) {
  const out: string[] = [];
  const err: string[] = [];
  const value: MigrateIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env, confirm };
  return { value, out: () => out.join(""), err: () => err.join("") };
}

const noConfig = async (): Promise<string> => {
  throw new Error("no config expected");
};

async function pendingOf(dsn: string): Promise<string[]> {
  const database = createDatabase(dsn);
  try {
    return await migrator(database).pending();
  } finally {
    await database.destroy();
  }
}

describe("tessera migrate sql", () => {
  const dsn = `sqlite://${join(dir, "sub", "cli.db")}?_fk=true&mode=rwc`;

  test("-e reads DSN from the environment; up applies and prints names", async () => {
    const o = io({ DSN: dsn });
    assert.equal(await runMigrateCommand(["sql", "up", "-e", "--yes"], noConfig, o.value), 0, o.err());
    for (const name of ALL) assert.match(o.out(), new RegExp(`Applied migration ${name}`));
    assert.deepEqual(await pendingOf(dsn), []);

    const again = io({ DSN: dsn });
    assert.equal(await runMigrateCommand(["sql", "-e"], noConfig, again.value), 0);
    assert.match(again.out(), /up to date/);
  });

  test("status lists each migration", async () => {
    const o = io({ DSN: dsn });
    assert.equal(await runMigrateCommand(["sql", "status", "-e"], noConfig, o.value), 0);
    assert.equal(o.out(), `${ALL.map((n) => `Applied\t${n}\n`).join("")}Database is up to date\n`);
  });

  test("down without --yes and without a terminal refuses and changes nothing", async () => {
    const o = io({ DSN: dsn });
    assert.equal(await runMigrateCommand(["sql", "down", "-e"], noConfig, o.value), 1);
    assert.match(o.err(), new RegExp(`refusing to revert ${LATEST} without --yes`));
    assert.deepEqual(await pendingOf(dsn), []);
  });

  test("down on a terminal asks; 'no' aborts, 'yes' reverts", async () => {
    const questions: string[] = [];
    const no = io({ DSN: dsn }, async (q) => (questions.push(q), false));
    assert.equal(await runMigrateCommand(["sql", "down", "-e"], noConfig, no.value), 1);
    assert.deepEqual(await pendingOf(dsn), []);
    assert.match(questions[0], new RegExp(`Revert 1 migration\\(s\\).*${LATEST}`));

    const yes = io({ DSN: dsn }, async () => true);
    assert.equal(await runMigrateCommand(["sql", "down", "-e"], noConfig, yes.value), 0);
    assert.match(yes.out(), new RegExp(`Reverted migration ${LATEST}`));
    assert.deepEqual(await pendingOf(dsn), [LATEST]);
  });

  test("-c reads the DSN through the loader; down --yes --steps N reverts everything applied", async () => {
    const seen: Array<string | undefined> = [];
    const loader = async (file?: string) => (seen.push(file), dsn);
    const o = io();
    assert.equal(await runMigrateCommand(["sql", "down", "-c", "kratos.yml", "--yes", "--steps", String(ALL.length + 3)], loader, o.value), 0, o.err());
    assert.deepEqual(seen, ["kratos.yml"]);
    assert.equal(o.out(), ALL.slice(0, -1).reverse().map((m) => `Reverted migration ${m}\n`).join(""));
    assert.deepEqual(await pendingOf(dsn), ALL);

    const st = io();
    assert.equal(await runMigrateCommand(["sql", "status", "--config=kratos.yml"], loader, st.value), 0);
    assert.match(st.out(), new RegExp(`${ALL.length} migration\\(s\\) pending`));
  });

  test("a positional DSN wins; usage errors exit 2; help exits 0", async () => {
    const memory = io();
    assert.equal(await runMigrateCommand(["sql", "up", "memory"], noConfig, memory.value), 0);
    assert.match(memory.out(), new RegExp(`Applied ${ALL.length} migration\\(s\\)`));

    for (const argv of [[], ["nosql"], ["sql", "up"], ["sql", "up", "--bogus", "memory"], ["sql", "down", "--steps", "0", "memory"], ["sql", "up", "redis://x"]]) {
      const o = io();
      assert.equal(await runMigrateCommand(argv, noConfig, o.value), 2, argv.join(" "));
      assert.ok(o.err().length > 0);
    }
    const missingEnv = io({});
    assert.equal(await runMigrateCommand(["sql", "up", "-e"], noConfig, missingEnv.value), 1);
    assert.match(missingEnv.err(), /DSN environment variable is not set/);

    const help = io();
    assert.equal(await runMigrateCommand(["--help"], noConfig, help.value), 0);
    assert.match(help.out(), /Usage: tessera migrate sql/);
  });

  test("an unreachable server fails with exit 1 and no password in the output", async () => {
    const o = io();
    const code = await runMigrateCommand(["sql", "status", "postgres://u:TopSecret@127.0.0.1:1/db?connect_timeout=2"], noConfig, o.value);
    assert.equal(code, 1);
    assert.ok(!o.err().includes("TopSecret"), o.err());
    assert.match(o.err(), /u:\*\*\*@127\.0\.0\.1:1/);
  });
});
