import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { runHashersCommand } from "./hashers.ts";

function capture() {
  const io = { stdout: "", stderr: "", out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

test("hashers argon2 calibrate prints a Kratos hashers block near the target", async () => {
  const io = capture();
  assert.equal(await runHashersCommand(["argon2", "calibrate", "60ms", "--memory", "8MB", "--runs", "3"], io), 0, io.stderr);
  const doc = parse(io.stdout) as { hashers: { algorithm: string; argon2: Record<string, string | number> } };
  assert.equal(doc.hashers.algorithm, "argon2");
  const a = doc.hashers.argon2;
  assert.equal(a.memory, "8MB");
  assert.equal(a.parallelism, 1);
  assert.ok(Number.isInteger(a.iterations) && (a.iterations as number) >= 1);
  const ms = Number(String(a.expected_duration).replace("ms", ""));
  assert.ok(ms > 20 && ms < 200, `expected_duration ${a.expected_duration}`);
});

test("hashers argon2 hash and compare round-trip, and compare takes imported formats", async () => {
  const io = capture();
  assert.equal(await runHashersCommand(["argon2", "hash", "pässword 1", "--memory", "1MB", "--iterations", "1"], io), 0);
  const hash = io.stdout.trim();
  assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  assert.equal(await runHashersCommand(["argon2", "compare", hash, "pässword 1"], capture()), 0);
  assert.equal(await runHashersCommand(["argon2", "compare", hash, "password 1"], capture()), 1);
  assert.equal(await runHashersCommand(["argon2", "compare", "$md5$CY9rzUYh03PK3k6DJie09g==", "test"], capture()), 0);
  const bad = capture();
  assert.equal(await runHashersCommand(["argon2", "compare", "$2a$20$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", "x"], bad), 2);
  assert.match(bad.stderr, /cost 20/);
});

test("hashers --help and usage errors", async () => {
  const help = capture();
  assert.equal(await runHashersCommand(["--help"], help), 0);
  assert.match(help.stdout, /calibrate <duration>/);
  assert.equal(await runHashersCommand(["argon2", "calibrate"], capture()), 2);
  assert.equal(await runHashersCommand(["argon2", "nope"], capture()), 2);
  assert.equal(await runHashersCommand(["scrypt", "hash", "x"], capture()), 2);
});
