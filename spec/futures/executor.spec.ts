// Executor (API.md §3), translated from CPython's test_concurrent_futures:
// ExecutorTest (submit, map, map_exception, map_timeout), FutureTests on real
// calls, ProcessPoolShutdownTest (cancel_futures), test_max_tasks_per_child,
// InitializerMixin / FailingInitializerMixin.
import * as path from 'node:path';
import {
  CancelledError,
  InvalidArgumentError,
  PoolBrokenError,
  PoolClosedError,
  TimeoutError,
  UncloneableError,
  WorkerExitedError,
} from '../../lib/errors';
import { Executor } from '../../lib/futures/executor';
import type { Future } from '../../lib/futures/future';
import { asCompleted, wait } from '../../lib/futures/wait';
import { tasks } from '../../lib/tasks/task-ref';
import type * as FuturesTasks from '../fixtures/futures-tasks';

const fx = tasks<typeof FuturesTasks>(path.join(__dirname, '../fixtures/futures-tasks.ts'));

const executors: Executor[] = [];
function makeExecutor(options?: ConstructorParameters<typeof Executor>[0]): Executor {
  const executor = new Executor(options);
  executors.push(executor);
  return executor;
}
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.shutdown({ cancelFutures: true });
});

function flag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}
function release(flags: Int32Array): void {
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
}
async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('Executor.submit', () => {
  test('submit(pow, 2, 8) → 256; an inline function too; a call without arguments', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const future = executor.submit(fx.pow, 2, 8);
    expect(await future.result()).toBe(256);
    expect(await executor.submit((a: number, b: string) => b.repeat(a), 3, 'ab')).toBe('ababab');
    expect(typeof (await executor.submit(fx.getpid))).toBe('number');
    expect(future.done()).toBe(true);
  });

  test('many submits: every future gets its own result', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const futures = range(100).map((n) => executor.submit(fx.pow, n, 2));
    const results = await Promise.all(futures.map((future) => future.result()));
    expect(results).toEqual(range(100).map((n) => n * n));
  });

  test("a failing call rejects its future with the task's error; exception() returns it", async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const future = executor.submit(fx.divmod, 1, 0);
    await expect(future.result()).rejects.toThrow(RangeError);
    const error = await future.exception();
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('integer division or modulo by zero');
    await expect(executor.submit(fx.divmod, 7, 2).exception()).resolves.toBeUndefined();
  });

  test('callbacks on real calls: result, exception', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const seen: string[] = [];
    const ok = executor.submit(fx.pow, 3, 3);
    const bad = executor.submit(fx.divmod, 1, 0);
    ok.addDoneCallback((f) => void seen.push(`ok:${f.done()}`));
    bad.addDoneCallback((f) => void seen.push(`bad:${f.done()}`));
    await wait([ok, bad]);
    expect(seen.sort()).toEqual(['bad:true', 'ok:true']);
  });

  test('cancel on a pending, a running and a finished call', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const flags = flag();
    const running = executor.submit(fx.waitForFlag, flags, 'first');
    const pending = executor.submit(fx.pow, 2, 2);
    const cancelledCallback: boolean[] = [];
    pending.addDoneCallback((f) => void cancelledCallback.push(f.cancelled()));
    expect(running.running()).toBe(true);
    expect(pending.running()).toBe(false);
    expect(running.cancel()).toBe(false);
    expect(pending.cancel()).toBe(true);
    expect(pending.cancelled()).toBe(true);
    expect(pending.done()).toBe(true);
    expect(cancelledCallback).toEqual([true]);
    await expect(pending.result()).rejects.toBeInstanceOf(CancelledError);
    release(flags);
    expect(await running.result()).toBe('first');
    expect(running.cancel()).toBe(false);
    expect(running.cancelled()).toBe(false);
    // The cancelled call never ran: the single worker is free for the next one.
    expect(await executor.submit(fx.pow, 5, 2)).toBe(25);
  });

  test('asCompleted and wait over real futures', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const flags = flag();
    const blocked = executor.submit(fx.waitForFlag, flags, 'late');
    const quick = range(5).map((n) => executor.submit(fx.pow, n, 3));
    const first = await wait([blocked, ...quick], { returnWhen: 'FIRST_COMPLETED' });
    expect(first.done.size).toBeGreaterThanOrEqual(1);
    expect(first.notDone.has(blocked)).toBe(true);
    const inputs = new Map<Future<unknown>, number>(quick.map((future, n) => [future, n]));
    inputs.set(blocked, -1);
    const order: number[] = [];
    for await (const future of asCompleted(inputs)) {
      order.push(inputs.get(future)!);
      if (order.length === 5) release(flags);
    }
    expect(order.slice(0, 5).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(order[5]).toBe(-1);
    expect(await blocked).toBe('late');
  });

  test('a worker that exits fails only its own future (ERR_WORKER_EXITED with exitCode); the executor goes on', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const flags = flag();
    const survivor = executor.submit(fx.waitForFlag, flags, 'survived');
    const dying = executor.submit(fx.exitWith, 3);
    const error = await dying.exception();
    expect(error).toBeInstanceOf(WorkerExitedError);
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 3 });
    release(flags);
    expect(await survivor).toBe('survived');
    expect(await executor.submit(fx.pow, 2, 10)).toBe(1024);
  });

  test('an argument that cannot cross rejects the future at once, naming its path (never a throw)', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    await expect(executor.submit((o: unknown) => o, { cb: () => 1 })).rejects.toThrow(UncloneableError);
    await expect(executor.submit((o: unknown) => o, { cb: () => 1 })).rejects.toThrow('args[0].cb is a function');
    await expect(executor.submit(42 as never)).rejects.toThrow(InvalidArgumentError);
  });

  test('tasks in executor workers see themselves as PoolWorker-<threadId>', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const [name, id] = await Promise.all([executor.submit(fx.whoami).result(), executor.submit(fx.getpid).result()]);
    expect(name).toBe(`PoolWorker-${id}`);
  });
});

describe('Executor.map', () => {
  test('map(pow, range(10), range(10)) equals the serial result, with chunksize 1, 3 and the default', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const serial = range(10).map((n) => n ** n);
    expect(await collect(executor.map(fx.pow, range(10), range(10)))).toEqual(serial);
    expect(await collect(executor.map(fx.pow, range(10), range(10), { chunksize: 1 }))).toEqual(serial);
    expect(await collect(executor.map(fx.pow, range(10), range(10), { chunksize: 3 }))).toEqual(serial);
    const many = range(40);
    for (const chunksize of [6, 40, 50]) {
      expect(await collect(executor.map(fx.pow, many, many, { chunksize }))).toEqual(many.map((n) => n ** n));
    }
  });

  test('one iterable; an inline function; zips to the shortest, sync and async inputs mixed', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    expect(await collect(executor.map((n: number) => n * 2, [1, 2, 3]))).toEqual([2, 4, 6]);
    async function* asyncExponents(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      yield 3;
    }
    expect(await collect(executor.map(fx.pow, [10, 10, 10, 10, 10], asyncExponents()))).toEqual([10, 100, 1000]);
    expect(await collect(executor.map(fx.pow, new Set([2, 3]), [3, 3, 3]))).toEqual([8, 27]);
    expect(await collect(executor.map(fx.pow, [], [1]))).toEqual([]);
  });

  test('map raising at the third item yields two results, then throws it', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const results = executor.map(fx.divmod, [1, 1, 1, 1], [2, 3, 0, 5]);
    expect(await results.next()).toEqual({ value: [0, 1], done: false });
    expect(await results.next()).toEqual({ value: [0, 1], done: false });
    await expect(results.next()).rejects.toThrow('integer division or modulo by zero');
  });

  test('map with a timeout over [0, 0, long] yields two results, then ERR_TIMEOUT', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const flags = flag();
    // Load the task module in both workers first, so the timeout only meets the long call.
    await Promise.all([executor.submit(fx.pow, 1, 1), executor.submit(fx.pow, 1, 1)]);
    function* repeat<T>(value: T): Generator<T> {
      for (;;) yield value;
    }
    const results: number[] = [];
    let thrown: unknown;
    try {
      for await (const n of executor.map(fx.blockIf, [0, 0, 1], repeat(flags), { timeout: 1500 })) results.push(n);
    } catch (error) {
      thrown = error;
    } finally {
      release(flags);
    }
    expect(results).toEqual([0, 0]);
    expect(thrown).toBeInstanceOf(TimeoutError);
    expect(thrown).toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  test('reads its input lazily: an infinite generator, five results, then break', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    let read = 0;
    let closed = false;
    function* naturals(): Generator<number> {
      try {
        for (let n = 0; ; n++) {
          read++;
          yield n;
        }
      } finally {
        closed = true;
      }
    }
    const results: number[] = [];
    for await (const square of executor.map(fx.pow, naturals(), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2].values())) {
      results.push(square);
      if (results.length === 5) break;
    }
    expect(results).toEqual([0, 1, 4, 9, 16]);
    expect(read).toBeLessThanOrEqual(11);
    expect(closed).toBe(true);
    const lazy: number[] = [];
    for await (const n of executor.map((x: number) => x, naturals(), { chunksize: 4 })) {
      lazy.push(n);
      if (lazy.length === 100) break;
    }
    expect(lazy).toEqual(range(100));
  });

  test('an AbortSignal stops the map with ERR_CANCELLED', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const flags = flag();
    const controller = new AbortController();
    const results = executor.map(fx.waitForFlag, [flags, flags], ['a', 'b'], { signal: controller.signal });
    const next = results.next();
    controller.abort();
    await expect(next).rejects.toBeInstanceOf(CancelledError);
    release(flags);
    expect(await executor.submit(fx.pow, 3, 2)).toBe(9);
  });

  test('bad arguments are ERR_INVALID_ARG', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    await expect(executor.map(fx.pow, [1], [1], { chunksize: 0 }).next()).rejects.toThrow(
      'Expected `chunksize` to be an integer from 1 and up, got `0` (number)',
    );
    await expect(executor.map(fx.pow, [1], 5 as never).next()).rejects.toThrow(
      'Expected `iterables[1]` to be an Iterable or an AsyncIterable, got `5` (number)',
    );
    await expect(executor.map(fx.pow as never).next()).rejects.toThrow(InvalidArgumentError);
    await expect(executor.map(fx.pow, [1], [1], { timeout: NaN }).next()).rejects.toThrow(InvalidArgumentError);
    await expect(executor.map(fx.pow, [1], [1], { signal: 'stop' as never }).next()).rejects.toThrow(InvalidArgumentError);
  });
});

describe('Executor.shutdown', () => {
  test('cancelFutures over 50 short calls: most cancelled, the rest completed, none lost', async () => {
    const executor = new Executor({ maxWorkers: 2 });
    const futures = range(50).map(() => executor.submit(fx.sleep, 10));
    await executor.shutdown({ cancelFutures: true });
    const cancelled = futures.filter((future) => future.cancelled());
    const others = futures.filter((future) => !future.cancelled());
    expect(cancelled.length).toBeGreaterThan(25);
    expect(others.length).toBeGreaterThan(0);
    expect(cancelled.length + others.length).toBe(50);
    for (const future of others) {
      expect(future.done()).toBe(true);
      await expect(future.exception()).resolves.toBeUndefined();
    }
  });

  test('shutdown waits for every submitted call; then submit and map → ERR_POOL_CLOSED', async () => {
    const executor = new Executor({ maxWorkers: 2 });
    const futures = range(20).map((n) => executor.submit(fx.pow, n, 2));
    await executor.shutdown();
    expect(futures.every((future) => future.done() && !future.cancelled())).toBe(true);
    await expect(executor.submit(fx.pow, 1, 1)).rejects.toThrow(PoolClosedError);
    await expect(executor.submit(fx.pow, 1, 1)).rejects.toThrow('Cannot call submit(): the executor was shut down');
    await expect(executor.map(fx.pow, [1], [1]).next()).rejects.toThrow(PoolClosedError);
    await executor.shutdown();
  });

  test('shutdown({ wait: false }) returns at once; the running call still finishes', async () => {
    const executor = new Executor({ maxWorkers: 1 });
    const flags = flag();
    const future = executor.submit(fx.waitForFlag, flags, 'done anyway');
    await executor.shutdown({ wait: false });
    expect(future.running()).toBe(true);
    release(flags);
    expect(await future).toBe('done anyway');
    await executor.shutdown();
  });

  test('cancelFutures stops an open map with ERR_CANCELLED after its finished results', async () => {
    const executor = new Executor({ maxWorkers: 1 });
    const flags = flag();
    const results = executor.map(fx.blockIf, [0, 1, 0, 0], [flags, flags, flags, flags]);
    expect(await results.next()).toEqual({ value: 0, done: false });
    const shutdown = executor.shutdown({ cancelFutures: true });
    await expect(results.next()).rejects.toBeInstanceOf(CancelledError);
    release(flags);
    await shutdown;
  });

  test('await using shuts the executor down at the end of the block', async () => {
    let kept: Executor | undefined;
    {
      await using executor = new Executor({ maxWorkers: 1 });
      kept = executor;
      expect(await executor.submit(fx.pow, 2, 3)).toBe(8);
    }
    await expect(kept!.submit(fx.pow, 1, 1)).rejects.toThrow(PoolClosedError);
  });

  test('bad shutdown options are ERR_INVALID_ARG', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    await expect(executor.shutdown({ wait: 'yes' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(executor.shutdown({ cancelFutures: 1 as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('Executor options', () => {
  test('maxTasksPerChild 3 with one worker: calls 1–3 share a thread, call 4 does not', async () => {
    const executor = makeExecutor({ maxWorkers: 1, maxTasksPerChild: 3 });
    const original = await executor.submit(fx.getpid);
    expect(await executor.submit(fx.getpid)).toBe(original);
    expect(await executor.submit(fx.getpid)).toBe(original);
    const replaced = await executor.submit(fx.getpid);
    expect(replaced).not.toBe(original);
  });

  test('the initializer runs in every worker before its calls', async () => {
    const executor = makeExecutor({ maxWorkers: 2, initializer: fx.init, initargs: ['initialized', 2] });
    const states = await Promise.all(range(12).map(() => executor.submit(fx.initialState).result()));
    expect(states).toEqual(range(12).map(() => ['initialized', 2]));
  });

  test('a failing initializer breaks the executor: calls fail with ERR_POOL_BROKEN carrying the cause', async () => {
    const executor = makeExecutor({ maxWorkers: 2, initializer: fx.failingInit });
    const futures = range(4).map((n) => executor.submit(fx.pow, n, 2));
    for (const future of futures) {
      const error = await future.exception();
      expect(error).toBeInstanceOf(PoolBrokenError);
      expect((error as PoolBrokenError).cause).toMatchObject({ message: 'initializer failed on purpose' });
    }
    await expect(executor.submit(fx.pow, 1, 1).exception()).resolves.toBeInstanceOf(PoolBrokenError);
  });

  test('maxWorkers < 1 and other bad options are ERR_INVALID_ARG', () => {
    expect(() => new Executor({ maxWorkers: 0 })).toThrow('Expected `maxWorkers` to be an integer from 1 to 1024, got `0` (number)');
    expect(() => new Executor({ maxWorkers: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new Executor({ maxTasksPerChild: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Executor({ initargs: 'x' as never })).toThrow(InvalidArgumentError);
    expect(() => new Executor(3 as never)).toThrow(InvalidArgumentError);
  });

  test('type tests: futures and map results are typed from the task', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    const future: Future<number> = executor.submit(fx.pow, 2, 2);
    // @ts-expect-error pow takes numbers
    const wrongType = (): unknown => executor.submit(fx.pow, 2, 'x');
    // @ts-expect-error pow takes two arguments
    const tooFew = (): unknown => executor.submit(fx.pow, 2);
    const pairs: AsyncIterableIterator<[number, number]> = executor.map(fx.divmod, [7], [2]);
    // @ts-expect-error the second iterable must hold numbers
    const wrongIterable = (): unknown => executor.map(fx.pow, [1], ['a']);
    const withOptions: AsyncIterableIterator<number> = executor.map(fx.pow, [1], [2], { chunksize: 2 });
    expect([typeof wrongType, typeof tooFew, typeof wrongIterable]).toEqual(['function', 'function', 'function']);
    expect(await future).toBe(4);
    expect(await collect(pairs)).toEqual([[3, 1]]);
    expect(await collect(withOptions)).toEqual([1]);
  });
});

describe('Executor: nothing left pending (issue 9)', () => {
  test('a map not read to the end, then shutdown(): shutdown resolves and the results stay readable', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    const results = executor.map(
      fx.pow,
      range(30),
      range(30).map(() => 2),
    );
    expect((await results.next()).value).toBe(0);
    await executor.shutdown();
    const rest: number[] = [];
    for await (const value of results) rest.push(value);
    expect(rest).toEqual(
      range(30)
        .slice(1)
        .map((x) => x * x),
    );
  });

  test('overlapping next() calls on Executor.map each get their own result, in order', async () => {
    const executor = makeExecutor({ maxWorkers: 2 });
    for (let round = 0; round < 10; round++) {
      const results = executor.map(
        fx.pow,
        range(8),
        range(8).map(() => 2),
        { chunksize: 3 },
      );
      const steps = await Promise.all(range(9).map(() => results.next()));
      expect(steps.map((step) => step.value)).toEqual([...range(8).map((x) => x * x), undefined]);
    }
  });

  test('submit and map after shutdown report ERR_POOL_CLOSED without throwing', async () => {
    const executor = makeExecutor({ maxWorkers: 1 });
    await executor.shutdown();
    let future: Future<number> | undefined;
    expect(() => {
      future = executor.submit(fx.pow, 2, 2);
    }).not.toThrow();
    await expect(future!.result()).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(executor.map(fx.pow, [1], [1]).next()).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(executor.shutdown({ wait: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });
});
