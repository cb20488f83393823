import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../util/logger.ts";
import { createHttpInstance } from "./server.ts";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, destination };
}

async function instance(level: string) {
  const { lines, destination } = capture();
  const app = createHttpInstance({ logger: createLogger({ level, destination }), bodyLimit: 1024 });
  app.get("/x", async () => ({ ok: true }));
  app.get("/cached", async (_request, reply) => reply.header("cache-control", "max-age=60").send({ ok: true }));
  await app.ready();
  return { app, lines };
}

test("every answer carries no-store and nosniff unless a route sets its own cache policy; 404s too", async () => {
  const { app } = await instance("silent");
  const a = await app.inject({ url: "/x" });
  assert.equal(a.headers["cache-control"], "private, no-cache, no-store, must-revalidate");
  assert.equal(a.headers["x-content-type-options"], "nosniff");
  const b = await app.inject({ url: "/cached" });
  assert.equal(b.headers["cache-control"], "max-age=60");
  assert.equal(b.headers["x-content-type-options"], "nosniff");
  const c = await app.inject({ url: "/nope" });
  assert.equal(c.statusCode, 404);
  assert.equal(c.headers["x-content-type-options"], "nosniff");
  await app.close();
});

test("at info one line per request, with secrets in the query redacted and no credential headers", async () => {
  const { app, lines } = await instance("info");
  const secret = "ory_st_SECRETsecretSECRETsecret0123";
  await app.inject({ url: `/x?token=${secret}&flow=f1&code=123456&return_to=https://a/b&keep=1`, headers: { authorization: `Bearer ${secret}`, "x-session-token": secret } });
  await app.inject({ url: "/nope" });
  const done = lines.filter((l) => l.msg === "request completed");
  assert.equal(done.length, 2);
  assert.equal(done[0].url, "/x?token=[redacted]&flow=[redacted]&code=[redacted]&return_to=[redacted]&keep=1");
  assert.equal(done[0].status, 200);
  assert.equal(done[0].method, "GET");
  assert.equal(typeof done[0].ms, "number");
  assert.equal(done[1].status, 404);
  assert.ok(!JSON.stringify(lines).includes("SECRET"), "no secret in any log line");
  await app.close();
});

test("above info no request lines are written", async () => {
  const { app, lines } = await instance("warn");
  await app.inject({ url: "/x?token=abc" });
  assert.deepEqual(lines, []);
  await app.close();
});

test("request.log lines carry the request id and follow the level; a route's own logLevel applies", async () => {
  const { lines, destination } = capture();
  const app = createHttpInstance({ logger: createLogger({ level: "warn", destination }), bodyLimit: 1024 });
  app.get("/w", async (request) => {
    request.log.info("not written at warn");
    request.log.warn({ n: 1 }, "written");
    assert.equal((request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled("info"), false);
    assert.equal(request.log.level, "warn");
    request.log.child({ extra: true }).error("from a grandchild");
    return { ok: true };
  });
  app.get("/quiet", { logLevel: "error" }, async (request) => {
    request.log.warn("not written: this route logs errors only");
    request.log.error("route error");
    return { ok: true };
  });
  await app.ready();
  await app.inject({ url: "/w" });
  await app.inject({ url: "/w" });
  await app.inject({ url: "/quiet" });
  assert.deepEqual(lines.map((l) => l.msg), ["written", "from a grandchild", "written", "from a grandchild", "route error"]);
  assert.ok(lines.every((l) => typeof l.reqId === "string" && l.reqId.length > 0), "every line has the request id");
  assert.equal(lines[0].reqId, lines[1].reqId);
  assert.notEqual(lines[0].reqId, lines[2].reqId);
  assert.equal(lines[1].extra, true);
  assert.equal(lines[0].n, 1);
  await app.close();
});
