// lock.ts: the same lock from the workers and from the main thread
import { Pool, Value, tasks } from 'parapool';

const locked = tasks<typeof import('./workers/locked.js')>(new URL('./workers/locked.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

const counter = Value('d', 0);
const work = pool.starmap(locked.increment, [
  [counter, 10_000],
  [counter, 10_000],
]);
await counter.getLock().withLock(() => {
  counter.value += 1;
}); // on the main thread: never blocks the event loop
await work;
console.log(counter.value); // exactly 20001
