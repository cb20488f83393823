import type { Kysely, Transaction } from "kysely";
import type { Logger } from "pino";
import type { Config, CourierTemplateSet } from "../config/config.ts";
import type { Database } from "../persistence/db.ts";
import type { DB } from "../persistence/schema.ts";
import { errors } from "../util/app-error.ts";
import type { Clock } from "../util/clock.ts";
import { createHttpChannel, parseRequestConfig } from "./channels/http.ts";
import { createSmtpChannel } from "./channels/smtp.ts";
import { createMessageRepo } from "./message-repo.ts";
import type { MessageRow } from "./message-repo.ts";
import { createTemplates } from "./templates/templates.ts";

/**
 * The courier: a durable outbox and its worker.
 *
 * `enqueue` renders the template at once and inserts a `queued` row with the caller's transaction, so a message exists
 * exactly when the change that caused it commits, and an HTTP response never waits on SMTP. The worker (`drainOnce`,
 * `startWorker`) claims due rows with a lease and a claim token, sends OUTSIDE any transaction, then marks each row on
 * its own as soon as its send finished: `sent`; or `queued` again with exponential backoff and a dispatch row holding
 * the error; or `abandoned` once `courier.message_retries` attempts failed (at least one attempt is always made).
 *
 * Delivery is at-least-once. The only duplicate window is a crash (or a lost database) between the server accepting
 * a message and the one-statement `sent` update that follows: such a row stays `processing` until its lease expires
 * (`leaseMs`, default 5 min) and is then sent again, with the same `Message-ID: <id@tessera>`.
 */
export interface OutgoingMessage {
  /** A template name or Kratos alias (see `templates/templates.ts`). */
  template_type: string;
  /** Email address, or phone number for `sms`. */
  recipient: string;
  /** Default "email". "sms" needs a `courier.channels[]` entry with `id: sms`. */
  channel?: "email" | "sms";
  /** Template data, snake_case keys (`recovery_code`, `verification_url`...). `*_url` paths resolve against the public base URL. */
  data: Record<string, unknown>;
}

export interface CourierDeps {
  database: Database;
  config: Config;
  clock: Clock;
  logger: Logger;
  /** `serve.public.base_url`: the only origin links in messages ever point to. */
  publicBaseUrl: string;
  /** Base for relative template paths and `file://` URLs (the config file's directory). */
  baseDir?: string;
  /** Worker tuning; the defaults suit production, tests shorten them. */
  tuning?: { leaseMs?: number; backoffBaseMs?: number; backoffMaxMs?: number };
}

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_BACKOFF_BASE_MS = 2_000;
const DEFAULT_BACKOFF_MAX_MS = 10 * 60_000;

/** Delay before attempt `failures + 1`: base * 2^(failures-1), capped, with +-20 % jitter so retries spread out. */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

function errorJson(e: unknown): Record<string, unknown> {
  const o = (typeof e === "object" && e !== null ? e : {}) as { message?: unknown; code?: unknown; responseCode?: unknown; response?: unknown };
  return {
    message: typeof o.message === "string" ? o.message : String(e),
    ...(typeof o.code === "string" ? { code: o.code } : {}),
    ...(typeof o.responseCode === "number" ? { response_code: o.responseCode } : {}),
    ...(typeof o.response === "string" ? { response: o.response.slice(0, 500) } : {}),
  };
}

export function createCourier(deps: CourierDeps) {
  const { database, config, clock, logger } = deps;
  const c = config.courier;
  const repo = createMessageRepo(database);
  const templates = createTemplates({
    override_path: c.template_override_path,
    templates: c.templates as Readonly<Record<string, CourierTemplateSet | undefined>> | undefined,
    publicBaseUrl: deps.publicBaseUrl,
    baseDir: deps.baseDir,
  });
  const channels = new Map(
    c.channels.map((ch, i) => [ch.id, createHttpChannel(parseRequestConfig(ch.request_config, `courier.channels[${i}].request_config`), { baseDir: deps.baseDir })]),
  );
  const leaseMs = deps.tuning?.leaseMs ?? DEFAULT_LEASE_MS;
  const backoffBase = deps.tuning?.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const backoffMax = deps.tuning?.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const maxAttempts = Math.max(1, c.message_retries);
  let smtp: ReturnType<typeof createSmtpChannel> | undefined;

  async function send(row: MessageRow): Promise<void> {
    if (row.channel === "email") {
      if (!c.smtp.connection_uri) throw new Error("courier.smtp.connection_uri is not set");
      smtp ??= createSmtpChannel({ ...c.smtp, connection_uri: c.smtp.connection_uri });
      await smtp.send({ id: row.id, recipient: row.recipient, subject: row.subject, plaintext: row.body, html: row.html_body });
      return;
    }
    const ch = channels.get(row.channel);
    if (!ch) throw new Error(`no courier.channels entry with id "${row.channel}"`);
    await ch.send({ recipient: row.recipient, template_type: row.template_type, template_data: row.template_data, subject: row.subject, body: row.body });
  }

  async function handle(row: MessageRow, token: string): Promise<void> {
    try {
      await send(row);
    } catch (e) {
      const failures = row.send_count + 1;
      const now = clock.now();
      const retryAt = failures >= maxAttempts ? null : new Date(now.getTime() + backoffMs(failures, backoffBase, backoffMax));
      logger.warn({ message_id: row.id, attempt: failures, abandoned: retryAt === null, err: errorJson(e).message }, "courier: delivery failed");
      await repo.markFailed(row.id, token, now, errorJson(e), retryAt);
      return;
    }
    await repo.markSent(row.id, clock.now());
  }

  async function drainOnce(): Promise<number> {
    const { token, rows } = await repo.claim(clock.now(), c.worker.pull_count, leaseMs);
    // One failure must not stop the others; each row is marked as soon as its own send ends.
    const results = await Promise.allSettled(rows.map((r) => handle(r, token)));
    for (const r of results) if (r.status === "rejected") logger.error({ err: String(r.reason) }, "courier: could not record a delivery");
    return rows.length;
  }

  return {
    repo,
    templates,

    async enqueue(q: Kysely<DB> | Transaction<DB>, msg: OutgoingMessage): Promise<string> {
      const channel = msg.channel ?? "email";
      if (channel !== "email" && !channels.has(channel)) throw errors.internal(`courier: no courier.channels entry with id "${channel}"`);
      const r = templates.render(msg.template_type, msg.data, msg.recipient);
      return repo.insert(q, {
        type: channel === "email" ? "email" : "phone",
        channel,
        template_type: r.spec.wire,
        recipient: msg.recipient,
        subject: r.subject,
        body: channel === "email" ? r.plaintext : r.sms,
        html_body: channel === "email" ? r.html : null,
        template_data: r.data,
      }, clock.now());
    },

    drainOnce,

    /**
     * Polls every `pollMs` (default `courier.worker.pull_wait`), immediately again while batches come back full.
     * The returned function stops the loop, waits for the batch in flight and closes the SMTP pool.
     */
    startWorker(opts: { pollMs?: number } = {}): () => Promise<void> {
      const pollMs = opts.pollMs ?? c.worker.pull_wait;
      let stopped = false;
      let wake: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const loop = (async () => {
        while (!stopped) {
          let n = 0;
          try {
            n = await drainOnce();
          } catch (e) {
            logger.error({ err: (e as Error).message }, "courier: claiming messages failed");
          }
          if (stopped || n >= c.worker.pull_count) continue;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, pollMs);
          });
        }
      })();
      return async () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        wake?.();
        await loop;
        smtp?.close();
        smtp = undefined;
      };
    },

    /** Closes the SMTP pool (for callers of `drainOnce` without `startWorker`). */
    close(): void {
      smtp?.close();
      smtp = undefined;
    },
  };
}

export type Courier = ReturnType<typeof createCourier>;
