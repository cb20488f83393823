/**
 * The password hasher: hashes with the configured algorithm (argon2id by default, or bcrypt), verifies every format
 * Kratos imports, tells when a stored hash should be replaced, and bounds concurrent hashing by memory.
 *
 * Unicode: our own hashes are computed over `password.normalize("NFKC")`, so "é" typed precomposed or as e + U+0301 is
 * the same password. Imported legacy hashes were computed by other systems over the raw text: they are compared with
 * the raw password first, then with its NFKC form if that differs. Case always matters.
 *
 * Concurrency: every hash or comparison runs inside a FIFO semaphore whose capacity is
 * min(`argon2.dedicated_memory`, `argon2.memory` x `max_concurrency`) and where each operation weighs max(its own
 * memory, `argon2.memory`). So at most `limit = max(1, min(floor(dedicated_memory / memory), max_concurrency))`
 * configured hashes run at once; an imported hash with a larger memory cost takes proportionally more of the budget.
 * They run on `limit` dedicated threads (hash-pool.ts) at nice `thread_nice` (default 19): when the CPUs are
 * saturated, the event loop goes first.
 * `max_concurrency` (config `hashers.argon2.max_concurrency`, a Tessera extension) defaults to the number of CPUs: more
 * hashes at once than cores adds no throughput, it only costs memory and moves the wait from the bounded queue into
 * the CPU scheduler. A caller that waits longer than `max_queue_wait_ms` (config
 * `hashers.max_queue_wait`, default 2s) gets AppError 503 with a `Retry-After` header.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { errors } from "../../util/app-error.ts";
import { argon2Hash } from "./argon2.ts";
import type { Argon2Params, ParsedArgon2 } from "./argon2.ts";
import { BCRYPT_MAX_COST, BCRYPT_MIN_COST, bcryptHashPassword, parseBcrypt } from "./bcrypt.ts";
import { passwordCandidates } from "./encoding.ts";
import { parseHash } from "./formats.ts";
import type { ParsedHash } from "./parsed-hash.ts";
import { createSemaphore } from "./semaphore.ts";
import { DEFAULT_HASH_NICE, hashPool } from "./hash-pool.ts";

/** Hasher settings, already parsed by the config loader (Kratos's `hashers.*` keys; sizes in bytes). */
export interface HasherConfig {
  algorithm: "argon2" | "bcrypt";
  argon2: Argon2Params & {
    /** bytes: the budget shared by all concurrent hashes */
    dedicated_memory: number;
  };
  bcrypt: { cost: number };
  /** How long a hash may wait for a slot before answering 503; default 2000 ms. */
  max_queue_wait_ms?: number;
  /** Hashes running at once at most (besides the memory budget); default: the number of CPUs. */
  max_concurrency?: number;
  /** The nice value (0..19) of the hashing threads (Linux); default 19, the lowest priority. */
  thread_nice?: number;
  /** "idle" (default): the hashing threads run under SCHED_IDLE (Linux); "normal": the nice value alone. */
  thread_policy?: "idle" | "normal";
}

const MiB = 1024 * 1024;

/**
 * Import bound on an argon2 hash's total work, memory (KiB) x iterations: 4 GiB of memory passes, a few seconds per
 * comparison on a 2-core machine. Applied on import only: hashes already stored are still verified.
 */
export const ARGON2_MAX_IMPORT_WORK_KIB = 4 * 1024 * 1024;

const mib = (bytes: number): string => {
  const v = bytes / MiB;
  return `${Number.isInteger(v) ? v : v.toFixed(1)} MiB`;
};

/** OWASP's argon2id minimum (19 MiB, t=2, p=1: about 10 ms a hash here), a 1 GiB budget, and bcrypt cost 12. */
export const defaultHasherConfig: HasherConfig = Object.freeze({
  algorithm: "argon2",
  argon2: Object.freeze({ memory: 19 * MiB, iterations: 2, parallelism: 1, salt_length: 16, key_length: 32, dedicated_memory: 1024 * MiB }),
  bcrypt: Object.freeze({ cost: 12 }),
  max_queue_wait_ms: 2000,
}) as HasherConfig;

export interface PasswordHasher {
  /** Hashes with the configured algorithm and parameters (NFKC-normalized input). */
  hash(password: string): Promise<string>;
  /**
   * Whether the password matches a hash in any supported format, compared in constant time. An unknown or malformed
   * stored hash never matches (false). Rejects with AppError 503 when the hashing queue wait is exceeded.
   */
  verify(password: string, encoded: string): Promise<boolean>;
  /** Costs what a real verify with the live parameters costs (against a dummy hash made at start); always false. */
  verifyDummy(password: string): Promise<false>;
  /** True when the hash is not the configured algorithm with the configured parameters (rehash after login). */
  needsRehash(encoded: string): boolean;
  /**
   * Throws AppError 400 (`bad_request`) for an unknown format, a malformed value, a cost beyond the format's bounds,
   * a memory cost above `argon2.dedicated_memory`, or an argon2 memory x iterations above `ARGON2_MAX_IMPORT_WORK_KIB`.
   */
  validateImport(encoded: string): void;
  /** Hashes running, waiting, and the number of configured hashes that may run at once. */
  stats(): { running: number; queued: number; limit: number };
}

/** The semaphore's capacity in bytes: the memory budget, further bounded by `max_concurrency` configured hashes. */
function capacityOf(cfg: HasherConfig): number {
  const cpus = cfg.max_concurrency ?? Math.max(1, availableParallelism());
  return Math.min(cfg.argon2.dedicated_memory, cfg.argon2.memory * cpus);
}

/** How many configured hashes may run at once: the memory budget and `max_concurrency` (default: the CPUs). */
export function hasherLimit(cfg: HasherConfig): number {
  return Math.max(1, Math.floor(capacityOf(cfg) / cfg.argon2.memory));
}

function checkConfig(cfg: HasherConfig): void {
  const a = cfg.argon2;
  const bad = (what: string) => new Error(`invalid hashers configuration: ${what}`);
  if (!Number.isInteger(a.memory) || a.memory < 8 * 1024 * a.parallelism) throw bad("hashers.argon2.memory must be at least 8 KiB per lane");
  if (!Number.isInteger(a.iterations) || a.iterations < 1) throw bad("hashers.argon2.iterations must be at least 1");
  if (!Number.isInteger(a.parallelism) || a.parallelism < 1 || a.parallelism > 255) throw bad("hashers.argon2.parallelism must be within 1..255");
  if (!Number.isInteger(a.salt_length) || a.salt_length < 8) throw bad("hashers.argon2.salt_length must be at least 8");
  if (!Number.isInteger(a.key_length) || a.key_length < 16) throw bad("hashers.argon2.key_length must be at least 16");
  if (!(a.dedicated_memory > 0)) throw bad("hashers.argon2.dedicated_memory must be positive");
  if (cfg.max_concurrency !== undefined && (!Number.isInteger(cfg.max_concurrency) || cfg.max_concurrency < 1)) {
    throw bad("hashers.argon2.max_concurrency must be a positive integer");
  }
  if (cfg.max_queue_wait_ms !== undefined && !(cfg.max_queue_wait_ms > 0)) throw bad("hashers.max_queue_wait must be positive");
  if (cfg.thread_nice !== undefined && (!Number.isInteger(cfg.thread_nice) || cfg.thread_nice < 0 || cfg.thread_nice > 19)) {
    throw bad("hashers.thread_nice must be an integer within 0..19");
  }
  if (cfg.thread_policy !== undefined && cfg.thread_policy !== "idle" && cfg.thread_policy !== "normal") {
    throw bad('hashers.thread_policy must be "idle" or "normal"');
  }
  const c = cfg.bcrypt.cost;
  if (!Number.isInteger(c) || c < BCRYPT_MIN_COST || c > BCRYPT_MAX_COST) throw bad(`hashers.bcrypt.cost must be within ${BCRYPT_MIN_COST}..${BCRYPT_MAX_COST}`);
}

export async function createPasswordHasher(cfg: HasherConfig): Promise<PasswordHasher> {
  checkConfig(cfg);
  // As many hashing threads as hashes may run at once, started now, at the configured priority.
  hashPool.ensure(hasherLimit(cfg), { nice: cfg.thread_nice ?? DEFAULT_HASH_NICE, idle: (cfg.thread_policy ?? "idle") === "idle" });
  const maxWait = cfg.max_queue_wait_ms ?? 2000;
  const sem = createSemaphore(capacityOf(cfg), maxWait);
  const weightOf = (memory: number) => Math.max(memory, cfg.argon2.memory);

  const hash = (password: string): Promise<string> => {
    const input = Buffer.from(password.normalize("NFKC"), "utf8");
    return sem.run(weightOf(cfg.argon2.memory), () =>
      cfg.algorithm === "bcrypt" ? bcryptHashPassword(input, cfg.bcrypt.cost) : argon2Hash(input, cfg.argon2),
    );
  };

  const compareParsed = (password: string, parsed: ParsedHash): Promise<boolean> => {
    const candidates = passwordCandidates(password, parsed.own).map((p) => Buffer.from(p, "utf8"));
    return sem.run(weightOf(parsed.memory), async () => {
      for (const c of candidates) if (await parsed.compare(c)) return true;
      return false;
    });
  };

  const verify = async (password: string, encoded: string): Promise<boolean> => {
    let parsed: ParsedHash;
    try {
      parsed = parseHash(encoded);
    } catch {
      return false;
    }
    return compareParsed(password, parsed);
  };

  const dummy = parseHash(await hash(randomBytes(24).toString("base64")));
  // What our own hashes with the live parameters look like (needsRehash); unpadded base64 of n bytes is ceil(4n/3).
  const argon2Prefix = `$argon2id$v=19$m=${Math.floor(cfg.argon2.memory / 1024)},t=${cfg.argon2.iterations},p=${cfg.argon2.parallelism}$`;
  const saltChars = Math.ceil((cfg.argon2.salt_length * 4) / 3);
  const keyChars = Math.ceil((cfg.argon2.key_length * 4) / 3);

  return {
    hash,
    verify,
    async verifyDummy(password: string): Promise<false> {
      await compareParsed(password, dummy);
      return false;
    },
    needsRehash(encoded: string): boolean {
      // Called after every successful login: a hash made with the live parameters is recognised by its text alone
      // (the exact parameter prefix, and salt and key of the configured lengths), without parsing or decoding it.
      if (cfg.algorithm === "bcrypt") {
        try {
          return parseBcrypt(encoded).cost !== cfg.bcrypt.cost;
        } catch {
          return true;
        }
      }
      if (!encoded.startsWith(argon2Prefix)) return true;
      const rest = encoded.slice(argon2Prefix.length);
      const sep = rest.indexOf("$");
      return !(sep === saltChars && rest.length - sep - 1 === keyChars && !rest.includes("$", sep + 1));
    },
    validateImport(encoded: string): void {
      if (typeof encoded !== "string" || encoded.length === 0) throw errors.badRequest("The hashed password is empty");
      const parsed = parseHash(encoded);
      // Beyond the format's own bounds: one comparison must fit the budget all concurrent hashes share (otherwise it
      // would run alone above it on every login), and an argon2 hash must not cost minutes per login.
      const budget = cfg.argon2.dedicated_memory;
      if (parsed.memory > budget) {
        throw errors.badRequest(
          `The ${parsed.kind} hash needs ${mib(parsed.memory)} of memory per comparison, more than hashers.argon2.dedicated_memory (${mib(budget)})`,
        );
      }
      if (parsed.kind === "argon2id" || parsed.kind === "argon2i") {
        const a = parsed as ParsedArgon2;
        if (a.memoryKiB * a.iterations > ARGON2_MAX_IMPORT_WORK_KIB) {
          throw errors.badRequest(
            `The argon2 cost m=${a.memoryKiB},t=${a.iterations} exceeds the import bound: memory x iterations must be at most 4 GiB (e.g. 1 GiB with t=4, 128 MiB with t=32)`,
          );
        }
      }
    },
    stats: () => ({ ...sem.stats(), limit: hasherLimit(cfg) }),
  };
}
