/**
 * `tessera hashers ...`: tools for operators around the password hasher (Kratos's `hashers argon2` commands).
 *   argon2 calibrate <duration> [--memory 64MB] [--parallelism 1] [--runs 5]
 *       finds the iterations that make one argon2id hash take about <duration> on this machine at the given memory,
 *       and prints the `hashers:` YAML block (Kratos's key names) to paste into the config
 *   argon2 hash <password> [--memory 19MB] [--iterations 2] [--parallelism 1]
 *   argon2 compare <hash> <password>      any supported format; exit 0 on a match, 1 on a mismatch
 * Contract: `runHashersCommand(argv)` takes the arguments after `hashers` and resolves to the exit code.
 */
import { hashRaw } from "@node-rs/argon2";
import type { Algorithm } from "@node-rs/argon2";
import { randomBytes } from "node:crypto";
import { parseArgs } from "./args.ts";
import type { ParsedArgs } from "./args.ts";
import { parseByteSize, parseDuration } from "../config/config.ts";
import { isAppError } from "../util/app-error.ts";
import { createPasswordHasher, defaultHasherConfig } from "../security/hash/hasher.ts";
import type { HasherConfig } from "../security/hash/hasher.ts";

const HELP = `Usage: tessera hashers argon2 <command>

Commands:
  calibrate <duration> [--memory 64MB] [--parallelism 1] [--runs 5]
      find argon2id parameters for a target duration (e.g. 500ms, 1s) on this machine; prints the YAML block
  hash <password> [--memory 19MB] [--iterations 2] [--parallelism 1]
      hash a password with argon2id (NFKC-normalized, Kratos's encoding)
  compare <hash> <password>
      compare a password with a hash in any supported format; exit code 0 on a match, 1 otherwise
`;

export interface HashersIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: HashersIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
const MiB = 1024 * 1024;
const ARGON2ID = 2 as Algorithm;

/** Formats bytes the way Kratos's config writes them (go-bytesize: 1MB = 1024 KB). */
export function formatByteSize(bytes: number): string {
  if (bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)}GB`;
  if (bytes % MiB === 0) return `${bytes / MiB}MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KB`;
  return `${bytes}B`;
}

function intOption(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.options[name]?.[0];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

async function timeOnce(memory: number, iterations: number, parallelism: number): Promise<number> {
  const started = process.hrtime.bigint();
  await hashRaw(randomBytes(16), {
    algorithm: ARGON2ID, memoryCost: Math.floor(memory / 1024), timeCost: iterations, parallelism, outputLen: 32, salt: randomBytes(16),
  });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Median and median absolute deviation of `runs` timed hashes, after one warm-up (robust to a cold thread's outlier). */
async function measure(memory: number, iterations: number, parallelism: number, runs: number): Promise<{ median: number; spread: number }> {
  await timeOnce(memory, iterations, parallelism);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeOnce(memory, iterations, parallelism));
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  const deviations = samples.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return { median, spread: deviations[Math.floor(deviations.length / 2)] };
}

async function calibrate(args: ParsedArgs, io: HashersIo): Promise<number> {
  const target = args.positionals[2];
  if (!target) {
    io.err("calibrate needs a target duration, e.g. `tessera hashers argon2 calibrate 500ms`\n");
    return 2;
  }
  const targetMs = parseDuration(target);
  const memory = parseByteSize(args.options.memory?.[0] ?? "64MB");
  const parallelism = intOption(args, "parallelism", 1);
  const runs = intOption(args, "runs", 5);
  if (memory < 8 * 1024 * parallelism) throw new Error("--memory must be at least 8KB per lane");

  const one = await measure(memory, 1, parallelism, runs);
  let iterations = Math.max(1, Math.round(targetMs / one.median));
  let result = iterations === 1 ? one : await measure(memory, iterations, parallelism, runs);
  // The first estimate assumes time grows linearly with iterations; correct it with the measured rate, up to three
  // times while the result is more than 20 % off (a measurement on a busy machine can be far off once).
  for (let round = 0; round < 3 && Math.abs(result.median - targetMs) > 0.2 * targetMs; round++) {
    const corrected = Math.max(1, Math.round((iterations * targetMs) / result.median));
    if (corrected === iterations) break;
    iterations = corrected;
    result = await measure(memory, iterations, parallelism, runs);
  }
  if (iterations === 1 && one.median > targetMs * 1.5) {
    io.err(`warning: one iteration at ${formatByteSize(memory)} already takes ${Math.round(one.median)}ms; lower --memory to reach ${target}\n`);
  }
  const cfg = defaultHasherConfig.argon2;
  io.out(
    [
      "hashers:",
      "  algorithm: argon2",
      "  argon2:",
      `    memory: ${formatByteSize(memory)}`,
      `    iterations: ${iterations}`,
      `    parallelism: ${parallelism}`,
      `    salt_length: ${cfg.salt_length}`,
      `    key_length: ${cfg.key_length}`,
      `    expected_duration: ${Math.round(result.median)}ms`,
      `    expected_deviation: ${Math.max(1, Math.round(result.spread))}ms`,
      `    dedicated_memory: ${formatByteSize(Math.max(cfg.dedicated_memory, memory))}`,
      "",
    ].join("\n"),
  );
  return 0;
}

function hasherConfigFrom(args: ParsedArgs): HasherConfig {
  const d = defaultHasherConfig.argon2;
  const memory = args.options.memory ? parseByteSize(args.options.memory[0]) : d.memory;
  return {
    ...defaultHasherConfig,
    argon2: {
      ...d,
      memory,
      iterations: intOption(args, "iterations", d.iterations),
      parallelism: intOption(args, "parallelism", d.parallelism),
      dedicated_memory: Math.max(d.dedicated_memory, memory),
    },
  };
}

export async function runHashersCommand(argv: string[], io: HashersIo = stdio): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, ["memory", "iterations", "parallelism", "runs"]);
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 2;
  }
  const [family, command] = args.positionals;
  if (args.flags.has("help") || args.flags.has("h") || !family) {
    io.out(HELP);
    return family || args.flags.size > 0 ? 0 : 2;
  }
  if (family !== "argon2") {
    io.err(`unknown hasher "${family}"\n${HELP}`);
    return 2;
  }
  try {
    switch (command) {
      case "calibrate":
        return await calibrate(args, io);
      case "hash": {
        const password = args.positionals[2];
        if (password === undefined) throw new Error("hash needs a password");
        const hasher = await createPasswordHasher(hasherConfigFrom(args));
        io.out(`${await hasher.hash(password)}\n`);
        return 0;
      }
      case "compare": {
        const [hash, password] = args.positionals.slice(2);
        if (hash === undefined || password === undefined) throw new Error("compare needs a hash and a password");
        const hasher = await createPasswordHasher(hasherConfigFrom(args));
        hasher.validateImport(hash);
        const ok = await hasher.verify(password, hash);
        io.out(ok ? "The password matches the hash.\n" : "The password does not match the hash.\n");
        return ok ? 0 : 1;
      }
      default:
        io.err(`unknown command "${command ?? ""}"\n${HELP}`);
        return 2;
    }
  } catch (e) {
    io.err(`${isAppError(e) ? (e.reason ?? e.message) : (e as Error).message}\n`);
    return 2;
  }
}
