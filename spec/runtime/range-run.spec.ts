import * as path from 'node:path';
import { CancelledError, Pool, TimeoutError, tasks, WorkerExitedError } from '../../lib';
import { encodeError } from '../../lib/codec/error-codec';
import type { JobEntry } from '../../lib/runtime/dispatch';
import { mapCall } from '../../lib/runtime/map-call';
import { CallKind, type RangeJob, RangeResults, RangeWord } from '../../lib/runtime/protocol';
import { rangeSize } from '../../lib/runtime/range-run';
import * as local from '../fixtures/range-tasks';
import { FakeDispatcher } from './fake-dispatcher';
import { within } from '../helpers/within';

const fixture = path.join(__dirname, '../fixtures', 'range-tasks.ts');
const t = tasks<typeof import('../fixtures/range-tasks')>(fixture);
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

class SelfSchedulingDispatcher extends FakeDispatcher {
  readonly selfScheduling = true;
}

/** A map through mapCall on `dispatcher`; `settled` counts onSettled. */
function startMap(dispatcher: FakeDispatcher, items: unknown[], chunksize?: number) {
  const state = { settled: 0, value: undefined as unknown[] | undefined, error: undefined as unknown };
  const promise = mapCall({
    dispatcher,
    spec: { file: '', name: '(x) => x' },
    kind: CallKind.Map,
    items,
    rootName: 'items',
    chunksize,
    signal: undefined,
    onProgress: undefined,
    onSettled: () => state.settled++,
  }).then(
    (value) => (state.value = value),
    (error: unknown) => (state.error = error),
  );
  return { state, promise };
}

/** Does what a worker's range job does (lib/entry/pool-worker.ts): claims every range left and answers. */
function work(dispatcher: FakeDispatcher, entry: JobEntry, fn: (n: number) => unknown): void {
  const { request } = entry.job;
  const job = request.ranges as RangeJob;
  const input = (request.input as { packed: Int32Array | Float64Array }).packed;
  dispatcher.start(entry);
  for (;;) {
    const from = Atomics.add(job.control, RangeWord.Next, job.size);
    if (from >= input.length) break;
    const to = Math.min(input.length, from + job.size);
    for (let i = from; i < to; i++) job.output[i] = fn(input[i]!) as number;
    Atomics.store(job.kinds, from / job.size, RangeResults.Numbers);
    Atomics.add(job.control, RangeWord.Done, to - from);
  }
  entry.state = 'done';
  entry.job.onResponse({ result: undefined, shared: false });
}

describe('self-scheduled map (against a fake dispatcher)', () => {
  it('a packed map without a chunksize is one range job per worker; a given chunksize, a small input or a dispatcher without it keeps chunks', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    startMap(dispatcher, range(1000));
    expect(dispatcher.entries).toHaveLength(2);
    for (const entry of dispatcher.entries) {
      expect(entry.job.request.ranges?.size).toBe(rangeSize(1000, 2));
      expect(entry.job.request.input).toMatchObject({ kind: 'packed' });
    }

    const chunked = new SelfSchedulingDispatcher(2);
    startMap(chunked, range(1000), 100);
    expect(chunked.entries.length).toBeGreaterThan(2);
    expect(chunked.entries.every((entry) => entry.job.request.ranges === undefined)).toBe(true);

    const small = new SelfSchedulingDispatcher(2);
    startMap(small, range(10));
    expect(small.entries.every((entry) => entry.job.request.ranges === undefined)).toBe(true);

    const plain = new FakeDispatcher(2);
    startMap(plain, range(1000));
    expect(plain.entries.every((entry) => entry.job.request.ranges === undefined)).toBe(true);

    const objects = new SelfSchedulingDispatcher(2);
    startMap(
      objects,
      range(1000).map((n) => ({ n })),
    );
    expect(objects.entries.every((entry) => entry.job.request.ranges === undefined)).toBe(true);
  });

  it('one job that claims every range ends the map: the job still queued is withdrawn, never waited for', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    const { state, promise } = startMap(dispatcher, range(1000));
    const [first, second] = dispatcher.entries as [JobEntry, JobEntry];
    work(dispatcher, first, (n) => n * 3);
    await promise;
    expect(second.state).toBe('cancelled');
    expect(state.value).toEqual(range(1000).map((n) => n * 3));
    expect(state.settled).toBe(1);
  });

  it('a dispatcher that answers inside submit: the map resolves with every result, before its other job is submitted', async () => {
    class AnsweringDispatcher extends SelfSchedulingDispatcher {
      override submit(job: Parameters<FakeDispatcher['submit']>[0]): JobEntry {
        const entry = super.submit(job);
        work(this, entry, (n) => n + 1);
        return entry;
      }
    }
    const dispatcher = new AnsweringDispatcher(2);
    const { state, promise } = startMap(dispatcher, range(1000));
    await promise;
    expect(state.value).toEqual(range(1000).map((n) => n + 1));
    expect(dispatcher.entries).toHaveLength(1);
    expect(state.settled).toBe(1);
  });

  it('each map resolves with an array of its own, which a later map on the same dispatcher leaves untouched (5 rounds)', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    const seen: unknown[][] = [];
    for (let round = 0; round < 5; round++) {
      const { state, promise } = startMap(dispatcher, range(500));
      const [first] = dispatcher.entries.slice(-2) as [JobEntry, JobEntry];
      work(dispatcher, first, (n) => n * round);
      await promise;
      seen.push(state.value!);
    }
    for (let round = 0; round < 5; round++) {
      expect(seen[round]).toEqual(range(500).map((n) => n * round));
      for (let other = 0; other < round; other++) expect(seen[round]).not.toBe(seen[other]);
    }
  });

  it('two failing jobs: the error of the lower index wins, and the map settles only when both ended', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    const { state, promise } = startMap(dispatcher, range(1000));
    const [first, second] = dispatcher.entries as [JobEntry, JobEntry];
    dispatcher.start(first);
    dispatcher.start(second);
    const control = first.job.request.ranges!.control;
    Atomics.store(control, RangeWord.Failed, 100);
    first.state = 'done';
    first.job.onResponse({ result: undefined, shared: false, error: encodeError(new Error('at 500')).error, failedAt: 500 });
    await Promise.resolve();
    expect(state.error).toBeUndefined();
    second.state = 'done';
    second.job.onResponse({ result: undefined, shared: false, error: encodeError(new Error('at 100')).error, failedAt: 100 });
    await promise;
    expect(state.error).toMatchObject({ message: 'at 100' });
    expect(state.settled).toBe(1);
  });

  it('an error that no lower index can undercut rejects at once, without waiting for a slow item elsewhere', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    const { state, promise } = startMap(dispatcher, range(1000));
    const [first, second] = dispatcher.entries as [JobEntry, JobEntry];
    dispatcher.start(first);
    dispatcher.start(second);
    const { control, kinds, size } = first.job.request.ranges!;
    // The first job finished ranges 0 and 1, then failed in range 2; the second is still in range 3.
    Atomics.store(kinds, 0, RangeResults.Numbers);
    Atomics.store(kinds, 1, RangeResults.Message);
    Atomics.store(control, RangeWord.Failed, 2 * size + 1);
    first.state = 'done';
    first.job.onResponse({
      result: [[size, range(size)]],
      shared: false,
      error: encodeError(new Error('in range 2')).error,
      failedAt: 2 * size + 1,
    });
    await promise;
    expect(state.error).toMatchObject({ message: 'in range 2' });
    expect(Atomics.load(control, RangeWord.Stop)).toBe(1);
    expect(state.settled).toBe(0);
    second.state = 'done';
    second.job.onResponse({ result: undefined, shared: false });
    expect(state.settled).toBe(1);
  });

  it('a dead worker fails the map at once and stops the other job, which it still waits for before it settles', async () => {
    const dispatcher = new SelfSchedulingDispatcher(2);
    const { state, promise } = startMap(dispatcher, range(1000));
    const [first, second] = dispatcher.entries as [JobEntry, JobEntry];
    dispatcher.start(first);
    dispatcher.start(second);
    const died = new WorkerExitedError('gone', { exitCode: 7 });
    dispatcher.fail(first, died);
    await promise;
    expect(state.error).toBe(died);
    expect(Atomics.load(second.job.request.ranges!.control, RangeWord.Stop)).toBe(1);
    expect(state.settled).toBe(0);
    second.state = 'done';
    second.job.onResponse({ result: undefined, shared: false });
    expect(state.settled).toBe(1);
  });
});

describe('self-scheduled map (a pool of 2 workers)', () => {
  const pool = new Pool({ workers: 2 });
  afterAll(async () => {
    pool.close();
    await pool.join();
  });

  it('gives exact results in input order over items of uneven cost (10 rounds)', async () => {
    const input = range(20_000, 1_000_000);
    const expected = input.map(local.uneven);
    for (let round = 0; round < 10; round++) expect(await pool.map(t.uneven, input)).toEqual(expected);
    const primes = await pool.map(t.isPrime, range(100_000, 1_000_000));
    expect(primes.filter(Boolean)).toHaveLength(7216);
    expect(primes[3]).toBe(true);
  });

  it('floats, -0 and NaN in; async tasks; one range per item at the smallest sizes', async () => {
    const floats = [...range(200).map((n) => n / 4), -0, Number.NaN, -1.5e300];
    expect(await pool.map(t.asyncDouble, floats)).toEqual(floats.map((n) => n * 2));
    expect(Object.is((await pool.map(t.asyncDouble, floats))[200], -0)).toBe(true);
    for (const length of [64, 65, 127, 129, 1000])
      expect(await pool.map(t.asyncDouble, range(length))).toEqual(range(length).map((n) => n * 2));
  });

  it("a task that returns a promise for some items only; a rejected promise is that item's error", async () => {
    expect(await pool.map(t.sometimesAsync, range(3000))).toEqual(range(3000).map((n) => n * 3));
    const input = range(3000);
    input[1500] = -1;
    input[2999] = -2;
    await expect(pool.map(t.sometimesAsync, input)).rejects.toMatchObject({ name: 'RangeError', message: 'bad item -1' });
  });

  it('maps one after another reuse output memory and never see a value of the map before (20 rounds, sizes and kinds alternating)', async () => {
    for (let round = 0; round < 20; round++) {
      const length = [1000, 700, 4000][round % 3]!;
      const input = range(length, 1_000_000 + round);
      if (round % 2 === 0) expect(await pool.map(t.isPrime, input)).toEqual(input.map(local.isPrime));
      else expect(await pool.map(t.uneven, input)).toEqual(input.map(local.uneven));
      expect(await pool.map(t.kinds, input)).toEqual(input.map(local.kinds));
    }
  });

  it('a result that is neither a number nor a boolean travels as a message, for that range only', async () => {
    const input = range(2000);
    expect(await pool.map(t.mixed, input)).toEqual(input.map(local.mixed));
    expect(await pool.map(t.kinds, range(3000))).toEqual(range(3000).map(local.kinds));
  });

  it('a throwing item rejects with the error of the lowest failing index, wherever it is (positions and pairs)', async () => {
    const length = 10_000;
    const cases: number[][] = [[0], [1], [63], [64], [777], [4999], [length - 1], [9000, 10], [5000, 4999], [1, 0], [3, 9999, 6000]];
    for (const positions of cases) {
      const input = range(length);
      for (const position of positions) input[position] = -(position + 1);
      const lowest = Math.min(...positions);
      await expect(pool.map(t.failNegative, input)).rejects.toMatchObject({
        name: 'RangeError',
        message: `bad item ${-(lowest + 1)}`,
      });
    }
    expect(await pool.map(t.failNegative, range(100))).toEqual(range(100).map((n) => n + 1));
  });

  it('maps running at the same time on one pool each get their own exact results (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const [primes, uneven, mixed, doubled, sum] = await Promise.all([
        pool.map(t.isPrime, range(5000, 1_000_000)),
        pool.map(t.uneven, range(3000)),
        pool.map(t.mixed, range(1500)),
        pool.mapAsync(t.asyncDouble, range(700)),
        pool.apply(t.add, [round, 1]),
      ]);
      expect(primes).toEqual(range(5000, 1_000_000).map(local.isPrime));
      expect(uneven).toEqual(range(3000).map(local.uneven));
      expect(mixed).toEqual(range(1500).map(local.mixed));
      expect(doubled).toEqual(range(700).map((n) => n * 2));
      expect(sum).toBe(round + 1);
    }
  });

  it('onProgress is told items done as ranges finish, ending with (total, total)', async () => {
    const progress: Array<[number, number | undefined]> = [];
    await pool.map(t.sleepy, range(100), { onProgress: (done, total) => progress.push([done, total]) });
    expect(progress.at(-1)).toEqual([100, 100]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
  });

  it('an abort in the middle rejects ERR_CANCELLED, and the pool goes on', async () => {
    const controller = new AbortController();
    const mapped = pool.map(t.sleepy, range(1000), {
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 0) controller.abort();
      },
    });
    await expect(within(mapped, 15_000, 'the aborted map')).rejects.toBeInstanceOf(CancelledError);
    await expect(pool.map(t.sleepy, range(1000), { timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    expect(await pool.map(t.uneven, range(500))).toEqual(range(500).map(local.uneven));
  });

  it('close() then join() waits for a running self-scheduled map', async () => {
    const other = new Pool({ workers: 2 });
    const running = other.map(t.sleepy, range(100));
    other.close();
    await other.join();
    expect(await running).toEqual(range(100));
  });
});

describe('self-scheduled map: failures of the pool', () => {
  it('a worker that dies in the middle fails that map and nothing else', async () => {
    await using pool = new Pool({ workers: 2 });
    for (let round = 0; round < 2; round++) {
      const input = range(5000);
      input[2500] = -1;
      const mapped = pool.map(t.exitAtNegative, input);
      const applied = pool.apply(t.add, [round, 2]);
      const after = pool.map(t.uneven, range(1000));
      await expect(within(mapped, 15_000, 'the map whose worker died')).rejects.toMatchObject({
        code: 'ERR_WORKER_EXITED',
        exitCode: 7,
      });
      expect(await within(applied, 15_000, 'the apply behind it')).toBe(round + 2);
      expect(await within(after, 15_000, 'the map behind it')).toEqual(range(1000).map(local.uneven));
    }
  });

  it('terminate() in the middle rejects ERR_CANCELLED', async () => {
    const pool = new Pool({ workers: 2 });
    const progress: number[] = [];
    let reported: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (reported = resolve));
    const mapped = pool.map(t.sleepy, range(1000), {
      onProgress: (done) => {
        progress.push(done);
        reported();
      },
    });
    const outcome = mapped.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await started;
    await pool.terminate();
    expect(await outcome).toBeInstanceOf(CancelledError);
    expect(progress.at(-1)).toBeLessThan(1000);
  });

  it('an initializer that fails breaks the pool: a self-scheduled map rejects ERR_POOL_BROKEN; idle-timeout pools start workers for it', async () => {
    const broken = new Pool({ workers: 2, initializer: t.failInit });
    await expect(within(broken.map(t.uneven, range(1000)), 15_000, 'the map on a broken pool')).rejects.toMatchObject({
      code: 'ERR_POOL_BROKEN',
    });
    await broken.terminate();
    await using idle = new Pool({ workers: 2, idleTimeout: 10 });
    for (let round = 0; round < 2; round++) expect(await idle.map(t.uneven, range(1000))).toEqual(range(1000).map(local.uneven));
  });

  it('a pool with maxTasksPerChild keeps one task per chunk, and recycles without failing anything', async () => {
    await using pool = new Pool({ workers: 2, maxTasksPerChild: 2 });
    expect(await pool.map(t.uneven, range(1000))).toEqual(range(1000).map(local.uneven));
    // Python's default chunksize: ceil(1000 / (4 × 2)) = 125, so 8 chunks, each a task that counts towards the limit.
    expect(pool.stats()).toMatchObject({ completed: 8, failed: 0 });
  });
});
