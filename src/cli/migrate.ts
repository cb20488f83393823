import { createInterface } from "node:readline/promises";
import { createDatabase } from "../persistence/db.ts";
import { redactDsn } from "../persistence/dsn.ts";
import { migrator } from "../persistence/migrate.ts";
import { configFileOf, parseArgs } from "./args.ts";

const HELP = `Usage: tessera migrate sql [up|down|status] [DSN] [-c FILE | -e] [--yes] [--steps N]

Manages the database schema (same flags as "kratos migrate sql").

Commands:
  up       apply every pending migration (the default)
  down     revert the latest applied migration (--steps N: the latest N); asks for confirmation unless --yes
  status   list every migration and whether it is applied

The database is, in order of precedence: the DSN argument; the DSN environment variable with -e; the "dsn" key of
the configuration file given with -c.

Options:
  -c, --config FILE      configuration file to read "dsn" from
  -e, --read-from-env    read the DSN from the DSN environment variable
  -y, --yes              do not ask for confirmation (required for "down" when stdin is not a terminal)
  --steps N              number of migrations "down" reverts (default 1)
  -h, --help             show this help
`;

/**
 * Everything the command touches outside itself, injectable for tests. Defaults: process streams, process.env (the
 * CLI entry point is where the environment is read, as `-e` asks for it explicitly) and a y/N prompt on the terminal
 * when stdin is a TTY (`confirm` undefined means "no terminal to ask on").
 */
export interface MigrateIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  confirm?: (question: string) => Promise<boolean>;
  cwd?: string;
}

const defaultIo = (): MigrateIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  confirm: process.stdin.isTTY ? ttyConfirm : undefined,
});

async function ttyConfirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `tessera migrate ...`: `argv` is what follows `migrate`. `loadDsn(file)` reads the `dsn` of a configuration file
 * (the caller owns config loading). Returns the exit code: 0 done, 1 failed or refused, 2 usage error.
 */
export async function runMigrateCommand(
  argv: string[],
  loadDsn: (configFile?: string) => Promise<string>,
  io: MigrateIo = defaultIo(),
): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, ["c", "config", "steps"]);
  } catch (e) {
    io.stderr(`tessera migrate: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const flag = (...names: string[]) => names.some((n) => args.flags.has(n));
  if (flag("help", "h")) {
    io.stdout(HELP);
    return 0;
  }
  const [group, ...rest] = args.positionals;
  if (group !== "sql") {
    io.stderr(`tessera migrate: expected "sql"${group ? `, got "${group}"` : ""}\n\n${HELP}`);
    return 2;
  }
  const action = ["up", "down", "status"].includes(rest[0] ?? "") ? rest.shift()! : "up";
  const known = new Set(["e", "read-from-env", "yes", "y", "help", "h"]);
  const unknown = [...args.flags].filter((f) => !known.has(f));
  if (unknown.length || rest.length > 1) {
    io.stderr(`tessera migrate: unexpected ${unknown.length ? `option --${unknown[0]}` : `argument "${rest[1]}"`}\n\n${HELP}`);
    return 2;
  }
  const steps = Number(args.options.steps?.[0] ?? "1");
  if (!Number.isInteger(steps) || steps < 1) {
    io.stderr("tessera migrate: --steps must be a positive integer\n");
    return 2;
  }
  const yes = flag("yes", "y");

  let dsn: string;
  const file = configFileOf(args);
  if (rest[0] !== undefined) {
    dsn = rest[0];
  } else if (flag("e", "read-from-env")) {
    const env = io.env.DSN;
    if (!env) {
      io.stderr("tessera migrate: -e was given but the DSN environment variable is not set\n");
      return 1;
    }
    dsn = env;
  } else if (file !== undefined) {
    try {
      dsn = await loadDsn(file);
    } catch (e) {
      io.stderr(`tessera migrate: ${(e as Error).message}\n`);
      return 1;
    }
  } else {
    io.stderr(`tessera migrate: no database given: pass a DSN, -e (DSN environment variable) or -c FILE\n\n${HELP}`);
    return 2;
  }

  let database;
  try {
    database = createDatabase(dsn, { cwd: io.cwd, poolSize: 1 });
  } catch (e) {
    io.stderr(`tessera migrate: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const m = migrator(database);
    if (action === "status") {
      const all = await m.status();
      for (const s of all) io.stdout(`${s.applied ? "Applied" : "Pending"}\t${s.name}\n`);
      const pending = all.filter((s) => !s.applied).length;
      io.stdout(pending ? `${pending} migration(s) pending\n` : "Database is up to date\n");
      return 0;
    }
    if (action === "up") {
      const applied = await m.up();
      for (const name of applied) io.stdout(`Applied migration ${name}\n`);
      io.stdout(applied.length ? `Applied ${applied.length} migration(s)\n` : "Database is up to date, nothing to apply\n");
      return 0;
    }
    const appliedNames = (await m.status()).filter((s) => s.applied).map((s) => s.name);
    const targets = appliedNames.slice(-steps).reverse();
    if (targets.length === 0) {
      io.stdout("No migration is applied, nothing to revert\n");
      return 0;
    }
    if (!yes) {
      if (!io.confirm) {
        io.stderr(`tessera migrate: refusing to revert ${targets.join(", ")} without --yes (no terminal to confirm on)\n`);
        return 1;
      }
      const ok = await io.confirm(`Revert ${targets.length} migration(s) on ${redactDsn(dsn)}: ${targets.join(", ")}? Data in the dropped tables is lost.`);
      if (!ok) {
        io.stderr("tessera migrate: aborted, nothing reverted\n");
        return 1;
      }
    }
    for (let i = 0; i < targets.length; i++) {
      const name = await m.down();
      if (name === null) break;
      io.stdout(`Reverted migration ${name}\n`);
    }
    return 0;
  } catch (e) {
    io.stderr(`tessera migrate: ${redactDsn(dsn)}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await database.destroy();
  }
}
