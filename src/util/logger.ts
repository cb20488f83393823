import pino, { type Logger } from "pino";
import { Writable } from "node:stream";

/**
 * The process logger (pino). `format: text` renders one human line per record (`time LEVEL msg key=value ...`);
 * `json` is pino's own output. Credential headers are redacted wherever they appear.
 */
export interface LogOptions {
  level?: string;
  format?: string;
  destination?: NodeJS.WritableStream;
}

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const { time, level, msg, pid: _pid, hostname: _h, ...rest } = rec;
          const fields = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === "string" ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
            .join(" ");
          out.write(`${new Date(Number(time)).toISOString()} ${LEVELS[Number(level)] ?? level} ${String(msg ?? "")}${fields ? ` ${fields}` : ""}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      cb();
    },
  });
}

export function createLogger(opts: LogOptions = {}): Logger {
  const out = opts.destination ?? process.stderr;
  const stream = opts.format === "text" ? textStream(out) : out;
  return pino(
    {
      // Kratos's level names ("warning", "panic") map onto pino's.
      level: ({ warning: "warn", panic: "fatal" } as Record<string, string>)[opts.level ?? ""] ?? opts.level ?? "info",
      base: undefined,
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers.cookie",
          'req.headers["x-session-token"]',
          "headers.authorization",
          "headers.cookie",
          'headers["x-session-token"]',
          "password",
          "*.password",
          "token",
          "*.token",
        ],
        censor: "[redacted]",
      },
    },
    stream as pino.DestinationStream,
  );
}
