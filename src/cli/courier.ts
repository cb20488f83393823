import { loadConfig } from "../config/load.ts";
import { createCourier } from "../courier/courier.ts";
import { createDatabase } from "../persistence/db.ts";
import { ensureMigrated } from "../persistence/migrate.ts";
import { systemClock } from "../util/clock.ts";
import { createLogger } from "../util/logger.ts";
import { configFileOf, parseArgs } from "./args.ts";

const HELP = `Usage: tessera courier watch -c FILE

Runs only the courier worker: sends the queued emails and SMS of the outbox (courier_messages) until SIGINT or
SIGTERM, then finishes the batch in flight. Any number of watchers (and serve instances) may run against the same
PostgreSQL or MySQL database; each message is claimed by one of them.

Options:
  -c, --config FILE   configuration file (YAML or JSON, Kratos key names)
  -h, --help          show this help
`;

export interface CourierCommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Stops the watcher (tests); SIGINT and SIGTERM always do. */
  signal?: AbortSignal;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * `tessera courier watch -c FILE`. Returns the exit code: 0 after a clean stop, 1 when the database is not migrated,
 * 2 on a usage error. Configuration errors throw `ConfigError` (main.ts prints them).
 */
export async function runCourierCommand(argv: string[], opts: CourierCommandOptions = {}): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const args = parseArgs(argv, ["c", "config"]);
  if (args.flags.has("help") || args.flags.has("h")) {
    stdout.write(HELP);
    return 0;
  }
  if (args.positionals[0] !== "watch" || args.positionals.length > 1) {
    stderr.write(`tessera courier: expected "watch"\n\n${HELP}`);
    return 2;
  }
  const file = configFileOf(args);
  const { config, warnings } = await loadConfig({ file, env: opts.env ?? process.env, dev: false, requireSecrets: false });
  const configDir = process.cwd(); // relative paths resolve against the working directory, as in `serve` and `migrate`
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  for (const w of warnings) logger.warn(w);
  const database = createDatabase(config.dsn, { cwd: configDir, onIdleError: (e) => logger.warn({ err: e.message }, "database connection lost") });
  try {
    await ensureMigrated(database, { dev: false, configFile: file });
  } catch (e) {
    stderr.write(`database: ${(e as Error).message}\n`);
    await database.destroy();
    return 1;
  }
  const courier = createCourier({ database, config, clock: systemClock, logger, publicBaseUrl: config.serve.public.base_url, baseDir: configDir });
  const stop = courier.startWorker();
  logger.info({ pull_count: config.courier.worker.pull_count, pull_wait_ms: config.courier.worker.pull_wait }, "courier worker started");
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
    if (opts.signal?.aborted) done();
    opts.signal?.addEventListener("abort", done, { once: true });
  });
  logger.info("courier worker stopping");
  await stop();
  await database.destroy();
  return 0;
}
