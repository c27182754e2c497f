// Type tests: compiled by `npm run typecheck` (part of `npm test`), never run.
// An `@ts-expect-error` line that stops being an error fails the typecheck.
import { type AsyncResult, Executor, Pool, type PoolStats, task, tasks, type TaskRef, type TimeSummary, type WorkerStats } from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(value: T): T {
  return value;
}
function assertEqual<A, B>(check: Equal<A, B>): void {
  void check;
}

const primes = tasks<typeof import('../../workers/primes')>('workers/primes.ts');
const fixtures = tasks<typeof import('../fixtures/pool-tasks')>('spec/fixtures/pool-tasks.ts');

export async function poolTypes(pool: Pool, nums: number[]): Promise<void> {
  // Task refs carry the function type.
  expectType<TaskRef<(n: number) => boolean>>(primes.isPrime);
  // @ts-expect-error only exported functions become task refs
  void fixtures.notAFunction;

  // map(primes.isPrime, nums) is Promise<boolean[]>.
  const flags = pool.map(primes.isPrime, nums);
  assertEqual<typeof flags, Promise<boolean[]>>(true);
  void pool.map(
    primes.isPrime,
    // @ts-expect-error a wrong item type is reported against the items, not the task
    ['7'],
  );
  void pool.imap(
    primes.isPrime,
    // @ts-expect-error the same for imap
    ['7'],
  );
  void pool.mapAsync(
    primes.isPrime,
    // @ts-expect-error the same for mapAsync
    ['7'],
  );
  void pool.starmap(
    primes.countPrimes,
    // @ts-expect-error a wrong tuple is reported against the tuples
    [['0', 10]],
  );
  void pool.starmapAsync(
    primes.countPrimes,
    // @ts-expect-error the same for starmapAsync
    [['0', 10]],
  );
  // @ts-expect-error a task of two parameters cannot be mapped over single items
  void pool.map(primes.countPrimes, nums);

  // starmap checks tuple types.
  const counts = pool.starmap(primes.countPrimes, [
    [0, 10],
    [10, 20],
  ]);
  assertEqual<typeof counts, Promise<number[]>>(true);
  // @ts-expect-error a tuple element of the wrong type
  void pool.starmap(primes.countPrimes, [[0, '10']]);
  // @ts-expect-error a tuple of the wrong length
  void pool.starmap(primes.countPrimes, [[0]]);

  // Async task functions resolve to their awaited value.
  const slow = pool.apply(fixtures.slowSquare, [3, 1]);
  assertEqual<typeof slow, Promise<number>>(true);
  // @ts-expect-error apply checks its argument tuple
  void pool.apply(fixtures.add, [1]);
  const noArgs = pool.apply(fixtures.whoami);
  assertEqual<typeof noArgs, Promise<number>>(true);

  // imap and imapUnordered are typed async iterators.
  for await (const flag of pool.imap(primes.isPrime, nums)) expectType<boolean>(flag);
  for await (const flag of pool.imapUnordered(primes.isPrime, nums)) expectType<boolean>(flag);

  // AsyncResult is typed and awaitable.
  const result = pool.applyAsync(fixtures.add, [1, 2], { callback: (value) => expectType<number>(value) });
  assertEqual<typeof result, AsyncResult<number>>(true);
  expectType<number>(await result);
  const mapped = pool.mapAsync(primes.isPrime, nums);
  assertEqual<typeof mapped, AsyncResult<boolean[]>>(true);

  // Inline functions infer from the items.
  const doubled = pool.map((x: number) => x * 2, nums);
  assertEqual<typeof doubled, Promise<number[]>>(true);

  // task<F>() names one export with a given type.
  const isPrime = task<(n: number) => boolean>('workers/primes.ts', 'isPrime');
  assertEqual<Awaited<ReturnType<typeof pool.map<number, boolean>>>, boolean[]>(true);
  void pool.map(isPrime, [1, 2]);

  // @ts-expect-error options are checked
  void pool.map(primes.isPrime, nums, { chunksize: '4' });
  // @ts-expect-error the pool's options are checked
  void new Pool({ workers: 'two' });

  // stats() is synchronous and typed, for a Pool and an Executor alike.
  const stats = pool.stats();
  assertEqual<typeof stats, PoolStats>(true);
  expectType<TimeSummary>(stats.runTime);
  expectType<number>(stats.waitTime.p99);
  expectType<readonly WorkerStats[]>(stats.workers);
  expectType<number>(stats.workers[0]!.utilization);
  expectType<PoolStats>(new Executor().stats());
  // @ts-expect-error the snapshot is read-only
  stats.queued = 3;
}
