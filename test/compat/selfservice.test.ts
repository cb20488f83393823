import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ParsedMail } from "mailparser";
import { Configuration, IdentityApi, type ContinueWith, type FrontendApi, type Identity, type UiContainer, type UiNodeInputAttributes } from "@ory/kratos-client";
import { killAll, startMigratedServer, type MigratedServer } from "./helpers.ts";
import { CookieJar, frontendApi, httpError, kratosError, rejected, UI } from "./frontend-helpers.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.ts";

/**
 * Black box, issue 5 "Must show" (first bullet): verification, recovery and settings of a real `tessera serve` (child
 * process, SQLite file, free ports, courier worker running in it) driven by Ory's `@ory/kratos-client` 26.2.0
 * `FrontendApi` (and `IdentityApi` on the admin listener to read what the flows changed), with every code and link read
 * from the mail a real SMTP server in this process (smtp-server + mailparser) received. `fetch` with a cookie jar only
 * where a browser itself acts (following a recovery link). Asserts status codes, flow states, error ids and UI message
 * ids from Kratos's catalog.
 *
 * Two servers share the SMTP sink: `main` (recovery by code, Kratos's default lifespans) and `short` (recovery by link,
 * code lifespan 2s, privileged_session_max_age 2s), so expiry is real time passing, a few seconds in all.
 */

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase for settings";
const CODE_LIFESPAN_MS = 2_000;
const PRIVILEGED_MS = 2_000;
const newEmail = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}@example.com`;

/** Subjects of the built-in templates (src/courier/templates/defaults.ts). */
const SUBJECT = {
  verification: /verify your email address/i,
  recovery: /recover access to your account/i,
  recoveryUsed: /your account was recovered/i,
  passwordChanged: /your password was changed/i,
};

function config(sink: SmtpSink, o: { recoveryUse: "code" | "link"; codeLifespan?: string; privilegedMaxAge?: string }): Record<string, unknown> {
  return {
    courier: { smtp: { connection_uri: sink.uri, from_address: "no-reply@tessera.test" }, worker: { pull_wait: "100ms" } },
    // Every case here mails one address a few times and all requests come from 127.0.0.1: room above the per-address
    // and per-IP message caps (security.brute_force.messages, tested in test/security), so no message is held back.
    security: { brute_force: { messages: { per_address: 10 } } },
    selfservice: {
      default_browser_return_url: `${UI}/welcome`,
      allowed_return_urls: [UI],
      methods: {
        password: { enabled: true, config: { haveibeenpwned_enabled: false } },
        code: { enabled: true, config: o.codeLifespan ? { lifespan: o.codeLifespan } : {} },
        link: { enabled: true },
      },
      flows: {
        error: { ui_url: `${UI}/error` },
        login: { ui_url: `${UI}/login` },
        registration: { ui_url: `${UI}/registration`, after: { password: { hooks: [{ hook: "session" }] } } },
        settings: { ui_url: `${UI}/settings`, ...(o.privilegedMaxAge ? { privileged_session_max_age: o.privilegedMaxAge } : {}) },
        recovery: { enabled: true, ui_url: `${UI}/recovery`, use: o.recoveryUse, after: { hooks: [{ hook: "revoke_active_sessions" }] } },
        verification: { enabled: true, ui_url: `${UI}/verification`, use: "code" },
      },
    },
  };
}

type AnyFlow = { id: string; state?: unknown; ui: UiContainer };

/** Form and node message ids of any flow. */
const ids = (flow: AnyFlow): number[] => [...(flow.ui.messages ?? []).map((m) => m.id), ...flow.ui.nodes.flatMap((n) => n.messages.map((m) => m.id))];
const nodeIds = (flow: AnyFlow, name: string): number[] =>
  flow.ui.nodes.filter((n) => (n.attributes as UiNodeInputAttributes).name === name).flatMap((n) => n.messages.map((m) => m.id));
const csrfOf = (flow: AnyFlow): string =>
  String((flow.ui.nodes.find((n) => (n.attributes as UiNodeInputAttributes).name === "csrf_token")?.attributes as UiNodeInputAttributes | undefined)?.value ?? "");
const hasInput = (flow: AnyFlow, name: string): boolean => flow.ui.nodes.some((n) => n.attributes.node_type === "input" && (n.attributes as UiNodeInputAttributes).name === name);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `ms` after `since` (a timestamp), plus a margin for clock granularity. */
const waitPast = (since: number, ms: number) => sleep(Math.max(0, since + ms + 150 - Date.now()));

/** The first `digits`-digit number in a mail's text (templates print the code before any link). */
function codeIn(m: ParsedMail, digits: number): string {
  const found = new RegExp(`\\b(\\d{${digits}})\\b`).exec(m.text ?? "");
  assert.ok(found, `no ${digits}-digit code in: ${m.text}`);
  return found[1];
}

/** The first http(s) URL in a mail's text. */
function linkIn(m: ParsedMail): URL {
  const found = /(https?:\/\/[^\s"<>]+)/.exec(m.text ?? "");
  assert.ok(found, `no link in: ${m.text}`);
  return new URL(found[1]);
}

const recipientsOf = (m: ParsedMail): string[] =>
  (m.to === undefined ? [] : Array.isArray(m.to) ? m.to : [m.to]).flatMap((a) => a.value.map((v) => (v.address ?? "").toLowerCase()));

describe("verification, recovery and settings through @ory/kratos-client against `tessera serve` with real SMTP", { timeout: 120_000 }, () => {
  let sink: SmtpSink;
  let main: MigratedServer;
  let short: MigratedServer;
  const claimed = new Set<ParsedMail>();

  /** The next unread mail to `to` whose subject matches, as it arrives (no fixed sleep). */
  async function mail(to: string, subject: RegExp, timeoutMs = 15_000): Promise<ParsedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = sink.messages.find((x) => !claimed.has(x) && recipientsOf(x).includes(to.toLowerCase()) && subject.test(x.subject ?? ""));
      if (m) {
        claimed.add(m);
        return m;
      }
      const left = deadline - Date.now();
      const seen = sink.messages.filter((x) => recipientsOf(x).includes(to.toLowerCase())).map((x) => x.subject);
      assert.ok(left > 0, `no mail "${subject}" to ${to} within ${timeoutMs} ms; mails to it: ${JSON.stringify(seen)}`);
      await sink.waitForCount(sink.messages.length + 1, { timeoutMs: left }).catch(() => undefined);
    }
  }

  const admin = (s: MigratedServer) => new IdentityApi(new Configuration({ basePath: s.adminUrl }));
  const identity = async (s: MigratedServer, id: string): Promise<Identity> => (await admin(s).getIdentity({ id })).data;

  /**
   * API registration with verification on: the identity, its `show_verification_ui` flow (already `sent_email`) and
   * the code from the verification mail that registration sent.
   */
  async function signUp(sdk: FrontendApi, email: string): Promise<{ identityId: string; verificationFlowId: string; code: string; mail: ParsedMail }> {
    const { data: flow } = await sdk.createNativeRegistrationFlow();
    const { data } = await sdk.updateRegistrationFlow({ flow: flow.id, updateRegistrationFlowBody: { method: "password", password: PASSWORD, traits: { email } } });
    assert.equal(data.identity.traits.email, email);
    const show = (data.continue_with ?? []).find((c): c is Extract<ContinueWith, { action: "show_verification_ui" }> => c.action === "show_verification_ui");
    assert.ok(show, `show_verification_ui expected in ${JSON.stringify(data.continue_with)}`);
    assert.equal(show.flow.verifiable_address, email);
    assert.equal(show.flow.url, `${UI}/verification?flow=${show.flow.id}`);
    const m = await mail(email, SUBJECT.verification);
    return { identityId: data.identity.id, verificationFlowId: show.flow.id, code: codeIn(m, 6), mail: m };
  }

  /**
   * signUp, then the code from the mail through the verification flow. (With verification on, Tessera hides existing
   * accounts at registration, so an identity whose addresses are all unverified cannot sign in yet: see
   * test/security/enumeration-registration.test.ts.)
   */
  async function verifiedUser(sdk: FrontendApi, email: string): Promise<string> {
    const reg = await signUp(sdk, email);
    const { data } = await sdk.updateVerificationFlow({ flow: reg.verificationFlowId, updateVerificationFlowBody: { method: "code", code: reg.code } });
    assert.equal(data.state, "passed_challenge");
    return reg.identityId;
  }

  /** Set-up through the admin API: an identity with a password and an already verified address (no mail). */
  async function adminUser(s: MigratedServer, email: string): Promise<string> {
    const { data } = await admin(s).createIdentity({
      createIdentityBody: {
        schema_id: "default",
        traits: { email },
        credentials: { password: { config: { password: PASSWORD } } },
        verifiable_addresses: [{ value: email, via: "email", verified: true, status: "completed" }],
      },
    });
    return data.id;
  }

  async function login(sdk: FrontendApi, identifier: string, password: string): Promise<{ token: string; authenticatedAt: number }> {
    const { data: flow } = await sdk.createNativeLoginFlow();
    const { data } = await sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: "password", identifier, password } });
    assert.match(data.session_token ?? "", /^ory_st_/);
    return { token: data.session_token!, authenticatedAt: Date.parse(data.session.authenticated_at ?? "") };
  }

  async function loginRefusedIds(sdk: FrontendApi, identifier: string, password: string): Promise<number[]> {
    const { data: flow } = await sdk.createNativeLoginFlow();
    const e = httpError(await rejected(sdk.updateLoginFlow({ flow: flow.id, updateLoginFlowBody: { method: "password", identifier, password } })));
    assert.equal(e.status, 400);
    return ids(e.data as AnyFlow);
  }

  /** An API recovery flow with a code sent to `email`; returns the flow id and the code from the mail. */
  async function recoveryCode(sdk: FrontendApi, email: string): Promise<{ flowId: string; code: string }> {
    const { data: flow } = await sdk.createNativeRecoveryFlow();
    const sent = await sdk.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: "code", email } });
    assert.equal(sent.status, 200);
    assert.equal(sent.data.state, "sent_email");
    assert.deepEqual(ids(sent.data), [1060003]);
    return { flowId: flow.id, code: codeIn(await mail(email, SUBJECT.recovery), 8) };
  }

  /**
   * Submits a wrong recovery/verification code and returns the flow that comes back (state `sent_email`, carrying
   * `expectedId`: 4060006 / 4070006) and the HTTP status, 200 as Kratos (the SDK resolves). Were it a 400 the SDK would
   * reject with the flow: caught so that the assertion names the status.
   */
  async function wrongCode(p: Promise<{ status: number; data: AnyFlow }>, expectedId: number): Promise<{ status: number; flow: AnyFlow }> {
    let status: number;
    let flow: AnyFlow;
    try {
      const res = await p;
      status = res.status;
      flow = res.data;
    } catch (e) {
      const err = httpError(e);
      status = err.status;
      flow = err.data as AnyFlow;
    }
    assert.equal(status, 200, `a wrong code answers the flow with 200; got ${status} ${JSON.stringify(flow).slice(0, 300)}`);
    assert.equal(flow.state, "sent_email");
    assert.deepEqual(ids(flow), [expectedId]);
    return { status, flow };
  }

  before(async () => {
    sink = await startSmtpSink();
    [main, short] = await Promise.all([
      startMigratedServer(config(sink, { recoveryUse: "code" })),
      startMigratedServer(config(sink, { recoveryUse: "link", codeLifespan: `${CODE_LIFESPAN_MS}ms`, privilegedMaxAge: `${PRIVILEGED_MS}ms` })),
    ]);
  });
  after(async () => {
    await killAll();
    await main?.dir.remove();
    await short?.dir.remove();
    await sink?.stop();
  });

  test("verification after API registration: the code from the mail verifies the address (admin shows it verified)", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("verify");
    const reg = await signUp(sdk, email);
    // The mail's link carries the same code and points at the public base URL, never at the request's Host.
    const link = linkIn(reg.mail);
    assert.equal(`${link.origin}${link.pathname}`, `${main.publicUrl}/self-service/verification`);
    assert.equal(link.searchParams.get("flow"), reg.verificationFlowId);
    assert.equal(link.searchParams.get("code"), reg.code);

    const before = await identity(main, reg.identityId);
    assert.equal(before.verifiable_addresses?.[0]?.value, email);
    assert.equal(before.verifiable_addresses?.[0]?.verified, false);
    assert.equal(before.verifiable_addresses?.[0]?.status, "sent");

    const { data: vf } = await sdk.getVerificationFlow({ id: reg.verificationFlowId });
    assert.equal(vf.type, "api");
    assert.equal(vf.state, "sent_email");
    assert.deepEqual(ids(vf), [1080003]);
    assert.ok(hasInput(vf, "code"));

    const wrong = reg.code === "000000" ? "111111" : "000000";
    await wrongCode(sdk.updateVerificationFlow({ flow: vf.id, updateVerificationFlowBody: { method: "code", code: wrong } }), 4070006);
    assert.equal((await identity(main, reg.identityId)).verifiable_addresses?.[0]?.verified, false);

    const ok = await sdk.updateVerificationFlow({ flow: vf.id, updateVerificationFlowBody: { method: "code", code: reg.code } });
    assert.equal(ok.status, 200);
    assert.equal(ok.data.state, "passed_challenge");
    assert.deepEqual(ids(ok.data), [1080002]);

    const after = (await identity(main, reg.identityId)).verifiable_addresses?.[0];
    assert.equal(after?.verified, true);
    assert.equal(after?.status, "completed");
    assert.ok(after?.verified_at && Date.parse(after.verified_at) > 0, `verified_at: ${after?.verified_at}`);
    await login(sdk, email, PASSWORD);
  });

  test("recovery with a code (API): privileged session + settings flow in continue_with; the new password works there", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("recover-code");
    const identityId = await verifiedUser(sdk, email);
    const old = await login(sdk, email, PASSWORD);

    const { data: flow } = await sdk.createNativeRecoveryFlow();
    assert.equal(flow.type, "api");
    assert.equal(flow.state, "choose_method");
    assert.ok(hasInput(flow, "email"));
    const sent = await sdk.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: "code", email: email.toUpperCase() } });
    assert.equal(sent.status, 200);
    assert.equal(sent.data.state, "sent_email");
    assert.deepEqual(ids(sent.data), [1060003]);
    assert.ok(hasInput(sent.data, "code"));
    const code = codeIn(await mail(email, SUBJECT.recovery), 8);

    const done = await sdk.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: "code", code } });
    assert.equal(done.status, 200);
    assert.equal(done.data.state, "passed_challenge");
    const cw = done.data.continue_with ?? [];
    assert.deepEqual(cw.map((c) => c.action), ["set_ory_session_token", "show_settings_ui"]);
    const token = (cw[0] as Extract<ContinueWith, { action: "set_ory_session_token" }>).ory_session_token;
    const settingsRef = (cw[1] as Extract<ContinueWith, { action: "show_settings_ui" }>).flow;
    assert.match(token, /^ory_st_/);
    assert.equal(settingsRef.url, `${UI}/settings?flow=${settingsRef.id}`);

    const who = await sdk.toSession({ xSessionToken: token });
    assert.equal(who.data.identity?.id, identityId);
    assert.equal(who.data.authentication_methods?.[0]?.method, "code_recovery");
    const revoked = kratosError(await rejected(sdk.toSession({ xSessionToken: old.token })));
    assert.equal(revoked.status, 401, "revoke_active_sessions revoked the session from before the recovery");
    assert.equal(revoked.error.id, "session_inactive");
    await mail(email, SUBJECT.recoveryUsed);

    // The settings flow handed over: the recovered session may change the password at once (it is privileged).
    const { data: sf } = await sdk.getSettingsFlow({ id: settingsRef.id, xSessionToken: token });
    assert.equal(sf.type, "api");
    assert.equal(sf.state, "show_form");
    assert.equal(sf.identity.id, identityId);
    assert.deepEqual(sf.ui.messages?.map((m) => m.id), [1060001], "the settings flow says the account was recovered (Kratos NewRecoverySuccessful)");
    const changed = await sdk.updateSettingsFlow({ flow: sf.id, xSessionToken: token, updateSettingsFlowBody: { method: "password", password: NEW_PASSWORD } });
    assert.equal(changed.status, 200);
    assert.equal(changed.data.state, "success");
    assert.deepEqual(ids(changed.data), [1050001]);
    await mail(email, SUBJECT.passwordChanged);

    await login(sdk, email, NEW_PASSWORD);
    assert.deepEqual(await loginRefusedIds(sdk, email, PASSWORD), [4000006]);
  });

  test("recovery with a link (browser): the link from the mail signs the browser in and sends it to settings; once only", async () => {
    const sdk = frontendApi(short.publicUrl);
    const email = newEmail("recover-link");
    const identityId = await adminUser(short, email);

    const jar = new CookieJar();
    const init = await fetch(`${short.publicUrl}/self-service/recovery/browser`, { redirect: "manual", headers: { accept: "text/html" } });
    jar.take(init);
    assert.equal(init.status, 303);
    const uiUrl = new URL(init.headers.get("location") ?? "");
    assert.equal(`${uiUrl.origin}${uiUrl.pathname}`, `${UI}/recovery`);
    const { data: flow } = await sdk.getRecoveryFlow({ id: uiUrl.searchParams.get("flow") ?? "", cookie: jar.header() });
    assert.equal(flow.type, "browser");
    assert.equal(flow.state, "choose_method");
    const sent = await sdk.updateRecoveryFlow({ flow: flow.id, cookie: jar.header(), updateRecoveryFlowBody: { method: "link", email, csrf_token: csrfOf(flow) } });
    jar.take(sent);
    assert.equal(sent.status, 200);
    assert.equal(sent.data.state, "sent_email");
    assert.deepEqual(ids(sent.data), [1060002]);

    const link = linkIn(await mail(email, SUBJECT.recovery));
    assert.equal(`${link.origin}${link.pathname}`, `${short.publicUrl}/self-service/recovery`, "links use serve.public.base_url");
    assert.ok((link.searchParams.get("token") ?? "").length >= 22, "a link token carries at least 128 bits");

    // The browser follows the link from the mail.
    const opened = await fetch(link, { redirect: "manual", headers: { accept: "text/html", cookie: jar.header() } });
    jar.take(opened);
    assert.equal(opened.status, 303, await opened.text());
    const to = new URL(opened.headers.get("location") ?? "");
    assert.equal(`${to.origin}${to.pathname}`, `${UI}/settings`);
    assert.ok(jar.get("ory_kratos_session"), "the recovery link signed the browser in");
    const who = await sdk.toSession({ cookie: jar.header() });
    assert.equal(who.data.identity?.id, identityId);
    assert.equal(who.data.authentication_methods?.[0]?.method, "link_recovery");
    const { data: sf } = await sdk.getSettingsFlow({ id: to.searchParams.get("flow") ?? "", cookie: jar.header() });
    assert.equal(sf.type, "browser");
    assert.equal(sf.state, "show_form");
    assert.equal(sf.identity.id, identityId);
    assert.deepEqual(sf.ui.messages?.map((m) => m.id), [1060001]);
    await mail(email, SUBJECT.recoveryUsed);

    // A second browser opening the same link: sent to a fresh recovery flow that says the link is spent (4060004).
    const other = new CookieJar();
    const again = await fetch(link, { redirect: "manual", headers: { accept: "text/html" } });
    other.take(again);
    assert.equal(again.status, 303);
    const retry = new URL(again.headers.get("location") ?? "");
    assert.equal(`${retry.origin}${retry.pathname}`, `${UI}/recovery`);
    assert.equal(other.get("ory_kratos_session"), undefined);
    const { data: fresh } = await sdk.getRecoveryFlow({ id: retry.searchParams.get("flow") ?? "", cookie: other.header() });
    assert.notEqual(fresh.id, flow.id);
    assert.deepEqual(ids(fresh), [4060004]);
  });

  test("settings (API, session token): change the password (4000039 when unchanged), change traits; a new email gets a verification mail", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("settings");
    const identityId = await verifiedUser(sdk, email);
    const { token } = await login(sdk, email, PASSWORD);

    const { data: flow } = await sdk.createNativeSettingsFlow({ xSessionToken: token });
    assert.equal(flow.type, "api");
    assert.equal(flow.state, "show_form");
    assert.equal(flow.identity.traits.email, email);
    assert.ok(hasInput(flow, "password") && hasInput(flow, "traits.email"));

    const same = httpError(await rejected(sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: token, updateSettingsFlowBody: { method: "password", password: PASSWORD } })));
    assert.equal(same.status, 400);
    assert.deepEqual(nodeIds(same.data as AnyFlow, "password"), [4000039]);
    const changed = await sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: token, updateSettingsFlowBody: { method: "password", password: NEW_PASSWORD } });
    assert.equal(changed.status, 200);
    assert.equal(changed.data.state, "success");
    assert.deepEqual(ids(changed.data), [1050001]);
    await mail(email, SUBJECT.passwordChanged);
    await login(sdk, email, NEW_PASSWORD);
    assert.deepEqual(await loginRefusedIds(sdk, email, PASSWORD), [4000006]);

    // Traits: a new email address (a protected trait) and a name.
    const moved = newEmail("settings-moved");
    const { data: flow2 } = await sdk.createNativeSettingsFlow({ xSessionToken: token });
    const saved = await sdk.updateSettingsFlow({
      flow: flow2.id,
      xSessionToken: token,
      updateSettingsFlowBody: { method: "profile", traits: { email: moved, name: { first: "Ada", last: "Lovelace" } } },
    });
    assert.equal(saved.status, 200);
    assert.equal(saved.data.state, "success");
    assert.deepEqual(ids(saved.data), [1050001]);
    assert.deepEqual(saved.data.identity.traits, { email: moved, name: { first: "Ada", last: "Lovelace" } });
    const stored = await identity(main, identityId);
    assert.deepEqual(stored.verifiable_addresses?.map((a) => [a.value, a.verified]), [[moved, false]], "the new address starts unverified");

    // The new address got a verification mail; its code verifies it through the flow named in the link.
    const vm = await mail(moved, SUBJECT.verification);
    const vlink = linkIn(vm);
    const vflow = vlink.searchParams.get("flow") ?? "";
    const { data: vf } = await sdk.getVerificationFlow({ id: vflow });
    assert.equal(vf.state, "sent_email");
    const verified = await sdk.updateVerificationFlow({ flow: vflow, updateVerificationFlowBody: { method: "code", code: codeIn(vm, 6) } });
    assert.equal(verified.data.state, "passed_challenge");
    assert.deepEqual(ids(verified.data), [1080002]);
    assert.deepEqual((await identity(main, identityId)).verifiable_addresses?.map((a) => [a.value, a.verified, a.status]), [[moved, true, "completed"]]);

    await login(sdk, moved, NEW_PASSWORD);
    assert.deepEqual(await loginRefusedIds(sdk, email, NEW_PASSWORD), [4000006], "the old address no longer signs in");
  });

  test("privileged_session_max_age (2s): an older session gets 403 session_refresh_required for the password and the email", async () => {
    const sdk = frontendApi(short.publicUrl);
    const email = newEmail("stale");
    await adminUser(short, email);
    const { token, authenticatedAt } = await login(sdk, email, PASSWORD);
    const { data: flow } = await sdk.createNativeSettingsFlow({ xSessionToken: token });
    await waitPast(authenticatedAt, PRIVILEGED_MS);

    const refused = kratosError(await rejected(sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: token, updateSettingsFlowBody: { method: "password", password: NEW_PASSWORD } })));
    assert.equal(refused.status, 403);
    assert.equal(refused.error.id, "session_refresh_required");
    const redirect = new URL(String(refused.body.redirect_browser_to ?? ""));
    assert.equal(`${redirect.origin}${redirect.pathname}`, `${short.publicUrl}/self-service/login/browser`);
    assert.equal(redirect.searchParams.get("refresh"), "true");
    assert.equal(redirect.searchParams.get("return_to"), `${UI}/settings?flow=${flow.id}`);
    const emailRefused = kratosError(
      await rejected(sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: token, updateSettingsFlowBody: { method: "profile", traits: { email: newEmail("stale-moved") } } })),
    );
    assert.equal(emailRefused.status, 403);
    assert.equal(emailRefused.error.id, "session_refresh_required");
    // A trait that is neither an identifier nor an address changes with any session.
    const named = await sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: token, updateSettingsFlowBody: { method: "profile", traits: { email, name: { first: "Grace" } } } });
    assert.equal(named.data.state, "success");
    await login(sdk, email, PASSWORD); // the password is unchanged

    // After signing in again, the same settings flow accepts the change.
    const fresh = await login(sdk, email, PASSWORD);
    const ok = await sdk.updateSettingsFlow({ flow: flow.id, xSessionToken: fresh.token, updateSettingsFlowBody: { method: "password", password: NEW_PASSWORD } });
    assert.equal(ok.status, 200);
    assert.equal(ok.data.state, "success");
    assert.deepEqual(ids(ok.data), [1050001]);
    await mail(email, SUBJECT.passwordChanged);
  });

  test("max_submissions: 5 wrong codes (a resend does not reset the count), then even the right code is refused", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("limit");
    await signUp(sdk, email);
    const { flowId, code } = await recoveryCode(sdk, email);
    const wrong = code === "00000000" ? "11111111" : "00000000";
    for (let i = 0; i < 3; i++) await wrongCode(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code: wrong } }), 4060006);
    const resent = await sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", email } });
    assert.deepEqual(ids(resent.data), [1060003]);
    const fresh = codeIn(await mail(email, SUBJECT.recovery), 8);
    for (let i = 0; i < 2; i++) await wrongCode(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code: wrong } }), 4060006);

    const locked = kratosError(await rejected(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code: fresh } })));
    assert.equal(locked.status, 400);
    assert.match(locked.error.reason ?? "", /submitted too often/i);
    const resendLocked = kratosError(await rejected(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", email } })));
    assert.equal(resendLocked.status, 400, "the used-up flow sends no more codes either");
  });

  test("code reuse: a code that recovered the account is refused on a second submit, and signs nobody in", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("reuse");
    await signUp(sdk, email);
    const { flowId, code } = await recoveryCode(sdk, email);
    const first = await sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code } });
    assert.equal(first.data.state, "passed_challenge");
    await mail(email, SUBJECT.recoveryUsed);

    const again = httpError(await rejected(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code } })));
    assert.equal(again.status, 400);
    const body = again.data as AnyFlow & { continue_with?: unknown };
    assert.deepEqual(ids(body), [4060001], "the flow already succeeded and cannot be retried");
    assert.equal(body.continue_with, undefined, "no second session");
  });

  test("a code from one recovery flow is refused on another (4060006); each flow's own code still works", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("cross");
    const { identityId } = await signUp(sdk, email);
    const a = await recoveryCode(sdk, email);
    const b = await recoveryCode(sdk, email);
    assert.notEqual(a.code, b.code);
    await wrongCode(sdk.updateRecoveryFlow({ flow: b.flowId, updateRecoveryFlowBody: { method: "code", code: a.code } }), 4060006);
    const okB = await sdk.updateRecoveryFlow({ flow: b.flowId, updateRecoveryFlowBody: { method: "code", code: b.code } });
    assert.equal(okB.data.state, "passed_challenge");
    await mail(email, SUBJECT.recoveryUsed);
    const okA = await sdk.updateRecoveryFlow({ flow: a.flowId, updateRecoveryFlowBody: { method: "code", code: a.code } });
    assert.equal(okA.data.state, "passed_challenge");
    await mail(email, SUBJECT.recoveryUsed);
    assert.equal((await identity(main, identityId)).verifiable_addresses?.[0]?.verified, true, "a recovery by mail proves the address");

    // An unknown address gets the same answer and no mail (notify_unknown_recipients is off).
    const nobody = newEmail("nobody");
    const { data: nf } = await sdk.createNativeRecoveryFlow();
    const unknown = await sdk.updateRecoveryFlow({ flow: nf.id, updateRecoveryFlowBody: { method: "code", email: nobody } });
    assert.equal(unknown.data.state, "sent_email");
    assert.deepEqual(ids(unknown.data), [1060003]);
    await wrongCode(sdk.updateRecoveryFlow({ flow: nf.id, updateRecoveryFlowBody: { method: "code", code: a.code } }), 4060006);
    const later = newEmail("marker");
    await signUp(sdk, later); // a mail queued after the unknown request's would-be mail has arrived: none came for it
    assert.deepEqual(sink.messages.filter((m) => recipientsOf(m).includes(nobody)).map((m) => m.subject), []);
  });

  test("code expiry (lifespan 2s): an expired code is refused (4070006) while the flow lives on; a new code works", async () => {
    const sdk = frontendApi(short.publicUrl);
    const email = newEmail("expiry");
    const reg = await signUp(sdk, email);
    await waitPast(Date.now(), CODE_LIFESPAN_MS); // the code was issued before the registration answered
    await wrongCode(sdk.updateVerificationFlow({ flow: reg.verificationFlowId, updateVerificationFlowBody: { method: "code", code: reg.code } }), 4070006);
    assert.equal((await identity(short, reg.identityId)).verifiable_addresses?.[0]?.verified, false);

    const resent = await sdk.updateVerificationFlow({ flow: reg.verificationFlowId, updateVerificationFlowBody: { method: "code", email } });
    assert.equal(resent.data.state, "sent_email");
    assert.deepEqual(ids(resent.data), [1080003]);
    const code = codeIn(await mail(email, SUBJECT.verification), 6);
    const ok = await sdk.updateVerificationFlow({ flow: reg.verificationFlowId, updateVerificationFlowBody: { method: "code", code } });
    assert.equal(ok.data.state, "passed_challenge");
    assert.equal((await identity(short, reg.identityId)).verifiable_addresses?.[0]?.verified, true);
  });

  // Kratos answers a wrong recovery or verification code with the flow and 200 (`code_recovery.go` writes the flow,
  // and its "should be able to recover after using invalid code" test expects 200 for browser, SPA and API clients;
  // `code_verification.go` likewise), so `updateRecoveryFlow` / `updateVerificationFlow` resolve. So does Tessera
  // (`wrongCode` in src/strategies/code/code-flows.ts); a malformed code (not digits) stays a 400.
  test("a wrong code answers 200 with the flow, as Kratos (recovery and verification)", async () => {
    const sdk = frontendApi(main.publicUrl);
    const email = newEmail("wrong");
    const reg = await signUp(sdk, email);
    const v = await wrongCode(sdk.updateVerificationFlow({ flow: reg.verificationFlowId, updateVerificationFlowBody: { method: "code", code: reg.code === "000000" ? "111111" : "000000" } }), 4070006);
    const { flowId, code } = await recoveryCode(sdk, email);
    const r = await wrongCode(sdk.updateRecoveryFlow({ flow: flowId, updateRecoveryFlowBody: { method: "code", code: code === "00000000" ? "11111111" : "00000000" } }), 4060006);
    assert.deepEqual([v.status, r.status], [200, 200]);
  });
});
