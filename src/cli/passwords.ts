/**
 * `tessera passwords check [-c FILE] [--identifier ID]... [--json]`: reads one password from stdin (a single trailing
 * newline is dropped) and prints the verdict of the password policy (`selfservice.methods.password.config.*`) that
 * registration, settings and recovery apply: length, similarity to the given identifiers, the common-password list,
 * and the breach check (offline corpus if `haveibeenpwned_file` is set, else the range API).
 *
 * Exit code: 0 acceptable, 1 rejected, 2 usage or configuration error. The verdict goes to stdout, the breach source in
 * use to stderr. The password is never printed.
 *
 * Contract: `runPasswordsCommand(argv, config?, io?)` takes the arguments after `passwords`. With `config`, that policy
 * config is used as is; otherwise `-c FILE` is loaded like `serve` does (only the password section is used), or the
 * defaults apply.
 */
import { loadConfig } from "../config/load.ts";
import { configFileOf, parseArgs } from "./args.ts";
import {
  createPasswordPolicy,
  defaultPasswordPolicyConfig,
} from "../security/password/password-policy.ts";
import type { PasswordPolicyConfig } from "../security/password/password-policy.ts";
import { rangeBaseUrl } from "../security/password/breach-online.ts";

const HELP = `Usage: tessera passwords check [-c FILE] [--identifier ID]... [--json] < password

Reads a password from stdin and checks it against the password policy (selfservice.methods.password.config).
Exit code 0: acceptable, 1: rejected, 2: usage or configuration error.

Options:
  -c, --config FILE     configuration file (YAML or JSON, Kratos key names); defaults apply without it
  --identifier ID       an identifier the password must not resemble (repeatable)
  --json                print {"ok": boolean, "messages": [...]} instead of text
  -h, --help            show this help
`;

export interface PasswordsIo {
  stdin: AsyncIterable<Buffer | string>;
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: PasswordsIo = {
  stdin: process.stdin,
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** More than any acceptable password (4096 code points x 4 bytes); the policy rejects what is longer anyway. */
const MAX_INPUT_BYTES = 1 << 20;

async function readPassword(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === "string" ? Buffer.from(c, "utf8") : c;
    chunks.push(b);
    size += b.length;
    if (size > MAX_INPUT_BYTES) break;
  }
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

async function policyConfigFromFile(file: string): Promise<PasswordPolicyConfig> {
  // This command reads only the password section and uses no secret, so the loader's secrets rule (which guards
  // `serve`) is switched off.
  const { config } = await loadConfig({ file, requireSecrets: false });
  return { ...defaultPasswordPolicyConfig, ...config.selfservice.methods.password.config };
}

function describeSource(cfg: PasswordPolicyConfig): string {
  if (!cfg.haveibeenpwned_enabled) return "breach check: disabled";
  if (cfg.haveibeenpwned_file) return `breach check: offline corpus ${cfg.haveibeenpwned_file}`;
  return `breach check: ${rangeBaseUrl(cfg.haveibeenpwned_host)}/range/ (fail ${cfg.ignore_network_errors ? "open" : "closed"})`;
}

export async function runPasswordsCommand(argv: string[], config?: PasswordPolicyConfig, io: PasswordsIo = stdio): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, ["c", "config", "identifier"]);
  } catch (err) {
    io.err(`${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (args.flags.has("help") || args.flags.has("h")) {
    io.out(HELP);
    return 0;
  }
  const unknown = [...args.flags].filter((f) => f !== "json");
  if (args.positionals[0] !== "check" || args.positionals.length > 1 || unknown.length > 0) {
    io.err(unknown.length ? `unknown option --${unknown[0]}\n${HELP}` : HELP);
    return 2;
  }

  let cfg: PasswordPolicyConfig;
  try {
    const file = configFileOf(args);
    cfg = config ?? (file ? await policyConfigFromFile(file) : defaultPasswordPolicyConfig);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 2;
  }
  io.err(`${describeSource(cfg)}\n`);

  const password = await readPassword(io.stdin);
  const policy = createPasswordPolicy(cfg, { log: (event, fields) => io.err(`${event} ${JSON.stringify(fields)}\n`) });
  const messages = await policy.check(password, { identifiers: args.options.identifier ?? [] });
  if (args.flags.has("json")) {
    io.out(`${JSON.stringify({ ok: messages.length === 0, messages })}\n`);
  } else if (messages.length === 0) {
    io.out("ok: the password meets the policy\n");
  } else {
    io.out(`rejected:\n${messages.map((m) => `  ${m.id} ${m.text}\n`).join("")}`);
  }
  return messages.length === 0 ? 0 : 1;
}
