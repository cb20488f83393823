import { createServer } from "node:net";
import { simpleParser } from "mailparser";
import type { ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

/**
 * A real SMTP server in the test process (smtp-server + mailparser) on 127.0.0.1 and a free port. Every accepted
 * message is parsed and appended to `messages` BEFORE the server answers 250, so a client that got its 250 is always
 * visible in `messages`. `waitFor(recipient)` resolves with the first message to that address not yet returned by an
 * earlier `waitFor`, or rejects after `timeoutMs`: tests never sleep a fixed time. `stop()` closes the listener and
 * drops open sessions (an outage); `start()` listens again on the same port. STARTTLS is not offered unless
 * `starttls: true` (then with smtp-server's built-in self-signed certificate), so the matching courier URI is
 * `uri` = `smtp://127.0.0.1:PORT/?disable_starttls=true`.
 */
export interface SmtpSink {
  port: number;
  uri: string;
  messages: ParsedMail[];
  waitFor(recipient: string, opts?: { timeoutMs?: number }): Promise<ParsedMail>;
  /** Resolves once `n` messages arrived in total, or rejects after `timeoutMs`. */
  waitForCount(n: number, opts?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const recipientsOf = (m: ParsedMail): string[] => {
  const to = m.to === undefined ? [] : Array.isArray(m.to) ? m.to : [m.to];
  return to.flatMap((a) => a.value.map((v) => (v.address ?? "").toLowerCase()));
};

export async function startSmtpSink(opts: { port?: number; starttls?: boolean } = {}): Promise<SmtpSink> {
  const port = opts.port ?? (await freePort());
  const messages: ParsedMail[] = [];
  const claimed = new Set<ParsedMail>();
  const waiters = new Set<() => void>();
  let server: SMTPServer | undefined;

  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  const make = (): SMTPServer =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: opts.starttls ? [] : ["STARTTLS"],
      hideSTARTTLS: !opts.starttls,
      logger: false,
      closeTimeout: 500,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            messages.push(parsed);
            notify();
            callback();
          })
          .catch((e: Error) => callback(e));
      },
    });

  const start = async (): Promise<void> => {
    const s = make();
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        s.off("error", reject);
        s.on("error", () => {});
        resolve();
      });
    });
    server = s;
  };

  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    // smtp-server's close waits for sessions to end; clients of a pool keep theirs open, so end them.
    const conns = (s as unknown as { connections?: Set<{ close(): void }> }).connections;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const c of conns ?? []) c.close();
    await closed;
  };

  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const tryNow = (): boolean => {
        const v = check();
        if (v === undefined) return false;
        waiters.delete(w);
        clearTimeout(timer);
        resolve(v);
        return true;
      };
      const w = (): void => void tryNow();
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`smtp sink: timed out after ${timeoutMs} ms waiting for ${what} (${messages.length} messages so far)`));
      }, timeoutMs);
      waiters.add(w);
      tryNow();
    });

  await start();
  return {
    port,
    uri: `smtp://127.0.0.1:${port}/?disable_starttls=true`,
    messages,
    waitFor(recipient, o = {}) {
      const want = recipient.toLowerCase();
      return waitUntil(() => {
        const m = messages.find((x) => !claimed.has(x) && recipientsOf(x).includes(want));
        if (m) claimed.add(m);
        return m;
      }, o.timeoutMs ?? 5000, `a message to ${recipient}`);
    },
    waitForCount(n, o = {}) {
      return waitUntil(() => (messages.length >= n ? true : undefined), o.timeoutMs ?? 5000, `${n} messages`).then(() => undefined);
    },
    stop,
    start,
  };
}
