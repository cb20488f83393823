/**
 * A FIFO, weighted semaphore with a bound on the time a caller may wait. Hashing uses it so that concurrent hashes
 * never hold more than the memory budget (`hashers.argon2.dedicated_memory`): each hash acquires its memory as
 * weight. Strict FIFO: a heavy waiter at the head is not overtaken by lighter ones (no starvation). A waiter still
 * queued after `maxWaitMs` is removed and rejected with AppError 503 carrying `Retry-After`, so a login flood
 * sheds load instead of piling up.
 */
import { errors } from "../../util/app-error.ts";

export interface Semaphore {
  /** Runs `task` once `weight` units are free (weights above the capacity are clamped to it: the task runs alone). */
  run<T>(weight: number, task: () => Promise<T>): Promise<T>;
  stats(): { running: number; queued: number };
}

interface Waiter {
  weight: number;
  start: () => void;
}

export function createSemaphore(capacity: number, maxWaitMs: number): Semaphore {
  let used = 0;
  let running = 0;
  const queue: Waiter[] = [];

  const drain = () => {
    while (queue.length > 0 && used + queue[0].weight <= capacity) {
      const w = queue.shift() as Waiter;
      w.start();
    }
  };

  const acquire = (weight: number): Promise<void> | undefined => {
    if (queue.length === 0 && used + weight <= capacity) {
      used += weight;
      running++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        weight,
        start: () => {
          clearTimeout(timer);
          used += weight;
          running++;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        drain(); // the head may have been the waiter that blocked lighter ones
        reject(errors.unavailable("Too many password hashes are being computed; try again shortly", Math.max(1, maxWaitMs / 1000)));
      }, maxWaitMs);
      queue.push(waiter);
    });
  };

  return {
    async run<T>(weight: number, task: () => Promise<T>): Promise<T> {
      const w = Math.min(Math.max(weight, 0), capacity);
      const wait = acquire(w);
      if (wait) await wait;
      try {
        return await task();
      } finally {
        used -= w;
        running--;
        drain();
      }
    },
    stats: () => ({ running, queued: queue.length }),
  };
}
