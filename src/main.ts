import { ConfigError, loadConfig } from "./config/load.ts";
import { SchemaLoadError } from "./identity/schema/registry.ts";
import { isAppError } from "./util/app-error.ts";
import { VERSION } from "./version.ts";
import { configFileOf, parseArgs } from "./cli/args.ts";

const HELP = `Usage: tessera <command> [options]

Commands:
  serve -c FILE [--dev]                  run the public and admin APIs
  migrate sql up|down|status -c FILE     manage the database schema (-e reads DSN from the environment)
  identities import|list|get|delete      manage identities from the command line
  courier watch -c FILE                  run the courier worker alone (send queued email and SMS)
  hashers argon2 calibrate|hash|compare  tune and use the password hasher
  passwords check [-c FILE]              check a password (read from stdin) against the password policy
  version                                print the version

Run "tessera <command> --help" for the options of a command.
`;

const VERSION_HELP = `Usage: tessera version

Prints the version of this Tessera build (also "tessera --version"; the admin API serves it at /admin/version).
`;

const wantsHelp = (args: readonly string[]): boolean => args.some((a) => a === "--help" || a === "-h");

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return (await import("./cli/serve.ts")).runServeCommand(rest);
    case "migrate": {
      const { runMigrateCommand } = await import("./cli/migrate.ts");
      return runMigrateCommand(rest, async (file) => (await loadConfig({ file, env: process.env, dev: false, requireSecrets: false })).config.dsn);
    }
    case "identities":
      return (await import("./cli/identities.ts")).runIdentitiesCommand(rest);
    case "courier":
      return (await import("./cli/courier.ts")).runCourierCommand(rest);
    case "hashers":
      return (await import("./cli/hashers.ts")).runHashersCommand(rest);
    case "passwords": {
      const args = parseArgs(rest, ["c", "config"]);
      const file = wantsHelp(rest) ? undefined : configFileOf(args);
      const policy = file ? (await loadConfig({ file, env: process.env, dev: false, requireSecrets: false })).config.selfservice.methods.password.config : undefined;
      return (await import("./cli/passwords.ts")).runPasswordsCommand(rest, policy);
    }
    case "version":
    case "--version":
      process.stdout.write(wantsHelp(rest) ? VERSION_HELP : `${VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`tessera: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  // Start-up problems are one line naming what is wrong; never a stack trace.
  if (e instanceof ConfigError || e instanceof SchemaLoadError) process.stderr.write(`${e.message}\n`);
  else if (isAppError(e)) process.stderr.write(`tessera: ${e.message}${e.reason ? `: ${e.reason}` : ""}\n`);
  else process.stderr.write(`tessera: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
