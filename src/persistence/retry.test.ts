import assert from "node:assert/strict";
import { test } from "node:test";
import { isTransientLockError, retryOnLockError } from "./retry.ts";

test("transient lock errors are recognised per dialect; others are not", () => {
  assert.ok(isTransientLockError({ errno: 1213, code: "ER_LOCK_DEADLOCK" }));
  assert.ok(isTransientLockError({ errno: 1205 }));
  assert.ok(isTransientLockError({ code: "40P01" }));
  assert.ok(isTransientLockError({ code: "40001" }));
  assert.ok(isTransientLockError({ code: "SQLITE_BUSY" }));
  assert.ok(!isTransientLockError({ code: "23505" }));
  assert.ok(!isTransientLockError(new Error("x")));
  assert.ok(!isTransientLockError(null));
});

test("retryOnLockError retries transient failures, and rethrows others at once", async () => {
  let calls = 0;
  assert.equal(await retryOnLockError(async () => {
    calls++;
    if (calls < 3) throw Object.assign(new Error("deadlock"), { errno: 1213 });
    return "ok";
  }), "ok");
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retryOnLockError(async () => {
    calls++;
    throw Object.assign(new Error("dup"), { code: "23505" });
  }), /dup/);
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(retryOnLockError(async () => {
    calls++;
    throw Object.assign(new Error("deadlock"), { errno: 1213 });
  }, 2), /deadlock/);
  assert.equal(calls, 3);
});
