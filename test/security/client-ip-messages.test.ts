import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createApp, type App } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { baseTestConfig, deepMerge, REPO_ROOT } from "../helpers/create-test-app.ts";

/**
 * The client IP reaches the code/link sender as an explicit argument (no async context): through the public API, from
 * clients behind a trusted proxy (`X-Forwarded-For`), the verification flow's security events carry the forwarded IP,
 * verification messages count against that IP's message cap (4 x `messages.per_address`), and the out-of-band
 * verification message of a held login (sent after the answer, with a delay) counts against the IP of the login
 * request. Last, a guard: after such requests, V8 promise hooks are still off (no request turned on an
 * AsyncLocalStorage or any other async hook).
 */
const PASSWORD = "a sufficiently long and unusual passphrase";
const PER_ADDRESS = 3;
const PER_IP = 4 * PER_ADDRESS;
const CONFIG = {
  serve: { public: { trusted_proxies: ["127.0.0.1"] } },
  security: { brute_force: { messages: { per_address: PER_ADDRESS, window: "1h" } } },
  selfservice: { flows: { recovery: { enabled: true }, verification: { enabled: true } } },
};

type Line = Record<string, unknown>;

describe("the client IP of messages and events, passed explicitly", () => {
  let app: App;
  let dir: string;
  const clock = createManualClock();
  const raw: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-client-ip-"));
    const { config } = await loadConfig({ overrides: deepMerge(baseTestConfig(`sqlite://${join(dir, "tessera.db")}`), CONFIG), env: {}, dev: false });
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        raw.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
        cb();
      },
    });
    app = await createApp({ config, baseDir: REPO_ROOT, clock, logger: createLogger({ level: "info", destination }), dev: false });
    await migrator(app.deps.database).up();
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const headersFor = (ip: string) => ({ "x-forwarded-for": ip, accept: "application/json" });
  const get = (url: string, ip: string) => app.public.inject({ method: "GET", url, headers: headersFor(ip) });
  const post = (url: string, payload: unknown, ip: string) =>
    app.public.inject({ method: "POST", url, headers: { ...headersFor(ip), "content-type": "application/json" }, payload: JSON.stringify(payload) });
  const flowId = async (kind: string, ip: string): Promise<string> => {
    const res = await get(`/self-service/${kind}/api`, ip);
    assert.equal(res.statusCode, 200, res.body);
    return (JSON.parse(res.body) as { id: string }).id;
  };
  const submit = async (kind: string, payload: Record<string, unknown>, ip: string, id?: string) => {
    const flow = id ?? (await flowId(kind, ip));
    return { flow, res: await post(`/self-service/${kind}?flow=${flow}`, payload, ip) };
  };
  const events = (name: string): Line[] => raw.map((l) => JSON.parse(l) as Line).filter((l) => l.security_event === name);
  const eventOf = (name: string, flow: string): Line => {
    const found = events(name).filter((l) => l.flow_id === flow);
    assert.equal(found.length, 1, `${name} for flow ${flow}: ${JSON.stringify(events(name))}`);
    return found[0];
  };
  const mails = async (to: string) =>
    app.deps.database.db.selectFrom("courier_messages").select(["template_type", "body"]).where("recipient", "=", to).orderBy("created_at").execute();
  /** An identity whose address waits on verification, created by an operator (no message sent). */
  const createUnverified = async (email: string) => {
    const res = await app.admin.inject({
      method: "POST",
      url: "/admin/identities",
      payload: { schema_id: "default", traits: { email }, credentials: { password: { config: { password: PASSWORD } } } },
    });
    assert.equal(res.statusCode, 201, res.body);
  };
  /** Uses up `ip`'s message budget of the window with verification requests for addresses nobody has. */
  const exhaust = async (ip: string, prefix: string) => {
    for (let i = 0; i < PER_IP; i++) assert.equal((await submit("verification", { method: "code", email: `${prefix}-${i}@example.com` }, ip)).res.statusCode, 200);
  };
  const waitUntil = async (what: string, done: () => Promise<boolean> | boolean, ms = 3000) => {
    for (const end = Date.now() + ms; Date.now() < end; ) {
      if (await done()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  test("verification by code: requested, code failed and succeeded carry the forwarded client IP", async () => {
    const ip = "203.0.113.20";
    await createUnverified("vera@example.com");
    const { flow, res } = await submit("verification", { method: "code", email: "vera@example.com" }, ip);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(eventOf("verification_requested", flow).client_ip, ip);
    const code = /\b(\d{6})\b/.exec(String((await mails("vera@example.com")).at(-1)?.body))?.[1];
    assert.ok(code, "no verification code mailed");
    const wrong = code === "000000" ? "111111" : "000000";
    assert.equal((await submit("verification", { method: "code", code: wrong }, ip, flow)).res.statusCode, 200);
    assert.equal(eventOf("code_failed", flow).client_ip, ip);
    const ok = await submit("verification", { method: "code", code }, ip, flow);
    assert.equal(ok.res.statusCode, 200, ok.res.body);
    assert.equal(eventOf("verification_succeeded", flow).client_ip, ip);
  });

  test("verification messages count against the client IP's cap; message_capped names it; another IP is not affected", async () => {
    clock.advance(2 * 3_600_000); // a fresh message window
    const capped = "198.51.100.30";
    const other = "198.51.100.31";
    await createUnverified("walt@example.com");
    await exhaust(capped, "walt-noise");
    assert.equal(events("message_capped").length, 0, "distinct addresses within the per-IP cap");
    const over = await submit("verification", { method: "code", email: "walt@example.com" }, capped);
    assert.equal(over.res.statusCode, 200, "the answer is unchanged over the cap");
    assert.equal(eventOf("message_capped", over.flow).client_ip, capped);
    assert.deepEqual(await mails("walt@example.com"), [], "nothing queued over the cap");
    const fresh = await submit("verification", { method: "code", email: "walt@example.com" }, other);
    assert.equal(fresh.res.statusCode, 200);
    assert.equal(events("message_capped").filter((l) => l.flow_id === fresh.flow).length, 0);
    assert.deepEqual((await mails("walt@example.com")).map((m) => m.template_type), ["verification_code_valid"]);
  });

  test("a held login's out-of-band verification message counts against the IP of the login request", async () => {
    clock.advance(2 * 3_600_000);
    const capped = "192.0.2.40";
    const other = "192.0.2.41";
    const reg = await submit("registration", { method: "password", password: PASSWORD, traits: { email: "hal@example.com" } }, "192.0.2.39");
    assert.equal(reg.res.statusCode, 200, reg.res.body);
    const sent = (await mails("hal@example.com")).length;
    assert.equal(sent, 1, "the registration's verification message");
    await exhaust(capped, "hal-noise");

    const held = await submit("login", { method: "password", identifier: "hal@example.com", password: PASSWORD }, capped);
    assert.equal(held.res.statusCode, 400, "held back: answered as a wrong password");
    // After the answer and a delay, the message is asked for under the login's client IP, which is over its cap.
    const cappedFor = () => events("message_capped").filter((l) => l.client_ip === capped);
    await waitUntil("the held login's message cap decision", () => cappedFor().length > 0);
    assert.equal(cappedFor().length, 1, JSON.stringify(cappedFor()));
    assert.equal(cappedFor()[0].reason, "verification");
    assert.equal((await mails("hal@example.com")).length, sent, "nothing sent for the capped IP");

    const fromOther = await submit("login", { method: "password", identifier: "hal@example.com", password: PASSWORD }, other);
    assert.equal(fromOther.res.statusCode, 400);
    await waitUntil("the held login's verification message", async () => (await mails("hal@example.com")).length > sent);
    assert.deepEqual((await mails("hal@example.com")).map((m) => m.template_type), ["verification_code_valid", "verification_code_valid"]);
    assert.equal(events("message_capped").filter((l) => l.client_ip === other).length, 0);
  });
});

/**
 * Guard: no request turns on V8 promise hooks (an AsyncLocalStorage or any async hook makes every promise of the
 * process pay init/before/after hooks). Checked in a child process outside the test runner, whose own async hook keeps
 * promise hooks on in test processes: see `promise-hooks-child.ts`.
 */
test("guard: after registration, verification, recovery and login submits (held login included), promise hooks stay off", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "test/security/promise-hooks-child.ts")], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, err);
  const result = JSON.parse(out.trim().split("\n").at(-1) ?? "") as { before: boolean; after: boolean; control: boolean };
  assert.deepEqual(result, { before: false, after: false, control: true }, "after: a request turned on promise hooks; control: the probe must see a hook");
});
