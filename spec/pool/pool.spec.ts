import * as path from 'node:path';
import { within } from '../helpers/within';
import { threadId } from 'node:worker_threads';
import {
  AsyncResult,
  CancelledError,
  InvalidArgumentError,
  Pool,
  PoolBrokenError,
  PoolClosedError,
  TaskNotFoundError,
  TimeoutError,
  UncloneableError,
  WorkerExitedError,
  task,
  tasks,
  transfer,
} from '../../lib';

const fixture = path.join(__dirname, '../fixtures', 'pool-tasks.ts');
const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sqr = (x: number): number => x * x;

function* throwingGenerator(total: number, when: number): Generator<number> {
  for (let i = 0; i < total; i++) {
    if (i === when) throw new Error(`SayWhenError at ${i}`);
    yield i;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('Pool (shared pool of 2 workers)', () => {
  const pool = new Pool({ workers: 2 });
  afterAll(async () => {
    pool.close();
    await pool.join();
  });

  it('map and starmap equal the serial result (CPython test_map, test_starmap)', async () => {
    expect(await pool.map(t.square, range(10))).toEqual(range(10).map(sqr));
    expect(await pool.map(t.square, range(100), { chunksize: 20 })).toEqual(range(100).map(sqr));
    const tuples = range(10).map((i) => [i, i + 1] as [number, number]);
    expect(await pool.starmap(t.add, tuples)).toEqual(tuples.map(([a, b]) => a + b));
    expect(await pool.starmap(t.add, tuples, { chunksize: 3 })).toEqual(tuples.map(([a, b]) => a + b));
  });

  it('handles empty input in map, imap and imapUnordered (CPython test_empty_iterable)', async () => {
    expect(await pool.map(t.square, [])).toEqual([]);
    expect(await pool.starmap(t.add, [])).toEqual([]);
    expect(await collect(pool.imap(t.square, []))).toEqual([]);
    expect(await collect(pool.imapUnordered(t.square, []))).toEqual([]);
  });

  it('imap over range(1000) with chunksize 1 and 100 is ordered (CPython test_imap)', async () => {
    expect(await collect(pool.imap(t.square, range(1000), { chunksize: 100 }))).toEqual(range(1000).map(sqr));
    expect(await collect(pool.imap(t.square, range(1000)))).toEqual(range(1000).map(sqr));
  });

  it('imapUnordered yields every result once (CPython test_imap_unordered)', async () => {
    const out = await collect(pool.imapUnordered(t.square, range(1000), { chunksize: 53 }));
    expect(out.sort((a, b) => a - b)).toEqual(range(1000).map(sqr));
  });

  it('takes sync iterables, async iterables and generators', async () => {
    async function* asyncRange(n: number): AsyncGenerator<number> {
      for (let i = 0; i < n; i++) yield i;
    }
    expect(await pool.map(t.square, new Set([1, 2, 3]))).toEqual([1, 4, 9]);
    expect(await pool.map(t.square, asyncRange(25))).toEqual(range(25).map(sqr));
    expect(await collect(pool.imap(t.square, asyncRange(25), { chunksize: 4 }))).toEqual(range(25).map(sqr));
    expect(
      await pool.starmap(
        t.add,
        (function* () {
          yield [1, 2] as [number, number];
        })(),
      ),
    ).toEqual([3]);
  });

  it('re-throws an input generator error as is: map rejects, imap yields 0, 1, 4 then throws (CPython)', async () => {
    await expect(pool.map(t.square, throwingGenerator(10, 3))).rejects.toThrow('SayWhenError at 3');
    const it = pool.imap(t.square, throwingGenerator(10, 3), { chunksize: 1 });
    expect((await it.next()).value).toBe(0);
    expect((await it.next()).value).toBe(1);
    expect((await it.next()).value).toBe(4);
    await expect(it.next()).rejects.toThrow('SayWhenError at 3');
    // chunksize 2: the partial chunk being read when the input threw is dropped, as in CPython.
    const it2 = pool.imap(t.square, throwingGenerator(20, 7), { chunksize: 2 });
    for (let i = 0; i < 6; i++) expect((await it2.next()).value).toBe(i * i);
    await expect(it2.next()).rejects.toThrow('SayWhenError at 7');
    // With the default (adaptive) chunksize every item read before the error is processed.
    const byDefault: number[] = [];
    await expect(
      (async () => {
        for await (const v of pool.imap(t.square, throwingGenerator(10, 3))) byDefault.push(v);
      })(),
    ).rejects.toThrow('SayWhenError at 3');
    expect(byDefault).toEqual([0, 1, 4]);
    const unordered = pool.imapUnordered(t.square, throwingGenerator(10, 3));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const v of unordered) seen.push(v);
      })(),
    ).rejects.toThrow('SayWhenError at 3');
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 4]);
  });

  it('imap yields results up to a failing task, then throws its error', async () => {
    const failing = pool.starmap(
      t.failAt,
      range(10).map((n) => [n, 6] as [number, number]),
      { chunksize: 4 },
    );
    await expect(failing).rejects.toThrow(RangeError);
    const ordered: number[] = [];
    const run = (async () => {
      for await (const v of pool.imap(
        (n: number) => {
          if (n === 6) throw new RangeError('bad item 6');
          return n * n;
        },
        range(10),
        { chunksize: 4 },
      ))
        ordered.push(v);
    })();
    await expect(run).rejects.toThrow('bad item 6');
    expect(ordered).toEqual([0, 1, 4, 9, 16, 25]);
  });

  it('apply, applyAsync, mapAsync and starmapAsync', async () => {
    expect(await pool.apply(t.add, [2, 3])).toBe(5);
    expect(await pool.apply(t.whoami)).not.toBe(threadId);
    const r = pool.applyAsync(t.add, [40, 2]);
    expect(r).toBeInstanceOf(AsyncResult);
    expect(await r.get()).toBe(42);
    expect(r.ready()).toBe(true);
    expect(r.successful()).toBe(true);
    expect(await r).toBe(42);
    expect(await pool.mapAsync(t.square, [1, 2, 3]).get()).toEqual([1, 4, 9]);
    expect(
      await pool
        .starmapAsync(t.add, [
          [1, 1],
          [2, 2],
        ])
        .get(),
    ).toEqual([2, 4]);
  });

  it('AsyncResult.get with a timeout rejects ERR_TIMEOUT and the call goes on (CPython test_async_timeout)', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const r = pool.applyAsync(t.waitForFlag, [flags]);
    await expect(r.get({ timeout: 20 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await expect(r.get({ timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    await r.wait({ timeout: 10 });
    expect(r.ready()).toBe(false);
    expect(() => r.successful()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    Atomics.store(flags, 0, 7);
    Atomics.notify(flags, 0);
    expect(await r.get({ timeout: 60_000 })).toBe(7);
  });

  it('runs exactly one callback, once (CPython test_async callbacks)', async () => {
    for (let i = 0; i < 20; i++) {
      const ok = jest.fn();
      const bad = jest.fn();
      await pool.applyAsync(t.square, [i], { callback: ok, errorCallback: bad }).wait();
      expect(ok).toHaveBeenCalledTimes(1);
      expect(ok).toHaveBeenCalledWith(i * i);
      expect(bad).not.toHaveBeenCalled();
      const ok2 = jest.fn();
      const bad2 = jest.fn();
      const failing = pool.applyAsync(t.fail, ['no'], { callback: ok2, errorCallback: bad2 });
      await failing.wait();
      expect(failing.successful()).toBe(false);
      expect(ok2).not.toHaveBeenCalled();
      expect(bad2).toHaveBeenCalledTimes(1);
      expect(bad2.mock.calls[0][0]).toBeInstanceOf(TypeError);
    }
    const mapOk = jest.fn();
    await pool.mapAsync(t.square, [1, 2], { callback: mapOk }).wait();
    expect(mapOk).toHaveBeenCalledWith([1, 4]);
  });

  it('an unobserved failing applyAsync is not an unhandled rejection', async () => {
    const r = pool.applyAsync(t.fail, ['nobody listens']);
    await r.wait();
    expect(r.successful()).toBe(false);
  });

  it('rebuilds task errors with class, message, code, own properties and the worker stack', async () => {
    const typeError = await pool.apply(t.fail, ['boom']).catch((e: unknown) => e);
    expect(typeError).toBeInstanceOf(TypeError);
    expect((typeError as Error).message).toBe('boom');
    expect((typeError as Error).stack).toContain('pool-tasks.ts');
    const coded = await pool.apply(t.failWithCode, ['bad thing', 'E_BAD', { nested: [1, 2n] }]).catch((e: unknown) => e);
    expect(coded).toBeInstanceOf(Error);
    expect(coded).toMatchObject({ message: 'bad thing', code: 'E_BAD', extra: { nested: [1, 2n] } });
    const thrown = await pool
      .apply(() => {
        throw { plain: 'object' };
      })
      .catch((e: unknown) => e);
    expect(thrown).toEqual({ plain: 'object' });
  });

  it('carries a 1 MiB error message intact (CPython test_pool_worker_lifetime_early_close / large errors)', async () => {
    const size = 1 << 20;
    const error = (await pool.apply(t.bigMessageError, [size]).catch((e: unknown) => e)) as Error;
    expect(error.message.length).toBe(size);
    expect(error.message).toBe('x'.repeat(size));
  });

  it('runs inline self-contained functions, and names captured variables', async () => {
    expect(await pool.map((x: number) => x + 1, [1, 2])).toEqual([2, 3]);
    expect(
      await pool.apply(
        function area(r: number) {
          return Math.round(Math.PI * r * r);
        },
        [10],
      ),
    ).toBe(314);
    expect(await pool.apply(async (a: number, b: number) => a * b, [6, 7])).toBe(42);
    const factor = 3;
    await expect(pool.map((x: number) => x * factor, [1])).rejects.toThrow(UncloneableError);
    await expect(pool.map((x: number) => x * factor, [1])).rejects.toThrow(/`factor`/);
    await expect(pool.map((x: number) => x * factor, [1])).rejects.toThrow(/task module/);
    await expect(pool.apply(Math.max as (...n: number[]) => number, [1, 2])).rejects.toThrow(InvalidArgumentError);
  });

  it('reports an uncloneable argument with its path before sending (ERR_UNCLONEABLE)', async () => {
    await expect(pool.apply(t.identity, [{ a: 1, cb: () => 1 }] as never)).rejects.toThrow('args[0].cb is a function');
    await expect(pool.map(t.identity, [1, 2, { nested: [Symbol('s')] }] as never)).rejects.toThrow('items[2].nested[0] is a symbol');
    await expect(pool.map(t.identity, [1, new WeakMap()] as never)).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
  });

  it('moves transferred buffers instead of copying them, both ways', async () => {
    const buffer = new ArrayBuffer(1024);
    expect(await pool.apply(t.byteLength, [transfer(buffer)])).toBe(1024);
    expect(buffer.byteLength).toBe(0);
    const copied = new ArrayBuffer(16);
    expect(await pool.apply(t.byteLength, [copied])).toBe(16);
    expect(copied.byteLength).toBe(16);
    const made = await pool.apply(t.makeTransferred, [32]);
    expect(made).toBeInstanceOf(ArrayBuffer);
    expect(made.byteLength).toBe(32);
    expect(new Uint8Array(made)[31]).toBe(31);
  });

  it('fails ERR_TASK_NOT_FOUND for a missing file or export, naming both', async () => {
    expect(() => tasks(path.join(__dirname, '../fixtures', 'no-such-module'))).toThrow(TaskNotFoundError);
    expect(() => task(path.join(__dirname, '../fixtures', 'missing.ts'), 'x')).toThrow(/missing\.ts/);
    const missing = task<() => void>(fixture, 'doesNotExist');
    const error = await pool.apply(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as Error).message).toContain('pool-tasks.ts');
    expect((error as Error).message).toContain('doesNotExist');
    await expect(pool.apply(task<() => void>(fixture, 'notAFunction'))).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
  });

  it('validates arguments with ERR_INVALID_ARG', async () => {
    await expect(pool.map(t.square, [1], { chunksize: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(pool.map(t.square, [1], { chunksize: 1.5 })).rejects.toThrow(/chunksize/);
    await expect(pool.map(t.square, 5 as never)).rejects.toThrow(/Iterable/);
    await expect(pool.map('square' as never, [1])).rejects.toThrow(InvalidArgumentError);
    await expect(pool.apply(t.add, 'nope' as never)).rejects.toThrow(/args/);
    await expect(pool.map(t.square, [1], { timeout: NaN })).rejects.toThrow(/timeout/);
    await expect(pool.map(t.square, [1], { signal: {} as never })).rejects.toThrow(/AbortSignal/);
    await expect(pool.applyAsync(t.square, [1], { callback: 3 as never }).get()).rejects.toThrow(/callback/);
    await expect(pool.imap(t.square, [1], { chunksize: -2 }).next()).rejects.toThrow(/chunksize/);
    expect(() => new Pool({ workers: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Pool({ maxTasksPerChild: 0 })).toThrow(/maxTasksPerChild/);
    expect(() => new Pool({ initargs: 3 as never })).toThrow(/initargs/);
    expect(() => new Pool('x' as never)).toThrow(/options/);
  });

  it('reports progress per chunk', async () => {
    const progress: Array<[number, number | undefined]> = [];
    await pool.map(t.square, range(100), { chunksize: 10, onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toHaveLength(10);
    expect(progress.at(-1)).toEqual([100, 100]);
    expect(progress.map(([done]) => done)).toEqual(range(10).map((i) => (i + 1) * 10));
  });

  it('imap reads an infinite generator lazily with bounded read-ahead', async () => {
    let produced = 0;
    function* naturals(): Generator<number> {
      for (;;) yield produced++;
    }
    const results: number[] = [];
    for await (const value of pool.imap(t.square, naturals(), { chunksize: 5 })) {
      results.push(value);
      if (results.length === 200) break;
    }
    expect(results).toEqual(range(200).map(sqr));
    // Read-ahead is bounded by workers × 4 chunks beyond what was consumed.
    expect(produced).toBeLessThanOrEqual(200 + 2 * 4 * 5 + 5);
  });

  it('imap never loses or repeats a result when chunks complete while the consumer waits (200 rounds)', async () => {
    for (let round = 0; round < 200; round++) {
      expect(await collect(pool.imap(t.square, range(10), { chunksize: 1 }))).toEqual(range(10).map(sqr));
      expect(await collect(pool.imap(t.square, range(10)))).toEqual(range(10).map(sqr));
    }
  });

  it('is reliable under repetition: 20 rounds of concurrent maps, imaps and applies', async () => {
    for (let round = 0; round < 20; round++) {
      const [a, b, c, d] = await Promise.all([
        pool.map(t.square, range(200), { chunksize: 7 }),
        collect(pool.imap(t.square, range(100), { chunksize: 3 })),
        Promise.all(range(20).map((i) => pool.apply(t.add, [i, round]))),
        collect(pool.imapUnordered(t.square, range(50))),
      ]);
      expect(a).toEqual(range(200).map(sqr));
      expect(b).toEqual(range(100).map(sqr));
      expect(c).toEqual(range(20).map((i) => i + round));
      expect(d.sort((x, y) => x - y)).toEqual(range(50).map(sqr));
    }
  });
});

describe('Pool failures and lifecycle', () => {
  it('a worker that exits rejects only its own task with ERR_WORKER_EXITED and is replaced', async () => {
    await using pool = new Pool({ workers: 2 });
    for (let round = 0; round < 2; round++) {
      const [exited, crashed, fine] = await Promise.allSettled([
        pool.apply(t.exitWith, [3]),
        pool.apply(t.crashLater),
        pool.map(t.square, range(50), { chunksize: 5 }),
      ]);
      expect(exited.status).toBe('rejected');
      expect((exited as PromiseRejectedResult).reason).toBeInstanceOf(WorkerExitedError);
      expect((exited as PromiseRejectedResult).reason.exitCode).toBe(3);
      expect((crashed as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 1 });
      expect((fine as PromiseFulfilledResult<number[]>).value).toEqual(range(50).map(sqr));
    }
    expect(await pool.apply(t.add, [1, 2])).toBe(3);
  });

  it('a worker out of memory under resourceLimits fails its task with ERR_WORKER_EXITED', async () => {
    await using pool = new Pool({ workers: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    const hog = (): number => {
      const keep: number[][] = [];
      for (;;) keep.push(new Array(1e5).fill(keep.length));
    };
    await expect(pool.apply(hog)).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect(await pool.apply(t.add, [2, 2])).toBe(4);
  });

  it.each([{}, { maxTasksPerChild: 2 }])(
    'workers that cannot even boot under resourceLimits fail the task, never leave it waiting (%j)',
    async (extra) => {
      // A heap of 1 MiB is too small for a worker to start: each one dies while it boots.
      await using pool = new Pool({ workers: 2, resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 }, ...extra });
      await expect(within(pool.apply(t.add, [1, 2]), 15_000, 'the apply')).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED' });
    },
  );

  it('runs the initializer in every worker before its first task (CPython test_initializer)', async () => {
    await using pool = new Pool({ workers: 2, initializer: t.init, initargs: ['ready', 42] });
    const states = await Promise.all(range(20).map(() => pool.apply(t.initialState)));
    for (const state of states) expect(state).toEqual(['ready', 42]);
  });

  it('a failing initializer breaks the pool: pending and later calls reject ERR_POOL_BROKEN, never hang', async () => {
    for (let round = 0; round < 2; round++) {
      const pool = new Pool({ workers: 2, initializer: t.failingInit });
      const results = await Promise.allSettled([
        pool.apply(t.add, [1, 2]),
        pool.map(t.square, range(10)),
        collect(pool.imap(t.square, range(10))),
      ]);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const reason = (result as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(PoolBrokenError);
        expect(reason.cause).toMatchObject({ message: 'init failed on purpose' });
      }
      await expect(pool.apply(t.add, [1, 2])).rejects.toBeInstanceOf(PoolBrokenError);
      await pool.terminate();
    }
  });

  it('maxTasksPerChild replaces workers and fails nothing (CPython test_pool_worker_lifetime)', async () => {
    const plain = tasks<{ whoami(): number; square(n: number): number; add(a: number, b: number): number }>(
      path.join(__dirname, '../fixtures', 'pool-plain-tasks.mjs'),
    );
    await using pool = new Pool({ workers: 1, maxTasksPerChild: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(await pool.apply(plain.whoami));
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    expect(ids[3]).not.toBe(ids[2]);
    expect(ids[3]).toBe(ids[5]);
    expect(ids[6]).not.toBe(ids[5]);
    // Concurrent tasks across recycling workers: every one succeeds.
    const [squares, sums] = await Promise.all([
      pool.map(plain.square, range(4), { chunksize: 1 }),
      Promise.all(range(2).map((i) => pool.apply(plain.add, [i, 1]))),
    ]);
    expect(squares).toEqual(range(4).map(sqr));
    expect(sums).toEqual([1, 2]);
  });

  it('close() refuses new work with ERR_POOL_CLOSED; join() waits for accepted work', async () => {
    const pool = new Pool({ workers: 2 });
    await expect(pool.join()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    const running = pool.map(t.slowSquare, range(10));
    pool.close();
    await expect(pool.map(t.square, [1])).rejects.toThrow(PoolClosedError);
    await expect(pool.apply(t.square, [1])).rejects.toThrow(PoolClosedError);
    await expect(pool.imap(t.square, [1]).next()).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(pool.applyAsync(t.square, [1]).get()).rejects.toThrow(PoolClosedError);
    await pool.join();
    expect(await running).toEqual(range(10).map(sqr));
  });

  it('terminate() with 10,000 long tasks queued rejects them ERR_CANCELLED and returns', async () => {
    const pool = new Pool({ workers: 2 });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const calls = range(10_000).map(() => pool.apply(t.waitForFlag, [flags]));
    const mapped = pool.map(
      t.waitForFlag,
      range(100).map(() => flags),
      { chunksize: 1 },
    );
    const settling = Promise.allSettled([...calls, mapped]);
    await pool.terminate();
    const settled = await settling;
    for (const result of settled) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(CancelledError);
    }
    await expect(pool.apply(t.square, [1])).rejects.toThrow(PoolClosedError);
    await pool.join();
  });

  it('an AbortSignal cancels queued and running work of that call (ERR_CANCELLED), and the pool goes on', async () => {
    await using pool = new Pool({ workers: 2 });
    for (let round = 0; round < 2; round++) {
      const flags = new Int32Array(new SharedArrayBuffer(4));
      const controller = new AbortController();
      const mapped = pool.map(
        t.waitForFlag,
        range(20).map(() => flags),
        { chunksize: 1, signal: controller.signal },
      );
      const applied = pool.apply(t.waitForFlag, [flags], { signal: controller.signal });
      setTimeout(() => controller.abort(), 5);
      await expect(mapped).rejects.toBeInstanceOf(CancelledError);
      await expect(applied).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
      expect(await pool.map(t.square, [1, 2, 3])).toEqual([1, 4, 9]);
    }
    const aborted = AbortSignal.abort();
    await expect(pool.map(t.square, [1], { signal: aborted })).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  });

  it('a timeout stops the call with ERR_TIMEOUT', async () => {
    await using pool = new Pool({ workers: 1 });
    const flags = new Int32Array(new SharedArrayBuffer(4));
    await expect(pool.map(t.waitForFlag, [flags, flags], { timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
    const it = pool.imap(t.waitForFlag, [flags], { timeout: 10 });
    await expect(it.next()).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await expect(pool.apply(t.waitForFlag, [flags], { timeout: 10 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(await pool.apply(t.add, [1, 2])).toBe(3);
  });

  it('a task error stops the map: later chunks are not started', async () => {
    await using pool = new Pool({ workers: 1 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const work = (counter: Int32Array, n: number): number => {
      Atomics.add(counter, 0, 1);
      if (n === 2) throw new Error('stop here');
      return n;
    };
    await expect(
      pool.starmap(
        work,
        range(50).map((n) => [started, n] as [Int32Array, number]),
        { chunksize: 1 },
      ),
    ).rejects.toThrow('stop here');
    await pool.apply(t.add, [0, 0]);
    expect(Atomics.load(started, 0)).toBe(3);
  });

  it('with idleTimeout, idle workers stop and new ones start on demand', async () => {
    await using pool = new Pool({ workers: 1, idleTimeout: 10 });
    const first = await pool.apply(t.whoami);
    let next = first;
    // Each pause outlasts the idle timeout; the loop ends as soon as a new worker answered.
    while (next === first) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await pool.apply(t.whoami);
    }
    expect(next).not.toBe(first);
    expect(await pool.map(t.square, [1, 2, 3])).toEqual([1, 4, 9]);
  });

  it('Symbol.asyncDispose closes and joins', async () => {
    let disposed: Pool;
    {
      await using pool = new Pool({ workers: 1 });
      disposed = pool;
      expect(await pool.apply(t.add, [1, 1])).toBe(2);
    }
    await expect(disposed.apply(t.add, [1, 1])).rejects.toThrow(PoolClosedError);
  });
});
