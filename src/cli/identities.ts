import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createDeps, type Deps } from "../app.ts";
import { loadConfig } from "../config/load.ts";
import { identityToJson } from "../identity/identity.ts";
import { isAppError } from "../util/app-error.ts";
import { isUuid } from "../util/ids.ts";
import { createLogger } from "../util/logger.ts";
import { configFileOf, parseArgs } from "./args.ts";

const HELP = `Usage: tessera identities <command> -c FILE

Commands:
  import FILE.json|FILE.jsonl   create identities (Kratos's createIdentityBody) through the same service as the admin API;
                                a .json file holds one object or an array, a .jsonl file one object per line.
                                A bad record is reported with its line (or index) and does not stop the others.
  list [--page-size N]          print identities as JSON lines
  get ID [--include-credential password]
  delete ID [ID ...]

Options:
  -c, --config FILE   configuration file (the database comes from its dsn)
  -h, --help          show this help
`;

interface Record_ {
  where: string;
  body: unknown;
  /** How much of the input has been read once this record is out (0..1), for the progress bar. */
  done: number;
}

async function* records(file: string): AsyncGenerator<Record_ | { where: string; error: string; done: number }> {
  if (file.endsWith(".jsonl") || file.endsWith(".ndjson")) {
    const size = (await stat(file)).size || 1;
    const rl = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
    let n = 0;
    let bytes = 0;
    for await (const line of rl) {
      n++;
      bytes += Buffer.byteLength(line) + 1;
      const done = Math.min(1, bytes / size);
      if (!line.trim()) continue;
      try {
        yield { where: `line ${n}`, body: JSON.parse(line), done };
      } catch (e) {
        yield { where: `line ${n}`, error: `invalid JSON: ${(e as Error).message}`, done };
      }
    }
    return;
  }
  const parsed = JSON.parse(await readFile(file, "utf8")) as unknown;
  const list = Array.isArray(parsed) ? parsed : [parsed];
  for (let i = 0; i < list.length; i++) yield { where: `record ${i + 1}`, body: list[i], done: (i + 1) / list.length };
}

async function importIdentities(deps: Deps, file: string): Promise<number> {
  const tty = process.stderr.isTTY === true;
  let ok = 0;
  let failed = 0;
  const started = Date.now();
  let read = 0;
  let last = 0;
  // A bar on a terminal (redrawn at most every 100 ms), nothing otherwise: piped output gets only the summary line.
  const progress = (force = false) => {
    if (!tty || (!force && Date.now() - last < 100)) return;
    last = Date.now();
    const width = 30;
    const filled = Math.round(read * width);
    process.stderr.write(`\r\x1b[K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(read * 100)}%  ${ok} created, ${failed} failed`);
  };
  // Bounded parallelism: plain-text passwords are hashed by the hasher's own bounded pool.
  const inFlight = new Set<Promise<void>>();
  for await (const rec of records(file)) {
    read = rec.done;
    if ("error" in rec) {
      failed++;
      process.stderr.write(`${tty ? "\r\x1b[K" : ""}${file}: ${rec.where}: ${rec.error}\n`);
      continue;
    }
    const p = deps.identities
      .create(rec.body)
      .then(() => {
        ok++;
      })
      .catch((e: unknown) => {
        failed++;
        const why = isAppError(e) ? `${e.message}${e.reason ? `: ${e.reason}` : ""}` : (e as Error).message;
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}${file}: ${rec.where}: ${why}\n`);
      })
      .finally(() => {
        inFlight.delete(p);
        progress();
      });
    inFlight.add(p);
    if (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  progress(true);
  if (tty) process.stderr.write("\n");
  process.stdout.write(`imported ${ok} identities, ${failed} failed, in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  return failed ? 1 : 0;
}

export async function runIdentitiesCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["c", "config", "page-size", "include-credential"]);
  const [sub, ...rest] = args.positionals;
  if (args.flags.has("help") || args.flags.has("h") || !sub) {
    process.stdout.write(HELP);
    return sub || args.flags.has("help") || args.flags.has("h") ? 0 : 2;
  }
  const { config } = await loadConfig({ file: configFileOf(args), env: process.env, dev: false, requireSecrets: false });
  const deps = await createDeps({ config, baseDir: process.cwd(), logger: createLogger({ level: "warn" }) });
  const view = (i: Parameters<typeof identityToJson>[0], include: string[] = []) =>
    identityToJson(i, { publicBaseUrl: deps.publicBaseUrl, admin: true, includeCredential: include });
  try {
    switch (sub) {
      case "import":
        if (!rest[0]) throw new Error("import needs a file");
        return await importIdentities(deps, rest[0]);
      case "list": {
        const size = Number(args.options["page-size"]?.[0] ?? 250);
        if (!Number.isInteger(size) || size < 1 || size > 1000) throw new Error("--page-size must be an integer between 1 and 1000");
        let after: string | undefined;
        for (;;) {
          const page = await deps.repo.list({ pageSize: size, after });
          for (const i of page) process.stdout.write(`${JSON.stringify(view(i))}\n`);
          if (page.length < size) return 0;
          after = page[page.length - 1].id;
        }
      }
      case "get": {
        const id = rest[0];
        if (!isUuid(id)) throw new Error("get needs an identity id (UUID)");
        const identity = await deps.repo.get(id);
        if (!identity) {
          process.stderr.write(`identity ${id} not found\n`);
          return 1;
        }
        process.stdout.write(`${JSON.stringify(view(identity, args.options["include-credential"] ?? []), null, 2)}\n`);
        return 0;
      }
      case "delete": {
        let code = 0;
        for (const id of rest) {
          if (isUuid(id) && (await deps.repo.delete(id))) process.stdout.write(`deleted ${id}\n`);
          else {
            process.stderr.write(`identity ${id} not found\n`);
            code = 1;
          }
        }
        return code;
      }
      default:
        process.stderr.write(`unknown identities command "${sub}"\n\n${HELP}`);
        return 2;
    }
  } finally {
    await deps.database.destroy();
  }
}
