import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startSmtpSink } from "../../../test/helpers/smtp-sink.ts";
import type { SmtpSink } from "../../../test/helpers/smtp-sink.ts";
import { createSmtpChannel, smtpTransportOptions } from "./smtp.ts";

let plain: SmtpSink;
let tls: SmtpSink;
before(async () => {
  plain = await startSmtpSink();
  tls = await startSmtpSink({ starttls: true });
});
after(async () => {
  await plain.stop();
  await tls.stop();
});

const msg = (recipient: string) => ({ id: "0b1c0a43-7a1e-4a53-9f43-5b8f0e5d2a11", recipient, subject: "S", plaintext: "P", html: "<p>H</p>" });

test("connection URI semantics (Kratos): STARTTLS required by default, smtps implicit TLS, verification on", () => {
  const o = smtpTransportOptions({ connection_uri: "smtp://us%40er:p%3Ass@mail.example:2525/" });
  assert.equal(o.secure, false);
  assert.equal(o.requireTLS, true);
  assert.deepEqual(o.auth, { user: "us@er", pass: "p:ss" });
  assert.equal(o.port, 2525);
  assert.equal(o.tls?.rejectUnauthorized, true);
  const d = smtpTransportOptions({ connection_uri: "smtp://mail.example/?disable_starttls=true" });
  assert.equal(d.requireTLS, false);
  assert.equal(d.port, 587);
  const s = smtpTransportOptions({ connection_uri: "smtps://mail.example/?skip_ssl_verify=true&server_name=other.example", local_name: "me.example" });
  assert.equal(s.secure, true);
  assert.equal(s.port, 465);
  assert.equal(s.tls?.rejectUnauthorized, false);
  assert.equal(s.tls?.servername, "other.example");
  assert.equal(s.name, "me.example");
  assert.throws(() => smtpTransportOptions({ connection_uri: "http://x/" }));
});

test("smtp:// without disable_starttls refuses a server that offers no STARTTLS, and sends nothing", async () => {
  const ch = createSmtpChannel({ connection_uri: `smtp://127.0.0.1:${plain.port}/`, from_address: "no-reply@example.com" });
  try {
    await assert.rejects(ch.send(msg("refused@example.com")), /STARTTLS|TLS/i);
  } finally {
    ch.close();
  }
  assert.equal(plain.messages.filter((m) => m.to && JSON.stringify(m.to).includes("refused@")).length, 0);
});

test("disable_starttls=true sends in clear; From, headers and Message-ID are set", async () => {
  const ch = createSmtpChannel({ connection_uri: plain.uri, from_address: "no-reply@example.com", from_name: "Tessera", headers: { "X-SES-Source": "abc" } });
  try {
    await ch.send(msg("clear@example.com"));
  } finally {
    ch.close();
  }
  const m = await plain.waitFor("clear@example.com");
  assert.equal(m.messageId, "<0b1c0a43-7a1e-4a53-9f43-5b8f0e5d2a11@tessera>");
  assert.equal(m.from?.value[0].address, "no-reply@example.com");
  assert.equal(m.from?.value[0].name, "Tessera");
  assert.equal(m.headers.get("x-ses-source"), "abc");
  assert.equal(m.text?.trim(), "P");
  assert.equal(m.html, "<p>H</p>");
});

test("STARTTLS: a self-signed certificate is refused unless skip_ssl_verify=true", async () => {
  const strict = createSmtpChannel({ connection_uri: `smtp://127.0.0.1:${tls.port}/`, from_address: "no-reply@example.com" });
  try {
    await assert.rejects(strict.send(msg("strict@example.com")), /certificate|self.signed/i);
  } finally {
    strict.close();
  }
  const lax = createSmtpChannel({ connection_uri: `smtp://127.0.0.1:${tls.port}/?skip_ssl_verify=true`, from_address: "no-reply@example.com" });
  try {
    await lax.send(msg("lax@example.com"));
  } finally {
    lax.close();
  }
  assert.ok(await tls.waitFor("lax@example.com"));
});
