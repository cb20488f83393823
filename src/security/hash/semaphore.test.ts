import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../util/app-error.ts";
import { createSemaphore } from "./semaphore.ts";

/** A task the test finishes by hand, recording how many tasks were in flight when it started. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { open, done };
}

test("never runs more than capacity/weight tasks at once, in FIFO order", async () => {
  const sem = createSemaphore(3, 5000);
  let inFlight = 0;
  let maxInFlight = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 8 }, gate);
  const runs = gates.map((g, i) =>
    sem.run(1, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started.push(i);
      await g.done;
      inFlight--;
      return i;
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sem.stats(), { running: 3, queued: 5 });
  for (const g of gates) {
    g.open();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(maxInFlight, 3);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(sem.stats(), { running: 0, queued: 0 });
});

test("a heavy task takes a larger share, and is not overtaken by lighter ones", async () => {
  const sem = createSemaphore(4, 5000);
  const order: string[] = [];
  const a = gate();
  const first = sem.run(2, async () => { order.push("a"); await a.done; });
  const heavy = sem.run(10, async () => { order.push("heavy"); }); // clamped to 4: runs alone
  const light = sem.run(1, async () => { order.push("light"); });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ["a"]); // light would fit (2+1 <= 4) but waits behind heavy
  a.open();
  await Promise.all([first, heavy, light]);
  assert.deepEqual(order, ["a", "heavy", "light"]);
});

test("a wait beyond the bound rejects with 503 and Retry-After, and the queue moves on", async () => {
  const sem = createSemaphore(1, 30);
  const g = gate();
  const holder = sem.run(1, () => g.done);
  const started = Date.now();
  await assert.rejects(sem.run(1, async () => "never"), (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 503);
    assert.equal(e.id, "service_unavailable");
    assert.equal(e.headers?.["retry-after"], "1");
    return true;
  });
  assert.ok(Date.now() - started >= 25);
  assert.deepEqual(sem.stats(), { running: 1, queued: 0 });
  g.open();
  await holder;
  assert.equal(await sem.run(1, async () => "after"), "after");
});
