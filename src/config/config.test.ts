import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isGoDuration, parseByteSize, parseDuration, tryParseByteSize } from "./config.ts";
import { applyEnvOverrides, coerceEnvValue } from "./env.ts";
import type { JsonObject } from "./env.ts";
import { dataDirFromDsn, deriveBaseUrl, resolveFileUrl } from "./finalize.ts";
import { configSchema } from "./load.ts";

describe("durations (Go syntax) -> milliseconds", () => {
  it("parses single and compound units", () => {
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("1h30m15s"), 5_415_000);
    assert.equal(parseDuration("1.5h"), 5_400_000);
    assert.equal(parseDuration("250us"), 0.25);
    assert.equal(parseDuration("2000000ns"), 2);
  });
  it("refuses what Kratos's pattern refuses", () => {
    for (const bad of ["", "1", "1d", "-1h", "1 h", "h", "1hour"]) {
      assert.equal(isGoDuration(bad), false, bad);
      assert.throws(() => parseDuration(bad));
    }
  });
});

describe("byte sizes (go-bytesize: KB = 1024) -> bytes", () => {
  it("uses binary multiples for decimal and IEC names alike", () => {
    assert.equal(parseByteSize("64KB"), 65_536);
    assert.equal(parseByteSize("128MB"), 134_217_728);
    assert.equal(parseByteSize("19MiB"), 19_922_944);
    assert.equal(parseByteSize("1GB"), 1_073_741_824);
    assert.equal(parseByteSize("1 gigabyte"), 1_073_741_824);
    assert.equal(parseByteSize("512b"), 512);
    assert.equal(parseByteSize("1.5KB"), 1536);
    assert.equal(parseByteSize("4096"), 4096);
    assert.equal(parseByteSize(1024), 1024);
  });
  it("refuses unknown units and negatives", () => {
    for (const bad of ["12XB", "MB", "-1MB", "1 M B", ""]) assert.equal(tryParseByteSize(bad), null, bad);
    assert.equal(tryParseByteSize(-5), null);
  });
});

describe("environment coercion", () => {
  it("coerces by schema type", () => {
    assert.equal(coerceEnvValue({ type: "integer" }, "42"), 42);
    assert.equal(coerceEnvValue({ type: "integer" }, "4.2"), "4.2");
    assert.equal(coerceEnvValue({ type: "boolean" }, "TRUE"), true);
    assert.equal(coerceEnvValue({ type: "boolean" }, "0"), false);
    assert.deepEqual(coerceEnvValue({ type: "array", items: { type: "string" } }, "a, b"), ["a", "b"]);
    assert.deepEqual(coerceEnvValue({ type: "array", items: { type: "string" } }, '["a,b"]'), ["a,b"]);
    assert.deepEqual(coerceEnvValue({ type: "object" }, '{"X-A":"1"}'), { "X-A": "1" });
    assert.equal(coerceEnvValue({ type: ["string", "integer"] }, "1MB"), "1MB");
  });
  it("walks the schema for keys holding underscores and array indexes", () => {
    const target: JsonObject = {};
    const applied = applyEnvOverrides(target, {
      SELFSERVICE_DEFAULT_BROWSER_RETURN_URL: "http://x/",
      IDENTITY_SCHEMAS_1_ID: "second",
      COURIER_SMTP_HEADERS: '{"X-Env":"yes"}',
      SECURITY_BRUTE_FORCE_IP_MAX_REQUESTS: "7",
      SERVE_PUBLIC_NOPE: "1",
    }, configSchema());
    const schemas = (target.identity as { schemas: unknown[] }).schemas;
    assert.equal(schemas.length, 2);
    assert.equal(0 in schemas, false); // a hole: validation then names /identity/schemas/0
    assert.deepEqual(schemas[1], { id: "second" });
    delete target.identity;
    assert.deepEqual(target, {
      selfservice: { default_browser_return_url: "http://x/" },
      courier: { smtp: { headers: { "X-Env": "yes" } } },
      security: { brute_force: { ip: { max_requests: 7 } } },
    });
    assert.equal(applied.length, 4);
  });
});

describe("helpers", () => {
  it("derives base URLs from host and port", () => {
    assert.equal(deriveBaseUrl("0.0.0.0", 4433), "http://127.0.0.1:4433/");
    assert.equal(deriveBaseUrl("", 80), "http://127.0.0.1:80/");
    assert.equal(deriveBaseUrl("auth.local", 4434), "http://auth.local:4434/");
    assert.equal(deriveBaseUrl("::1", 4434), "http://[::1]:4434/");
  });
  it("resolves file URLs like Kratos: relative to the working directory", () => {
    assert.equal(resolveFileUrl("file://./c/s.json", "/srv/app"), "file:///srv/app/c/s.json");
    assert.equal(resolveFileUrl("file://c/s.json", "/srv/app"), "file:///srv/app/c/s.json");
    assert.equal(resolveFileUrl("file:///etc/s.json", "/srv/app"), "file:///etc/s.json");
    assert.equal(resolveFileUrl("https://x/s.json", "/srv/app"), "https://x/s.json");
  });
  it("finds the data dir of a SQLite DSN", () => {
    assert.equal(dataDirFromDsn("sqlite://./data/tessera.db", "/srv"), "/srv/data");
    assert.equal(dataDirFromDsn("sqlite:///var/lib/t/db.sqlite?_fk=true", "/srv"), "/var/lib/t");
    assert.equal(dataDirFromDsn("sqlite://file:./x/db?mode=rwc", "/srv"), "/srv/x");
    assert.equal(dataDirFromDsn("memory", "/srv"), "/srv/data");
    assert.equal(dataDirFromDsn("sqlite://file::memory:?cache=shared", "/srv"), "/srv/data");
    assert.equal(dataDirFromDsn("postgres://u@h/db", "/srv"), "/srv/data");
  });
});
