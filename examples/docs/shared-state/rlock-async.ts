import { RLock, Value } from 'parapool';

const counter = Value('i', 0); // its default lock is an RLock
const rlock = new RLock();
const somethingAsync = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const step = async (): Promise<void> => somethingAsync();

// 100 concurrent read-await-write updates on the main thread: exactly 100.
await Promise.all(
  Array.from({ length: 100 }, () =>
    counter.getLock().withLock(async () => {
      const seen = counter.value;
      await somethingAsync();
      counter.value = seen + 1;
    }),
  ),
);
await rlock.withLock(async () => {
  await rlock.withLock(step); // same chain: one level deeper, no deadlock
});
console.log(counter.value); // 100
