/**
 * Executor: Python's `concurrent.futures.ProcessPoolExecutor` on worker threads
 * (API.md §3). A facade over a Pool: the Pool's dispatcher queues the calls,
 * starts them, recycles workers and turns a dead worker into an error for its
 * own calls only; this file turns those calls into Futures.
 */
import { CancelledError, PoolClosedError } from '../errors';
import { FutureController, onFutureDone, type Future } from './future';
import { wait } from './wait';
import { Pool } from '../pool/pool';
import type { Backend } from '../runtime/backend';
import { CallKind } from '../runtime/protocol';
import { isAsyncIterable, isIterable } from '../runtime/chunk-source';
import type { AnyFunction, Task, TaskRef } from '../tasks/task-ref';
import { checkBoolean, checkInteger, checkOptions, checkSignal, checkTimeout, invalidArg } from '../validate';

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
   * of `parapool/remote`; `maxWorkers` is then the live remote thread count.
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
  readonly #pool: Pool;
  readonly #pending = new Set<FutureController<unknown>>();
  readonly #openMaps = new Set<AbortController>();
  #shutdown = false;
  #finished: Promise<void> | undefined;

  /**
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option, e.g. `maxWorkers < 1`.
   */
  constructor(options?: ExecutorOptions) {
    const opts = checkOptions('options', options);
    const maxWorkers = opts.maxWorkers === undefined ? undefined : checkInteger('maxWorkers', opts.maxWorkers, 1, 1024);
    this.#pool = new Pool({
      workers: maxWorkers,
      initializer: opts.initializer,
      initargs: opts.initargs,
      maxTasksPerChild: opts.maxTasksPerChild,
      backend: opts.backend,
    });
  }

  /** The number of worker threads; with a `backend`, the remote threads serving its queue now. */
  get maxWorkers(): number {
    return this.#pool.workers;
  }

  /** Schedules `fn(...args)` on a worker. */
  submit<P extends unknown[], R>(fn: TaskRef<(...args: P) => R>, ...args: NoInfer<P>): Future<Awaited<R>>;
  submit<P extends unknown[], R>(fn: (...args: P) => R, ...args: P): Future<Awaited<R>>;
  /**
   * Schedules `fn(...args)` to run in a worker and returns its `Future` at
   * once. The arguments are checked and encoded right away.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after `shutdown()`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `fn` is not a TaskRef or a function.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) when an argument cannot cross threads (its path is named).
   * @example
   * const future = executor.submit(math.sumOfSquares, 5_000_000);
   * const value = await future;            // or: await future.result({ timeout: 10_000 })
   */
  submit(fn: Task<AnyFunction>, ...args: unknown[]): Future<unknown> {
    const spec = this.#prepare(fn, 'submit');
    let entry: ReturnType<Pool['submitCall']> | undefined;
    const controller = new FutureController<unknown>(() => entry !== undefined && this.#pool.cancelCall(entry));
    entry = this.#pool.submitCall(spec, args, {
      onStart: () => void controller.markRunning(),
      onResponse: (value) => controller.resolve(value),
      onFailure: (error) => controller.reject(error),
    });
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
   * lazily with bounded read-ahead (an infinite generator works), so a map you
   * stop reading must be closed (`break` out of the loop) before `shutdown()`
   * can finish. A call's error is thrown at its position, after every earlier result.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after `shutdown()`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad iterable or option (`chunksize < 1`, ...).
   * @throws TimeoutError (`ERR_TIMEOUT`, from the iteration) when `timeout` ms pass first.
   * @throws CancelledError (`ERR_CANCELLED`, from the iteration) when `signal` aborts or `shutdown({ cancelFutures: true })` runs.
   * @example
   * for await (const power of executor.map(math.pow, [2, 3, 4], [5, 2, 3], { chunksize: 2 })) console.log(power);
   */
  map(fn: Task<AnyFunction>, ...rest: unknown[]): AsyncIterableIterator<unknown> {
    const spec = this.#prepare(fn, 'map');
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
      if (!isIterable(iterable) && !isAsyncIterable(iterable))
        throw invalidArg(`iterables[${index}]`, 'an Iterable or an AsyncIterable', iterable);
    });
    const iterables = rest as AnyIterable[];
    // shutdown({ cancelFutures: true }) stops open maps through this signal.
    const stop = new AbortController();
    this.#openMaps.add(stop);
    const runSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    const results = this.#pool.iterateChunks(
      spec,
      iterables.length === 1 ? iterables[0]! : zip(iterables),
      iterables.length === 1 ? CallKind.Map : CallKind.Starmap,
      { chunksize, timeout, signal: runSignal },
      true,
      'map',
    );
    return new MapIterator(results, () => this.#openMaps.delete(stop));
  }

  /**
   * Stops accepting work, then (with `wait`) resolves once every submitted call
   * and open map has finished and the workers have exited. With
   * `cancelFutures`, calls still queued are cancelled first (their futures
   * report `cancelled()`), and open maps stop with `ERR_CANCELLED`. Calling it
   * again is harmless.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option.
   * @example
   * await executor.shutdown({ cancelFutures: true });
   */
  async shutdown(options?: ShutdownOptions): Promise<void> {
    const opts = checkOptions('options', options);
    const waitForWork = checkBoolean('wait', opts.wait) ?? true;
    const cancelFutures = checkBoolean('cancelFutures', opts.cancelFutures) ?? false;
    this.#shutdown = true;
    if (cancelFutures) {
      for (const controller of [...this.#pending]) controller.future.cancel();
      for (const stop of this.#openMaps) stop.abort(new CancelledError('The executor was shut down with cancelFutures'));
    }
    this.#finished ??= (async () => {
      await wait([...this.#pending].map((controller) => controller.future));
      this.#pool.close();
      await this.#pool.join();
    })();
    if (waitForWork) await this.#finished;
    else this.#finished.catch(() => undefined);
  }

  /** `await using executor = new Executor()`: `shutdown({ wait: true })` at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #prepare(fn: unknown, what: string) {
    if (this.#shutdown) throw new PoolClosedError(`Cannot call ${what}(): the executor was shut down`);
    return this.#pool.prepareCall(fn, what);
  }
}

/** The map's results; tells the executor when the map is over. */
class MapIterator implements AsyncIterableIterator<unknown> {
  #ended = false;
  constructor(
    private readonly results: AsyncIterableIterator<unknown>,
    private readonly onEnd: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<unknown>> {
    try {
      const step = await this.results.next();
      if (step.done) this.#end();
      return step;
    } catch (error) {
      this.#end();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#end();
    return this.results.return!();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd();
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
