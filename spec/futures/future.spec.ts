// Future, asCompleted and wait, translated from CPython's
// Lib/test/test_concurrent_futures (FutureTests, AsCompletedTests, WaitTests).
// Futures are driven by hand through their controller: no workers, no timing.
import * as path from 'node:path';
import { inspect } from 'node:util';
import { CancelledError, InvalidArgumentError, TimeoutError } from '../../lib/errors';
import { Future, FutureController } from '../../lib/futures/future';
import { ALL_COMPLETED, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, wait } from '../../lib/futures/wait';
import { runTsScript } from '../helpers/worker';

function pendingFuture<R = number>(): FutureController<R> {
  return new FutureController<R>();
}
function runningFuture<R = number>(): FutureController<R> {
  const controller = new FutureController<R>();
  controller.markRunning();
  return controller;
}
function successfulFuture<R>(value: R): FutureController<R> {
  const controller = new FutureController<R>();
  controller.resolve(value);
  return controller;
}
function failedFuture(error: unknown = new Error('boom')): FutureController<number> {
  const controller = new FutureController<number>();
  controller.reject(error);
  return controller;
}
function cancelledFuture(): FutureController<number> {
  const controller = new FutureController<number>();
  controller.future.cancel();
  return controller;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Future state', () => {
  test('a new future is pending: not running, not done, not cancelled', () => {
    const { future } = pendingFuture();
    expect([future.running(), future.done(), future.cancelled()]).toEqual([false, false, false]);
  });

  test('running, done and cancelled through every state', () => {
    expect(runningFuture().future.running()).toBe(true);
    expect(runningFuture().future.done()).toBe(false);
    for (const future of [successfulFuture(1).future, failedFuture().future, cancelledFuture().future]) {
      expect(future.running()).toBe(false);
      expect(future.done()).toBe(true);
    }
    expect(cancelledFuture().future.cancelled()).toBe(true);
    expect(successfulFuture(1).future.cancelled()).toBe(false);
  });

  test('cancel: true while pending (and again once cancelled), false while running or finished', () => {
    const pending = pendingFuture();
    expect(pending.future.cancel()).toBe(true);
    expect(pending.future.cancelled()).toBe(true);
    expect(pending.future.cancel()).toBe(true);

    const running = runningFuture();
    expect(running.future.cancel()).toBe(false);
    expect(running.future.running()).toBe(true);
    expect(successfulFuture(3).future.cancel()).toBe(false);
    expect(failedFuture().future.cancel()).toBe(false);
  });

  test('cancel asks the producer, which can refuse when the call has just started', () => {
    let allow = false;
    const asked: number[] = [];
    const controller = new FutureController<number>(() => {
      asked.push(1);
      return allow;
    });
    expect(controller.future.cancel()).toBe(false);
    expect(controller.future.cancelled()).toBe(false);
    allow = true;
    expect(controller.future.cancel()).toBe(true);
    expect(controller.future.cancel()).toBe(true);
    expect(asked).toHaveLength(2);
  });

  test('markRunning refuses a cancelled future (the call must not run), and settles only once', () => {
    const cancelled = cancelledFuture();
    expect(cancelled.markRunning()).toBe(false);
    expect(cancelled.resolve(1)).toBe(false);
    const controller = runningFuture();
    expect(controller.resolve(5)).toBe(true);
    expect(controller.reject(new Error('late'))).toBe(false);
    expect(controller.markRunning()).toBe(false);
  });

  test('type test: the constructor is not public, futures come from a producer', () => {
    // @ts-expect-error the constructor is protected (checked by the typecheck)
    const make = (): unknown => new Future();
    expect(typeof make).toBe('function');
  });

  test('inspect shows the state and the outcome', () => {
    expect(inspect(pendingFuture().future)).toBe("Future { state: 'pending' }");
    expect(inspect(successfulFuture(42).future)).toBe("Future { state: 'finished', value: 42 }");
    expect(inspect(failedFuture(new TypeError('bad')).future)).toMatch(/^Future \{ state: 'finished', error: TypeError: bad/);
    expect(inspect(cancelledFuture().future)).toBe("Future { state: 'cancelled' }");
  });
});

describe('Future results', () => {
  test('result with a value set later', async () => {
    const controller = pendingFuture<string>();
    const result = controller.future.result();
    controller.markRunning();
    controller.resolve('ok');
    await expect(result).resolves.toBe('ok');
    await expect(controller.future).resolves.toBe('ok');
    expect(await controller.future).toBe('ok');
  });

  test('result rejects with the call error; exception resolves to it', async () => {
    const error = new RangeError('out of range');
    const { future } = failedFuture(error);
    await expect(future.result()).rejects.toBe(error);
    await expect(future.exception()).resolves.toBe(error);
    await expect(Promise.resolve(future)).rejects.toBe(error);
  });

  test('exception resolves undefined on success', async () => {
    await expect(successfulFuture(7).future.exception()).resolves.toBeUndefined();
    await expect(successfulFuture(undefined).future.exception()).resolves.toBeUndefined();
  });

  test('result and exception of a cancelled future reject with ERR_CANCELLED', async () => {
    const { future } = cancelledFuture();
    await expect(future.result()).rejects.toBeInstanceOf(CancelledError);
    await expect(future.exception()).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    await expect(future).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
  });

  test('result and exception with a timeout reject ERR_TIMEOUT while unfinished, and the future goes on', async () => {
    const controller = runningFuture();
    await expect(controller.future.result({ timeout: 0 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(controller.future.result({ timeout: 5 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await expect(controller.future.exception({ timeout: 5 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(controller.future.running()).toBe(true);
    controller.resolve(9);
    await expect(controller.future.result({ timeout: 0 })).resolves.toBe(9);
    await expect(controller.future.exception({ timeout: 0 })).resolves.toBeUndefined();
  });

  test('a timed wait resolves if the future finishes first', async () => {
    const controller = runningFuture();
    const result = controller.future.result({ timeout: 60_000 });
    controller.resolve(11);
    await expect(result).resolves.toBe(11);
  });

  test('bad wait options are ERR_INVALID_ARG', async () => {
    const { future } = pendingFuture();
    await expect(future.result({ timeout: NaN })).rejects.toThrow(InvalidArgumentError);
    await expect(future.result({ timeout: NaN })).rejects.toThrow(
      'Expected `timeout` to be a number of milliseconds (≤ 0: do not wait; Infinity: no limit), got `NaN` (number)',
    );
    await expect(future.exception({ timeout: 'soon' as unknown as number })).rejects.toThrow(InvalidArgumentError);
    await expect(future.result(5 as never)).rejects.toThrow(InvalidArgumentError);
  });

  test('a failed future that nobody awaits causes no unhandled rejection (checked in a plain node process)', () => {
    const run = (...args: string[]) => runTsScript(path.join(__dirname, '../fixtures/futures-unhandled.ts'), args);
    const quiet = run();
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe('survived\n');
    expect(quiet.status).toBe(0);
    // The control: a bare rejected promise does crash that process.
    const control = run('control');
    expect(control.status).not.toBe(0);
    expect(control.stdout).toBe('');
  });
});

describe('Future done callbacks', () => {
  test('callbacks run on result, exception and cancel, once each, with the future', async () => {
    const calls: [string, boolean][] = [];
    const ok = runningFuture();
    const bad = runningFuture();
    const cancelled = pendingFuture();
    ok.future.addDoneCallback((f) => void calls.push(['ok', f === ok.future]));
    bad.future.addDoneCallback((f) => void calls.push(['bad', f === bad.future]));
    cancelled.future.addDoneCallback((f) => void calls.push(['cancelled', f.cancelled()]));
    expect(calls).toEqual([]);
    ok.resolve(5);
    bad.reject(new Error('x'));
    cancelled.future.cancel();
    ok.resolve(6);
    expect(calls).toEqual([
      ['ok', true],
      ['bad', true],
      ['cancelled', true],
    ]);
    await expect(bad.future.exception()).resolves.toMatchObject({ message: 'x' });
  });

  test('a callback added to a done future runs at once', () => {
    const calls: string[] = [];
    successfulFuture(1).future.addDoneCallback(() => void calls.push('success'));
    failedFuture().future.addDoneCallback(() => void calls.push('failure'));
    cancelledFuture().future.addDoneCallback(() => void calls.push('cancel'));
    expect(calls).toEqual(['success', 'failure', 'cancel']);
  });

  test('callbacks run in the order added; a throwing one is reported as a warning and the others still run', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const order: number[] = [];
      const controller = runningFuture();
      controller.future.addDoneCallback(() => void order.push(1));
      controller.future.addDoneCallback(() => {
        throw new Error('callback broke');
      });
      controller.future.addDoneCallback(() => Promise.reject(new Error('async callback broke')));
      controller.future.addDoneCallback(() => void order.push(4));
      controller.resolve(1);
      expect(order).toEqual([1, 4]);
      await tick();
      expect(warn).toHaveBeenCalledTimes(2);
      expect(warn.mock.calls.map((call) => call[0])).toEqual([
        'A Future done callback threw: callback broke',
        'A Future done callback threw: async callback broke',
      ]);
      expect(warn.mock.calls[0]![1]).toMatchObject({ type: 'FutureCallbackWarning' });
    } finally {
      warn.mockRestore();
    }
  });

  test('addDoneCallback validates its argument', () => {
    expect(() => pendingFuture().future.addDoneCallback('x' as never)).toThrow(InvalidArgumentError);
  });
});

describe('asCompleted', () => {
  test('yields done futures first, then the others as they finish, each once', async () => {
    const done1 = successfulFuture(1);
    const done2 = failedFuture();
    const later1 = runningFuture();
    const later2 = pendingFuture();
    const order: Future<number>[] = [];
    const iteration = (async () => {
      for await (const future of asCompleted([later1.future, done1.future, later2.future, done2.future])) {
        order.push(future);
        if (order.length === 2) {
          later2.resolve(20);
          later1.resolve(10);
        }
      }
    })();
    await iteration;
    expect(order).toEqual([done1.future, done2.future, later2.future, later1.future]);
  });

  test('duplicate futures are yielded once', async () => {
    const a = successfulFuture(1);
    const b = pendingFuture();
    const iteration = collect(asCompleted([a.future, a.future, b.future, b.future, a.future]));
    b.future.cancel();
    expect(await iteration).toEqual([a.future, b.future]);
  });

  test('a zero timeout yields what is done, then throws ERR_TIMEOUT "N (of M) futures unfinished"', async () => {
    const futures = [
      pendingFuture().future,
      runningFuture().future,
      cancelledFuture().future,
      failedFuture().future,
      successfulFuture(1).future,
    ];
    const yielded: Future<number>[] = [];
    let thrown: unknown;
    try {
      for await (const future of asCompleted(futures, { timeout: 0 })) yielded.push(future);
    } catch (error) {
      thrown = error;
    }
    expect(yielded).toEqual(futures.slice(2));
    expect(thrown).toBeInstanceOf(TimeoutError);
    expect((thrown as TimeoutError).code).toBe('ERR_TIMEOUT');
    expect((thrown as Error).message).toBe('2 (of 5) futures unfinished');
  });

  test('a timeout counts only futures still unfinished', async () => {
    const finishesLater = runningFuture();
    const never = runningFuture();
    const yielded: Future<number>[] = [];
    const iteration = (async () => {
      for await (const future of asCompleted([finishesLater.future, never.future, finishesLater.future], { timeout: 50 }))
        yielded.push(future);
    })();
    finishesLater.resolve(1);
    await expect(iteration).rejects.toThrow('1 (of 2) futures unfinished');
    expect(yielded).toEqual([finishesLater.future]);
  });

  test('all done within the timeout: no error', async () => {
    const futures = [successfulFuture(1).future, successfulFuture(2).future];
    expect(await collect(asCompleted(futures, { timeout: 0 }))).toEqual(futures);
    expect(await collect(asCompleted([]))).toEqual([]);
  });

  test("a Map is read by its keys (Python's {future: input} dict)", async () => {
    const inputs = new Map([
      [successfulFuture(4).future, 2],
      [successfulFuture(9).future, 3],
    ]);
    const pairs: [number, number][] = [];
    for await (const future of asCompleted(inputs)) pairs.push([inputs.get(future)!, await future.result()]);
    expect(pairs).toEqual([
      [2, 4],
      [3, 9],
    ]);
  });

  test('breaking out early removes its waiters; the futures go on', async () => {
    const a = successfulFuture(1);
    const b = runningFuture();
    for await (const future of asCompleted([a.future, b.future])) {
      expect(future).toBe(a.future);
      break;
    }
    b.resolve(2);
    await expect(b.future).resolves.toBe(2);
  });

  test('type test: the loop variable is the future (not its result), usable as a Map key', async () => {
    const inputs = new Map([[successfulFuture('four').future, 4]]);
    for await (const future of asCompleted(inputs)) {
      const asFuture: Future<string> = future;
      const key: number | undefined = inputs.get(future);
      const value: string = await future.result();
      expect([asFuture, key, value]).toEqual([future, 4, 'four']);
    }
    const { done } = await wait(inputs);
    const typed: Set<Future<string>> = done;
    expect(typed.size).toBe(1);
  });

  test('overlapping next() calls each get a distinct future', async () => {
    const a = runningFuture();
    const b = runningFuture();
    const iterator = asCompleted([a.future, b.future]);
    const first = iterator.next();
    const second = iterator.next();
    const third = iterator.next();
    b.resolve(2);
    a.resolve(1);
    expect(await first).toEqual({ value: b.future, done: false });
    expect(await second).toEqual({ value: a.future, done: false });
    expect(await third).toEqual({ value: undefined, done: true });
  });

  test('reports bad arguments from the first next() (API.md §8)', async () => {
    await expect(asCompleted(5 as never).next()).rejects.toThrow(InvalidArgumentError);
    await expect(asCompleted([successfulFuture(1).future, Promise.resolve(1)] as never).next()).rejects.toThrow(
      'Expected `futures[1]` to be a Future (from executor.submit()), got a Promise',
    );
    await expect(asCompleted([], { timeout: NaN }).next()).rejects.toThrow(InvalidArgumentError);
  });
});

describe('wait', () => {
  test('FIRST_COMPLETED returns once one future is done', async () => {
    const first = runningFuture();
    const second = pendingFuture();
    const waiting = wait([first.future, second.future], { returnWhen: FIRST_COMPLETED });
    first.resolve(1);
    const { done, notDone } = await waiting;
    expect([...done]).toEqual([first.future]);
    expect([...notDone]).toEqual([second.future]);
  });

  test('FIRST_COMPLETED returns at once when one is already done, and counts a cancellation', async () => {
    const pending = pendingFuture();
    let result = await wait([cancelledFuture().future, pending.future], { returnWhen: 'FIRST_COMPLETED' });
    expect(result.done.size).toBe(1);
    expect(result.notDone).toEqual(new Set([pending.future]));
    const cancelledLater = pendingFuture();
    const waiting = wait([cancelledLater.future, runningFuture().future], { returnWhen: 'FIRST_COMPLETED' });
    cancelledLater.future.cancel();
    result = await waiting;
    expect(result.done).toEqual(new Set([cancelledLater.future]));
  });

  test('FIRST_EXCEPTION returns at the first failure; successes and cancellations do not end it', async () => {
    const success = runningFuture();
    const cancelled = pendingFuture();
    const failure = runningFuture();
    const other = runningFuture();
    let settled = false;
    const waiting = wait([success.future, cancelled.future, failure.future, other.future], { returnWhen: FIRST_EXCEPTION }).then(
      (result) => {
        settled = true;
        return result;
      },
    );
    success.resolve(1);
    cancelled.future.cancel();
    await tick();
    expect(settled).toBe(false);
    failure.reject(new Error('first failure'));
    const { done, notDone } = await waiting;
    expect(done).toEqual(new Set([success.future, cancelled.future, failure.future]));
    expect(notDone).toEqual(new Set([other.future]));
  });

  test('FIRST_EXCEPTION with one already failed returns at once', async () => {
    const failed = failedFuture();
    const running = runningFuture();
    const { done, notDone } = await wait([successfulFuture(1).future, failed.future, running.future], { returnWhen: FIRST_EXCEPTION });
    expect(done.size).toBe(2);
    expect(notDone).toEqual(new Set([running.future]));
  });

  test('FIRST_EXCEPTION without a failure waits for all', async () => {
    const a = runningFuture();
    const b = runningFuture();
    const waiting = wait([a.future, b.future], { returnWhen: FIRST_EXCEPTION });
    a.resolve(1);
    b.resolve(2);
    const { done, notDone } = await waiting;
    expect(done.size).toBe(2);
    expect(notDone.size).toBe(0);
  });

  test('ALL_COMPLETED (the default) waits for every future', async () => {
    const futures = [runningFuture(), pendingFuture(), runningFuture()];
    const waiting = wait(futures.map((c) => c.future));
    const waitingExplicit = wait(
      futures.map((c) => c.future),
      { returnWhen: ALL_COMPLETED },
    );
    futures[0]!.resolve(1);
    futures[1]!.future.cancel();
    futures[2]!.reject(new Error('x'));
    for (const result of [await waiting, await waitingExplicit]) {
      expect(result.done.size).toBe(3);
      expect(result.notDone.size).toBe(0);
    }
  });

  test('a timeout returns what is done so far and never throws', async () => {
    const done = successfulFuture(1);
    const never = runningFuture();
    for (const timeout of [0, 20]) {
      for (const returnWhen of [ALL_COMPLETED, FIRST_EXCEPTION] as const) {
        const result = await wait([done.future, never.future], { timeout, returnWhen });
        expect(result.done).toEqual(new Set([done.future]));
        expect(result.notDone).toEqual(new Set([never.future]));
      }
    }
    const result = await wait([never.future], { timeout: 0, returnWhen: FIRST_COMPLETED });
    expect(result.notDone.size).toBe(1);
  });

  test('duplicates count once; an empty list is done at once', async () => {
    const a = successfulFuture(1);
    const { done, notDone } = await wait([a.future, a.future]);
    expect([...done]).toEqual([a.future]);
    expect(notDone.size).toBe(0);
    expect(await wait([])).toEqual({ done: new Set(), notDone: new Set() });
  });

  test('bad arguments are ERR_INVALID_ARG', async () => {
    await expect(wait([], { returnWhen: 'FIRST' as never })).rejects.toThrow(
      "Expected `returnWhen` to be one of 'FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED', got `\"FIRST\"` (string)",
    );
    await expect(wait([], { timeout: NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(wait([1] as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(wait(null as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('issue 9: timeouts and references', () => {
  test('a negative timeout means "do not wait": result/exception reject ERR_TIMEOUT at once; wait returns at once', async () => {
    const { future } = pendingFuture();
    const started = performance.now();
    await expect(future.result({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    await expect(future.exception({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    const { done, notDone } = await wait([future], { timeout: -1 });
    expect([done.size, notDone.size]).toEqual([0, 1]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('asCompleted drops each future once yielded (CPython bpo-14406)', async () => {
    const setFlags = require('node:v8').setFlagsFromString as (flags: string) => void;
    setFlags('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc') as () => void;
    // Built in a function of its own: a suspended async test keeps its dead locals (the last
    // future, its value) in its saved frame, which would hold them here and not in asCompleted.
    const setUp = (): { iterator: AsyncIterableIterator<unknown>; refs: WeakRef<object>[] } => {
      const controllers = Array.from({ length: 3 }, () => pendingFuture<number[]>());
      const made = asCompleted(controllers.map((controller) => controller.future));
      const weak = controllers.map((controller) => {
        const value = new Array(1000).fill(1);
        controller.resolve(value);
        return new WeakRef(value);
      });
      return { iterator: made, refs: weak };
    };
    const { iterator, refs } = setUp();
    const take = async (): Promise<boolean> => (await iterator.next()).done === false;
    expect([await take(), await take(), await take()]).toEqual([true, true, true]);
    // The iterator itself stays alive; the futures (and their results) it yielded must not.
    for (let attempt = 0; attempt < 10 && refs.some((ref) => ref.deref() !== undefined); attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(refs.map((ref) => ref.deref() === undefined)).toEqual([true, true, true]);
    expect((await iterator.next()).done).toBe(true);
  });
});
