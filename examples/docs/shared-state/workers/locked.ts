// workers/locked.ts: a read-then-write update under the Value's own lock
import type { SharedValue } from 'parapool';

export function increment(counter: SharedValue<'d'>, times: number): void {
  const lock = counter.getLock(); // Value and Array come with an RLock
  for (let i = 0; i < times; i++) {
    lock.acquireSync(); // in a worker: blocks this worker only
    try {
      counter.value += 1;
    } finally {
      lock.release();
    }
  }
}
