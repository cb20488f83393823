import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, Logger } from "pino";

type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/**
 * Fastify gives every request `request.log`, a pino child bound to the request id. Building a pino child serializes
 * and redacts its bindings, which cost more than the rest of a whoami request's logging put together, and most
 * requests never log anything (request lines are at info, our own onResponse hook asks `isLevelEnabled` first).
 * This child defers that: it answers level questions from its parent and makes the real pino child on the first line
 * it actually writes, so a request that logs nothing builds nothing, and one that logs gets exactly pino's child.
 *
 * A route with its own `logLevel` (Fastify passes it in `opts`) gets a real child at once: its level differs from the
 * parent's.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  if (opts && Object.keys(opts).length > 0) return parent.child(bindings, opts);
  return new LazyChild(parent as unknown as Logger, bindings) as unknown as FastifyBaseLogger;
}

class LazyChild {
  #parent: Logger;
  #bindings: Bindings;
  #real: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #child(): Logger {
    return (this.#real ??= this.#parent.child(this.#bindings));
  }

  #write(level: Level, args: unknown[]): void {
    if (!(this.#real ?? this.#parent).isLevelEnabled(level)) return;
    (this.#child()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#real ? this.#real.level : this.#parent.level;
  }

  set level(value: string) {
    this.#child().level = value;
  }

  isLevelEnabled(level: string): boolean {
    return this.#real ? this.#real.isLevelEnabled(level) : this.#parent.isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.#real ? this.#real.bindings() : { ...this.#parent.bindings(), ...this.#bindings };
  }

  child(bindings: Bindings, opts?: ChildLoggerOptions): Logger {
    return this.#child().child(bindings, opts);
  }

  fatal(...args: unknown[]): void {
    this.#write("fatal", args);
  }

  error(...args: unknown[]): void {
    this.#write("error", args);
  }

  warn(...args: unknown[]): void {
    this.#write("warn", args);
  }

  info(...args: unknown[]): void {
    this.#write("info", args);
  }

  debug(...args: unknown[]): void {
    this.#write("debug", args);
  }

  trace(...args: unknown[]): void {
    this.#write("trace", args);
  }

  silent(): void {}
}
