/**
 * Issue 9's classes of failure on the Pool: work left pending, concurrent
 * readers, terminate during input, failing maps, initializers, §8 reporting,
 * validation, hostile errors and uncloneable results.
 */
import * as path from 'node:path';
import { CancelledError, defaultChunksize, Pool, tasks } from '../../lib';
import { within } from '../helpers/within';
import { runTsScript } from '../helpers/worker';

const fixture = path.join(__dirname, '../fixtures', 'pool-tasks.ts');
const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('Pool: nothing left pending, nothing lost (shared pool of 2 workers)', () => {
  const pool = new Pool({ workers: 2 });
  afterAll(async () => {
    pool.close();
    await pool.join();
  });

  it('overlapping next() calls on imap and imapUnordered each get their own result, in order', async () => {
    for (let round = 0; round < 5; round++) {
      const ordered = pool.imap(t.square, range(10), { chunksize: 3 });
      const calls = range(12).map(() => ordered.next());
      const steps = await Promise.all(calls);
      expect(steps.map((step) => step.value)).toEqual([...range(10).map((x) => x * x), undefined, undefined]);
      expect(steps.map((step) => step.done)).toEqual([...range(10).map(() => false), true, true]);
      const unordered = pool.imapUnordered(t.square, range(10));
      const values = (await Promise.all(range(10).map(() => unordered.next()))).map((step) => step.value as number);
      expect(values.sort((a, b) => a - b)).toEqual(range(10).map((x) => x * x));
      expect((await unordered.next()).done).toBe(true);
    }
  });

  it('a starmap tuple that is not an array rejects ERR_INVALID_ARG in the caller, naming tuples[i]', async () => {
    await expect(pool.starmap(t.add, [[1, 2], 3] as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringContaining('`tuples[1]`'),
    });
  });

  it('11+ calls sharing one AbortSignal print no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const calls = range(30).map((i) => pool.apply(t.add, [i, 1], { signal: controller.signal }));
      const maps = range(12).map(() => pool.map(t.square, [1, 2], { signal: controller.signal }));
      expect(await Promise.all(calls)).toEqual(range(30).map((i) => i + 1));
      await Promise.all(maps);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a task that throws a hostile value rejects with an error that says so; the worker lives', async () => {
    const before = await pool.apply(t.whoami);
    for (const kind of ['getter', 'symbol-name', 'revoked-proxy'] as const) {
      const error = await pool.apply(t.throwsHostile, [kind]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect((error as { code?: string }).code).not.toBe('ERR_WORKER_EXITED');
      expect(typeof (error as Error).message).toBe('string');
    }
    const revoked = await pool.apply(t.throwsHostile, ['revoked-proxy']).catch((caught: unknown) => caught);
    expect((revoked as Error).message).toMatch(/Proxy/);
    const ids = new Set(await Promise.all(range(4).map(() => pool.apply(t.whoami))));
    expect(ids.has(before)).toBe(true);
  });

  it('a result that is a Proxy rejects ERR_UNCLONEABLE and the worker lives', async () => {
    await expect(pool.apply(t.returnsProxy, [false])).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE', message: /result is a Proxy/ });
    await expect(pool.apply(t.returnsProxy, [true])).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE', message: /result\.nested\[0\]/ });
    await expect(pool.map(t.returnsProxy, [false, false])).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
    expect(await pool.map(t.square, range(5))).toEqual(range(5).map((x) => x * x));
  });

  it('a Proxy argument rejects ERR_UNCLONEABLE with its path, before anything is sent', async () => {
    await expect(pool.apply(t.identity, [{ a: new Proxy({}, {}) }])).rejects.toMatchObject({
      code: 'ERR_UNCLONEABLE',
      message: /args\[0\]\.a is a Proxy/,
    });
    await expect(pool.map(t.identity, [1, new Proxy({}, {})])).rejects.toMatchObject({ message: /items\[1\] is a Proxy/ });
  });
});

describe('Pool: lifecycle failures', () => {
  test('calls that terminate() rejects do not crash the process when awaited late or never (a plain node process)', () => {
    const run = (...args: string[]) => runTsScript(path.join(__dirname, '../fixtures/pool-terminate-unawaited.ts'), args);
    const quiet = run();
    // One comparison, so that a failure also shows how the process ended (a signal: killed at the time bound).
    expect({ stdout: quiet.stdout, stderr: quiet.stderr, status: quiet.status, signal: quiet.signal }).toEqual({
      stdout: 'ERR_CANCELLED ERR_CANCELLED\n',
      stderr: '',
      status: 0,
      signal: null,
    });
    // The control: a task error nobody awaits is still an unhandled rejection.
    const control = run('control');
    expect(control.status).not.toBe(0);
    expect(control.stderr).toContain('nobody awaits this');
  });

  it('an imap not read to the end, then close() + join(): join resolves (the accepted work runs) and results stay readable', async () => {
    const pool = new Pool({ workers: 2 });
    const iterator = pool.imap(t.slowSquare, range(40), { chunksize: 1 });
    expect((await iterator.next()).value).toBe(0);
    pool.close();
    await within(pool.join(), 15_000, 'join()');
    const rest: number[] = [];
    for await (const value of iterator) rest.push(value);
    expect(rest).toEqual(
      range(40)
        .slice(1)
        .map((x) => x * x),
    );
  });

  it('a failing task lets the other running chunks finish, join() waits for them, and unstarted chunks never start', async () => {
    const pool = new Pool({ workers: 2 });
    // [0]: chunks started, [1]: release flag, [2]: chunks finished.
    const state = new Int32Array(new SharedArrayBuffer(12));
    const work = (shared: Int32Array, n: number): number => {
      if (n === 0) {
        Atomics.wait(shared, 0, 0);
        throw new Error('the first item fails');
      }
      Atomics.add(shared, 0, 1);
      Atomics.notify(shared, 0);
      Atomics.wait(shared, 1, 0);
      Atomics.add(shared, 2, 1);
      return n;
    };
    const mapped = pool.starmap(
      work,
      range(20).map((n) => [state, n] as [Int32Array, number]),
      { chunksize: 1 },
    );
    await expect(mapped).rejects.toThrow('the first item fails');
    pool.close();
    const joined = pool.join();
    let joinedEarly = false;
    void joined.then(() => {
      joinedEarly = Atomics.load(state, 2) === 0;
    });
    Atomics.store(state, 1, 1);
    Atomics.notify(state, 1);
    await joined;
    expect(joinedEarly).toBe(false);
    expect(Atomics.load(state, 2)).toBe(1);
    expect(Atomics.load(state, 0)).toBe(1);
  });

  it('terminate() while a map reads its async input: the map rejects ERR_CANCELLED and the input is closed', async () => {
    const pool = new Pool({ workers: 1 });
    // Each input counts what it produced and whether it was closed.
    const slowInput = () => {
      const state = { produced: 0, closed: false };
      async function* items(): AsyncGenerator<number> {
        try {
          for (;;) {
            await new Promise((resolve) => setTimeout(resolve, 1));
            yield state.produced++;
          }
        } finally {
          state.closed = true;
        }
      }
      return { state, items: items() };
    };
    const forMap = slowInput();
    const forImap = slowInput();
    const mapped = pool.map(t.square, forMap.items);
    const iterated = pool.imap(t.square, forImap.items);
    // The imap reads ahead while nobody consumes: wait until both inputs are being read.
    while (forMap.state.produced < 3 || forImap.state.produced < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    await pool.terminate();
    await expect(mapped).rejects.toBeInstanceOf(CancelledError);
    await expect(
      (async () => {
        for await (const _value of iterated);
      })(),
    ).rejects.toBeInstanceOf(CancelledError);
    const stoppedAt = [forMap.state.produced, forImap.state.produced];
    // Closed: an async generator busy in its own await when return() comes may still yield once.
    for (const input of [forMap, forImap]) {
      while (!input.state.closed) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(forMap.state.produced).toBeLessThanOrEqual((stoppedAt[0] ?? 0) + 1);
    expect(forImap.state.produced).toBeLessThanOrEqual((stoppedAt[1] ?? 0) + 1);
    await pool.join();
  });

  it('the initializer runs in every worker at start: Pool(2, initializer) then close/join → 2 runs', async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const pool = new Pool({ workers: 2, initializer: t.countInit, initargs: [counter] });
    pool.close();
    await pool.join();
    expect(Atomics.load(counter, 0)).toBe(2);
  });

  it('join() before close() rejects ERR_INVALID_STATE (never a synchronous throw)', async () => {
    const pool = new Pool({ workers: 1 });
    let joined: Promise<void> | undefined;
    expect(() => {
      joined = pool.join();
    }).not.toThrow();
    await expect(joined).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await pool.terminate();
  });

  it('every promise-returning call rejects (never throws) after close(); iterators report it from next()', async () => {
    const pool = new Pool({ workers: 1 });
    pool.close();
    const calls: Array<() => PromiseLike<unknown>> = [
      () => pool.map(t.square, [1]),
      () => pool.starmap(t.add, [[1, 2]]),
      () => pool.apply(t.square, [1]),
      () => pool.applyAsync(t.square, [1]),
      () => pool.mapAsync(t.square, [1]),
      () => pool.starmapAsync(t.add, [[1, 2]]),
      () => pool.imap(t.square, [1]).next(),
      () => pool.imapUnordered(t.square, [1]).next(),
    ];
    for (const call of calls) {
      let result: PromiseLike<unknown> | undefined;
      expect(() => {
        result = call();
      }).not.toThrow();
      await expect(Promise.resolve(result)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    }
    await pool.join();
  });
});

describe('Pool: validation', () => {
  it('resourceLimits: each field a positive number (-1 must not make every task die)', () => {
    expect(() => new Pool({ workers: 1, resourceLimits: { maxOldGenerationSizeMb: -1 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('resourceLimits.maxOldGenerationSizeMb') }),
    );
    expect(() => new Pool({ workers: 1, resourceLimits: { stackSizeMb: Number.NaN } })).toThrow(/stackSizeMb/);
    expect(() => new Pool({ workers: 1, resourceLimits: { heap: 4 } as never })).toThrow(/resourceLimits\.heap/);
  });

  it('defaultChunksize: NaN, negative or fractional counts are ERR_INVALID_ARG', () => {
    expect(defaultChunksize(100, 4)).toBe(7);
    expect(defaultChunksize(0, 4)).toBe(1);
    for (const bad of [Number.NaN, -1, 1.5, Infinity]) {
      expect(() => defaultChunksize(bad, 4)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
      expect(() => defaultChunksize(10, bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
    expect(() => defaultChunksize(10, 0)).toThrow(/workers/);
  });
});
