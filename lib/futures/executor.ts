/**
 * Executor: Python's `concurrent.futures.ProcessPoolExecutor` on worker threads
 * (API.md §3). A face over a Runtime (lib/runtime/runtime.ts), a peer of Pool:
 * the runtime's dispatcher queues the calls, starts them, recycles workers and
 * turns a dead worker into an error for its own calls only; this file turns
 * those calls into Futures.
 */
import * as os from 'node:os';
import { CancelledError } from '../errors';
import { isAsyncIterable, isIterable } from '../runtime/chunk-source';
import { localDispatcher } from '../runtime/piscina-adapter';
import { CallKind } from '../runtime/protocol';
import { ResultIterator } from '../runtime/result-iterator';
import { type Backend, backendDispatcher } from '../runtime/backend';
import { dispatcherFactoryOf, Runtime } from '../runtime/runtime';
import type { PoolStats } from '../runtime/stats';
import { poolWorkerData } from '../runtime/worker-settings';
import { type AnyFunction, type Task, type TaskRef, taskSpecOf } from '../tasks/task-ref';
import { checkBoolean, checkInteger, checkOptions, checkSignal, checkTimeout, invalidArg } from '../validate';
import { type Future, FutureController, onFutureDone } from './future';

/** Options of `new Executor()`. */
export interface ExecutorOptions {
  /**
   * How many worker threads. `< 1` → `ERR_INVALID_ARG`.
   * @default os.availableParallelism() (see `cpuCount()`)
   */
  readonly maxWorkers?: number;
  /** Runs once in each worker before its first task; if it throws, every call fails with `ERR_POOL_BROKEN`. */
  readonly initializer?: Task<AnyFunction>;
  /** Arguments of `initializer`. @default [] */
  readonly initargs?: readonly unknown[];
  /** Replace a worker after it ran this many calls (a map chunk counts as one). @default undefined (never) */
  readonly maxTasksPerChild?: number;
  /**
   * Run the calls on remote worker processes: a backend made by `redisBackend()`
   * of `parapool/remote`. Every call works unchanged; `maxWorkers` is then the
   * live remote thread count, and `maxWorkers`, `initializer`, `initargs`,
   * `maxTasksPerChild` are the workers' options (`ERR_INVALID_ARG` here).
   * @default undefined (local worker threads)
   */
  readonly backend?: Backend;
}

/** Options of `Executor.map()`, given after the iterables. */
export interface ExecutorMapOptions {
  /**
   * Milliseconds, counted from the call to `map`, for the whole map; past it the
   * iteration throws `ERR_TIMEOUT` after the results that arrived in time.
   * @default undefined (no limit)
   */
  readonly timeout?: number;
  /** Items sent to a worker at once. @default 1 (as Python) */
  readonly chunksize?: number;
  /** Aborting it drops queued work and stops running work of this map; the iteration throws `ERR_CANCELLED`. */
  readonly signal?: AbortSignal;
}

/** Options of `Executor.shutdown()`. */
export interface ShutdownOptions {
  /** Wait until every submitted call has finished and the workers have exited. @default true */
  readonly wait?: boolean;
  /** Cancel every call still waiting in the queue (running ones finish). @default false */
  readonly cancelFutures?: boolean;
}

/** One iterable per parameter of the task function. */
export type Zippable<P extends readonly unknown[]> = { [K in keyof P]: Iterable<P[K]> | AsyncIterable<P[K]> };

type AnyIterable = Iterable<unknown> | AsyncIterable<unknown>;

/**
 * A pool of worker threads with Python's `concurrent.futures` interface:
 * `submit` gives a `Future`, `map` yields results in order, `shutdown` (or
 * `await using`) ends it.
 *
 * Unlike Python, a worker that dies (uncaught error, `process.exit`, out of
 * memory) fails only the calls it was running, with `ERR_WORKER_EXITED`; the
 * executor replaces it and goes on (Python marks the whole executor broken).
 *
 * @example
 * import { Executor, asCompleted, tasks } from 'parapool';
 * const primes = tasks<typeof import('./workers/primes')>(require.resolve('./workers/primes'));
 * await using executor = new Executor({ maxWorkers: 4 });
 * const future = executor.submit(primes.countPrimes, 0, 1_000_000);
 * console.log(await future.result());                          // 78498
 * for await (const flag of executor.map(primes.isPrime, [2, 3, 4])) console.log(flag);
 */
export class Executor {
  readonly #runtime: Runtime;
  readonly #pending = new Set<FutureController<unknown>>();
  #shutdown: Promise<void> | undefined;

  /**
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option, e.g. `maxWorkers < 1`.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) when `initargs` cannot cross threads.
   */
  constructor(options?: ExecutorOptions) {
    const opts = checkOptions('options', options);
    const remote = backendDispatcher(opts, ['maxWorkers', 'initializer', 'initargs', 'maxTasksPerChild']);
    if (remote !== undefined) {
      this.#runtime = new Runtime(remote, 'executor');
      return;
    }
    const workers = opts.maxWorkers === undefined ? os.availableParallelism() : checkInteger('maxWorkers', opts.maxWorkers, 1, 1024);
    const settings = {
      workers,
      maxTasksPerChild: opts.maxTasksPerChild === undefined ? undefined : checkInteger('maxTasksPerChild', opts.maxTasksPerChild, 1),
      idleTimeout: undefined,
      resourceLimits: undefined,
      workerData: poolWorkerData(opts.initializer, opts.initargs),
    };
    const dispatcher = (dispatcherFactoryOf(opts) ?? localDispatcher)(settings);
    this.#runtime = new Runtime(dispatcher, 'executor');
  }

  /** The number of worker threads; with a `backend`, the remote threads serving its queue now. */
  get maxWorkers(): number {
    return this.#runtime.workers;
  }

  /** Schedules `fn(...args)` on a worker. */
  submit<P extends unknown[], R>(fn: TaskRef<(...args: P) => R>, ...args: NoInfer<P>): Future<Awaited<R>>;
  submit<P extends unknown[], R>(fn: (...args: P) => R, ...args: P): Future<Awaited<R>>;
  /**
   * Schedules `fn(...args)` to run in a worker and returns its `Future` at
   * once. The arguments are checked and encoded right away; every failure
   * (a bad argument, a shut-down executor) is the future's error, never a throw.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, as the future's error) after `shutdown()`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as the future's error) when `fn` is not a TaskRef or a function.
   * @throws UncloneableError (`ERR_UNCLONEABLE`, as the future's error) when an argument cannot cross threads (its path is named).
   * @example
   * const future = executor.submit(math.sumOfSquares, 5_000_000);
   * const value = await future;            // or: await future.result({ timeout: 10_000 })
   */
  submit(fn: Task<AnyFunction>, ...args: unknown[]): Future<unknown> {
    let entry: ReturnType<Runtime['submit']> | undefined;
    const controller = new FutureController<unknown>(
      () => entry !== undefined && this.#runtime.cancel(entry),
      () => entry !== undefined && this.#runtime.started(entry),
    );
    try {
      this.#runtime.checkOpen('submit');
      const spec = taskSpecOf(fn);
      entry = this.#runtime.submit(spec, args, {
        onResponse: (value) => controller.resolve(value),
        onFailure: (error) => controller.reject(error),
      });
    } catch (error) {
      controller.reject(error);
    }
    if (!controller.future.done()) {
      this.#pending.add(controller);
      onFutureDone(controller.future, () => this.#pending.delete(controller));
    }
    return controller.future;
  }

  /** Maps `fn` over the zipped iterables, lazily, in order. */
  map<P extends unknown[], R>(
    fn: TaskRef<(...args: P) => R>,
    ...iterables: Zippable<NoInfer<P>> | [...Zippable<NoInfer<P>>, ExecutorMapOptions]
  ): AsyncIterableIterator<Awaited<R>>;
  map<P extends unknown[], R>(
    fn: (...args: P) => R,
    ...iterables: Zippable<P> | [...Zippable<P>, ExecutorMapOptions]
  ): AsyncIterableIterator<Awaited<R>>;
  /**
   * Python's `Executor.map`: `fn(a, b, ...)` over the iterables zipped
   * together (stopping at the shortest), yielding results in input order. An
   * options object may follow the iterables. Unlike Python, the inputs are read
   * lazily with bounded read-ahead (an infinite generator works); a map still
   * open at `shutdown()` is read to the end of its inputs first (as Python ran
   * every call when `map` returned). A call's error is thrown at its position,
   * after every earlier result. Bad arguments and a shut-down executor are
   * reported by the first `next()`.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, from the first `next()`) after `shutdown()`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, from the first `next()`) for a bad iterable or option (`chunksize < 1`, ...).
   * @throws TimeoutError (`ERR_TIMEOUT`, from the iteration) when `timeout` ms pass first.
   * @throws CancelledError (`ERR_CANCELLED`, from the iteration) when `signal` aborts or `shutdown({ cancelFutures: true })` runs.
   * @example
   * for await (const power of executor.map(math.pow, [2, 3, 4], [5, 2, 3], { chunksize: 2 })) console.log(power);
   */
  map(fn: Task<AnyFunction>, ...rest: unknown[]): AsyncIterableIterator<unknown> {
    try {
      this.#runtime.checkOpen('map');
      const spec = taskSpecOf(fn);
      const last = rest[rest.length - 1];
      let options: ExecutorMapOptions | undefined;
      if (
        rest.length > 0 &&
        (last === undefined || (typeof last === 'object' && last !== null && !isIterable(last) && !isAsyncIterable(last)))
      ) {
        options = checkOptions('options', rest.pop() as ExecutorMapOptions | undefined);
      }
      const opts = checkOptions('options', options);
      const chunksize = opts.chunksize === undefined ? 1 : checkInteger('chunksize', opts.chunksize, 1);
      const timeout = checkTimeout('timeout', opts.timeout);
      const signal = checkSignal('signal', opts.signal);
      if (rest.length === 0) throw invalidArg('iterables', 'at least one Iterable or AsyncIterable after the function', undefined);
      rest.forEach((iterable, index) => {
        if (!isIterable(iterable) && !isAsyncIterable(iterable)) {
          throw invalidArg(`iterables[${index}]`, 'an Iterable or an AsyncIterable', iterable);
        }
      });
      const iterables = rest as AnyIterable[];
      return this.#runtime.iterate(
        spec,
        iterables.length === 1 ? CallKind.Map : CallKind.Starmap,
        iterables.length === 1 ? iterables[0]! : zip(iterables),
        { chunksize, timeout, signal, onProgress: undefined },
        true,
        iterables.length === 1 ? 'items' : 'tuples',
        'map',
      );
    } catch (error) {
      return ResultIterator.failed(error);
    }
  }

  /**
   * A snapshot of the executor's work so far, to see whether a chunksize or a worker
   * count helps: per-worker utilization and tasks, the queue depth, completed and
   * failed tasks, and run-time and wait-time percentiles (ms). A task is one
   * submit, one chunk of a map, or one worker's share of a self-scheduled map.
   * Also after shutdown() (the figures stay as they were).
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) with a `backend`: its workers are measured on the worker command.
   * @example
   * const { runTime, waitTime, queued, workers } = executor.stats();
   * console.log(runTime.p50, waitTime.p99, queued, workers.map((w) => w.utilization));
   */
  stats(): PoolStats {
    return this.#runtime.stats();
  }

  /**
   * Stops accepting work, then (with `wait`) resolves once every submitted call
   * and open map has finished and the workers have exited; a map nobody
   * finished reading is run to the end of its inputs. With `cancelFutures`,
   * calls still queued are cancelled first (their futures report
   * `cancelled()`), and open maps stop with `ERR_CANCELLED`. Calling it again
   * is harmless. Every failure is a rejection.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for a bad option.
   * @example
   * await executor.shutdown({ cancelFutures: true });
   */
  async shutdown(options?: ShutdownOptions): Promise<void> {
    const opts = checkOptions('options', options);
    const waitForWork = checkBoolean('wait', opts.wait) ?? true;
    const cancelFutures = checkBoolean('cancelFutures', opts.cancelFutures) ?? false;
    this.#runtime.close();
    if (cancelFutures) {
      for (const controller of [...this.#pending]) controller.future.cancel();
      this.#runtime.failRuns(new CancelledError('The executor was shut down with cancelFutures'));
    }
    this.#shutdown ??= this.#runtime.join();
    if (waitForWork) await this.#shutdown;
    else this.#shutdown.catch(() => undefined);
  }

  /** `await using executor = new Executor()`: `shutdown({ wait: true })` at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** Python's `zip(*iterables)`, lazily: tuples until the shortest input ends; the others are closed. */
function zip(iterables: AnyIterable[]): Iterable<unknown[]> | AsyncIterable<unknown[]> {
  if (iterables.every((iterable) => !isAsyncIterable(iterable))) return zipSync(iterables as Iterable<unknown>[]);
  return zipAsync(iterables);
}

function* zipSync(iterables: Iterable<unknown>[]): Generator<unknown[]> {
  const iterators = iterables.map((iterable) => iterable[Symbol.iterator]());
  let exhausted = -1;
  try {
    for (;;) {
      const tuple: unknown[] = [];
      for (let i = 0; i < iterators.length; i++) {
        const step = iterators[i]!.next();
        if (step.done) {
          exhausted = i;
          return;
        }
        tuple.push(step.value);
      }
      yield tuple;
    }
  } finally {
    iterators.forEach((iterator, i) => {
      if (i !== exhausted) iterator.return?.();
    });
  }
}

async function* zipAsync(iterables: AnyIterable[]): AsyncGenerator<unknown[]> {
  const iterators = iterables.map((iterable) =>
    isAsyncIterable(iterable) ? iterable[Symbol.asyncIterator]() : (iterable as Iterable<unknown>)[Symbol.iterator](),
  );
  let exhausted = -1;
  try {
    for (;;) {
      const tuple: unknown[] = [];
      for (let i = 0; i < iterators.length; i++) {
        const step = await iterators[i]!.next();
        if (step.done) {
          exhausted = i;
          return;
        }
        tuple.push(step.value);
      }
      yield tuple;
    }
  } finally {
    await Promise.all(iterators.map((iterator, i) => (i === exhausted ? undefined : iterator.return?.())));
  }
}
