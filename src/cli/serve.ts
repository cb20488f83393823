import { isIP } from "node:net";
import { createApp } from "../app.ts";
import { loadConfig } from "../config/load.ts";
import { ensureMigrated } from "../persistence/migrate.ts";
import { createLogger } from "../util/logger.ts";
import { configFileOf, parseArgs } from "./args.ts";

const HELP = `Usage: tessera serve -c FILE [--dev]

Runs the public API (serve.public.port, default 4433) and the admin API (serve.admin.port, default 4434).

Options:
  -c, --config FILE   configuration file (YAML or JSON, Kratos key names)
  --dev               development mode: migrates the database itself, generates and keeps a secret in the data
                      directory, allows http cookies
  --no-courier        do not run the courier worker in this process (run "tessera courier watch" elsewhere);
                      --watch-courier is accepted for Kratos compatibility (the worker runs by default)
  -h, --help          show this help
`;

const isLoopback = (host: string): boolean => {
  const h = host.replace(/^::ffff:/i, "");
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
};

export async function runServeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["c", "config"]);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const dev = args.flags.has("dev");
  const file = configFileOf(args);
  const { config, warnings } = await loadConfig({ file, env: process.env, dev });
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  for (const w of warnings) logger.warn(w);

  const adminHost = config.serve.admin.host;
  if (!isLoopback(adminHost) && !(config.serve.admin.api_keys?.length) && !config.serve.admin.allow_unauthenticated) {
    process.stderr.write(
      `config: /serve/admin/host: the admin API would listen on "${adminHost}" without authentication; set serve.admin.api_keys or serve.admin.allow_unauthenticated: true\n`,
    );
    return 1;
  }

  // Relative paths (SQLite files, file:// schemas and templates) resolve against the working directory, as in Kratos
  // and as `migrate` resolves them, so `migrate -c F` and `serve -c F` always open the same database.
  const app = await createApp({ config, baseDir: process.cwd(), logger, dev });
  try {
    const applied = await ensureMigrated(app.deps.database, { dev, configFile: file });
    if (applied.length) logger.info({ applied }, "applied migrations");
  } catch (e) {
    process.stderr.write(`database: ${(e as Error).message}\n`);
    await app.close();
    return 1;
  }

  const stopCourier = args.flags.has("no-courier") ? undefined : app.deps.courier.startWorker();

  await app.public.listen({ host: config.serve.public.host || "0.0.0.0", port: config.serve.public.port });
  await app.admin.listen({ host: adminHost, port: config.serve.admin.port });
  logger.info({ public: app.deps.publicBaseUrl, admin: `http://${adminHost}:${config.serve.admin.port}/` }, "Tessera is listening");

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  logger.info("shutting down");
  await stopCourier?.();
  await app.close();
  return 0;
}
