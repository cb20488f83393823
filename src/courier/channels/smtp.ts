import { isIP } from "node:net";
import nodemailer from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";

/**
 * The email channel: nodemailer over SMTP with Kratos's `courier.smtp.connection_uri` semantics.
 * - `smtp://`: STARTTLS is REQUIRED (a server that does not offer it is refused, nothing is sent in clear) unless
 *   `?disable_starttls=true`, which allows a cleartext session (STARTTLS is still used if the server offers it).
 * - `smtps://`: implicit TLS from the first byte.
 * - Certificates are verified unless `?skip_ssl_verify=true`; `?server_name=` sets the TLS server name (SNI and the
 *   name checked against the certificate).
 * - user and password come from the URI's userinfo (percent-decoded); port defaults to 587 (smtp) / 465 (smtps).
 * `from_address`/`from_name` make the From header, `headers` are added to every message, `local_name` is the EHLO
 * name. Every message carries `Message-ID: <message id>@tessera>` so a receiver can spot a resend.
 */
export interface SmtpSettings {
  connection_uri: string;
  from_address: string;
  from_name?: string;
  headers?: Readonly<Record<string, string>>;
  local_name?: string;
}

export interface EmailToSend {
  id: string;
  recipient: string;
  subject: string;
  plaintext: string;
  html?: string | null;
}

/** nodemailer transport options for a Kratos connection URI. Exported for tests; throws on a malformed URI. */
export function smtpTransportOptions(settings: Pick<SmtpSettings, "connection_uri" | "local_name">): SMTPPool.Options {
  let u: URL;
  try {
    u = new URL(settings.connection_uri);
  } catch {
    throw new Error("courier.smtp.connection_uri is not a valid URI");
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") throw new Error(`courier.smtp.connection_uri: unsupported scheme "${u.protocol}"`);
  const q = u.searchParams;
  const flag = (name: string): boolean => (q.get(name) ?? "").toLowerCase() === "true";
  const secure = u.protocol === "smtps:";
  const disableStartTls = !secure && flag("disable_starttls");
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    pool: true,
    host,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure && !disableStartTls,
    name: settings.local_name || undefined,
    auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
    tls: {
      rejectUnauthorized: !flag("skip_ssl_verify"),
      // SNI takes host names only (RFC 6066); an IP literal is checked against the certificate's IP SANs instead.
      ...(q.get("server_name") || !isIP(host) ? { servername: q.get("server_name") || host } : {}),
    },
    maxConnections: 4,
    // Bounded waits: a hung server must fail the attempt well inside the worker's claim lease.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** A pooled SMTP sender. `send` resolves when the server accepted the message (250 after DATA) and rejects otherwise. */
export function createSmtpChannel(settings: SmtpSettings): { send(msg: EmailToSend): Promise<void>; close(): void } {
  const transport = nodemailer.createTransport(smtpTransportOptions(settings));
  const from = settings.from_name ? { name: settings.from_name, address: settings.from_address } : settings.from_address;
  return {
    async send(msg) {
      await transport.sendMail({
        from,
        to: msg.recipient,
        subject: msg.subject,
        text: msg.plaintext,
        ...(msg.html ? { html: msg.html } : {}),
        messageId: `<${msg.id}@tessera>`,
        headers: { ...(settings.headers ?? {}) },
      });
    },
    close: () => transport.close(),
  };
}
