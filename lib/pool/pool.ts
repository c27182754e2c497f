/**
 * Pool: Python's `multiprocessing.Pool` on worker threads (API.md §2). A face
 * over a Runtime (lib/runtime/runtime.ts): it validates what the user passed,
 * then hands the runtime a task spec and the items.
 */
import * as os from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { type Backend, backendDispatcher } from '../runtime/backend';
import { adaptiveChunksize, isAsyncIterable, isIterable, REMOTE_TARGET_CHUNK_MS } from '../runtime/chunk-source';
import { localDispatcher } from '../runtime/piscina-adapter';
import { CallKind } from '../runtime/protocol';
import { ResultIterator } from '../runtime/result-iterator';
import { type ChunkedCallOptions, dispatcherFactoryOf, Runtime } from '../runtime/runtime';
import type { PoolStats } from '../runtime/stats';
import { checkResourceLimits, poolWorkerData } from '../runtime/worker-settings';
import { type AnyFunction, type Task, type TaskRef, taskSpecOf } from '../tasks/task-ref';
import { checkInteger, checkOptionalFunction, checkOptions, checkSignal, checkTimeout, INTERNAL, invalidArg } from '../validate';
import { AsyncResult, type AsyncResultCallbacks } from './async-result';

/** Options of `new Pool()`. */
export interface PoolOptions {
  /**
   * How many worker threads; all of them start with the pool.
   * @default os.availableParallelism()
   */
  readonly workers?: number;
  /** Runs once in each worker before its first task; if it throws, the pool is broken (`ERR_POOL_BROKEN`). */
  readonly initializer?: Task<AnyFunction>;
  /** Arguments of `initializer`. @default [] */
  readonly initargs?: readonly unknown[];
  /** Replace a worker after it ran this many tasks (a chunk counts as one). @default undefined (never) */
  readonly maxTasksPerChild?: number;
  /** V8 heap limits of each worker; a worker that runs out of memory fails its task with `ERR_WORKER_EXITED`. */
  readonly resourceLimits?: ResourceLimits;
  /**
   * With an idle timeout, workers start on demand and stop after this many idle
   * milliseconds. @default undefined (every worker runs until close)
   */
  readonly idleTimeout?: number;
  /**
   * Run the work on remote worker processes instead of local threads: a backend
   * made by `redisBackend()` of `parapool/remote`. Every call works unchanged;
   * `workers` is then the live remote thread count, and `workers`, `initializer`,
   * `initargs`, `maxTasksPerChild`, `resourceLimits`, `idleTimeout` are the
   * workers' options (`ERR_INVALID_ARG` here). @default undefined (local worker threads)
   */
  readonly backend?: Backend;
}

/** Options of every call that runs many items. */
export interface MapOptions {
  /**
   * Items per task sent to a worker; a given chunksize always means one task per chunk, as in
   * Python (with `maxTasksPerChild`, a chunk counts as one task).
   * @default map/starmap: ceil(n / (4 × workers)), as Python. Except: `map`/`mapAsync` over an
   * array of 64 or more numbers on local threads without `maxTasksPerChild` is self-scheduled:
   * the input is packed once in shared memory, one task per worker takes small ranges of it
   * itself, and number or boolean results are written in place, so the main thread is not
   * involved per chunk (results, errors and progress behave as with chunks; the error is that
   * of the lowest failing index). imap/imapUnordered: adaptive, starting at 1 (results stream
   * at once, as with Python's 1) and growing while chunks finish in under 2 ms, so tiny items
   * need no tuning.
   */
  readonly chunksize?: number;
  /** Aborting it drops queued work and stops running work of this call; the call rejects `ERR_CANCELLED`. */
  readonly signal?: AbortSignal;
  /** Milliseconds for the whole call; past it, as with an abort, but `ERR_TIMEOUT`. */
  readonly timeout?: number;
  /** Called as chunks finish (a self-scheduled map: every 20 ms while items finish, and at the end): items done so far, and the total when known. */
  readonly onProgress?: (done: number, total?: number) => void;
}

/** Options of `apply`. */
export interface ApplyOptions {
  readonly signal?: AbortSignal;
  readonly timeout?: number;
}

type Items<T> = Iterable<T> | AsyncIterable<T>;

/**
 * The AsyncResult of `run()` with the callbacks in `options`; bad callbacks
 * reject it without starting the call (the `…Async` methods never throw).
 */
function asyncResultOf<R>(options: AsyncResultCallbacks<R> | undefined, run: () => Promise<R>): AsyncResult<R> {
  let callbacks: AsyncResultCallbacks<R>;
  try {
    callbacks = checkCallbacks(options);
  } catch (error) {
    return new AsyncResult(INTERNAL, Promise.reject(error));
  }
  return new AsyncResult(INTERNAL, run(), callbacks);
}

/**
 * A pool of worker threads running task functions, with Python's Pool API.
 *
 * @example
 * import { Pool, tasks } from 'parapool';
 * const primes = tasks<typeof import('./workers/primes')>(require.resolve('./workers/primes'));
 * await using pool = new Pool();
 * const flags = await pool.map(primes.isPrime, [1, 2, 3, 4]);      // boolean[]
 * for await (const flag of pool.imap(primes.isPrime, numbers())) {}   // lazy, in input order
 */
export class Pool {
  readonly #runtime: Runtime;
  readonly #remote: boolean;
  /** The promises this pool handed out that have not settled: what terminate() rejects. */
  readonly #pending = new Set<Promise<unknown>>();

  /**
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) when `initargs` cannot cross threads.
   */
  constructor(options?: PoolOptions) {
    const opts = checkOptions('options', options);
    const remote = backendDispatcher(opts, ['workers', 'initializer', 'initargs', 'maxTasksPerChild', 'resourceLimits', 'idleTimeout']);
    this.#remote = remote !== undefined;
    if (remote !== undefined) {
      this.#runtime = new Runtime(remote, 'pool');
      return;
    }
    const workers = opts.workers === undefined ? os.availableParallelism() : checkInteger('workers', opts.workers, 1, 1024);
    const settings = {
      workers,
      maxTasksPerChild: opts.maxTasksPerChild === undefined ? undefined : checkInteger('maxTasksPerChild', opts.maxTasksPerChild, 1),
      idleTimeout: checkTimeout('idleTimeout', opts.idleTimeout),
      resourceLimits: checkResourceLimits(opts.resourceLimits),
      workerData: poolWorkerData(opts.initializer, opts.initargs),
    };
    const dispatcher = (dispatcherFactoryOf(opts) ?? localDispatcher)(settings);
    this.#runtime = new Runtime(dispatcher, 'pool');
  }

  /**
   * The number of worker threads; with a `backend`, the number of remote threads
   * serving its queue now (0 until workers heartbeat: wait for it to grow).
   */
  get workers(): number {
    return this.#runtime.workers;
  }

  /** Map `fn` over `items`; results in input order. */
  // One signature, so that a wrong item type is reported against `items` (with two overloads it
  // would be "no overload matches" against the call); `A` comes from the task when it is typed.
  map<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapOptions): Promise<Awaited<R>[]>;
  /**
   * Runs `fn(item)` for every item, in chunks, and resolves with the results in
   * input order. Rejects with a task's error as soon as it arrives (chunks not
   * yet started are not started), with `ERR_CANCELLED`/`ERR_TIMEOUT` on abort/timeout.
   *
   * Every failure is a rejection, never a synchronous throw (API.md §8):
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad argument.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) for an item that cannot cross, before anything is sent.
   * @example
   * const squares = await pool.map((x: number) => x * x, [1, 2, 3]);   // [1, 4, 9]
   */
  map(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions): Promise<unknown[]> {
    return this.#mapAll(fn, items, options, CallKind.Map, 'items', 'map');
  }

  /** Like map, but each item is an argument tuple: `fn(...tuple)`. */
  // One signature, as for map: a wrong tuple is reported against `tuples`.
  starmap<P extends unknown[], R>(fn: Task<(...args: P) => R>, tuples: Items<P>, options?: MapOptions): Promise<Awaited<R>[]>;
  /**
   * Python's `starmap`: `fn(...tuple)` for each tuple, results in input order.
   * Rejects (never throws) like `map`.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) naming `tuples[i]` when a tuple is not an array.
   * @example
   * const counts = await pool.starmap(primes.countPrimes, [[0, 1000], [1000, 2000]]);
   */
  starmap(fn: Task<AnyFunction>, tuples: Items<unknown[]>, options?: MapOptions): Promise<unknown[]> {
    return this.#mapAll(fn, tuples, options, CallKind.Starmap, 'tuples', 'starmap');
  }

  /** Lazy, ordered map. */
  imap<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  /**
   * Python's `imap`: reads `items` lazily with bounded read-ahead (an infinite
   * generator works in flat memory) and yields results in input order. A task
   * error is thrown at its position, after every earlier result. A bad
   * argument or a closed pool is reported by the first `next()`. Overlapping
   * `next()` calls each get their own result, in order.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, from the first `next()`) after close()/terminate().
   * @example
   * for await (const flag of pool.imap(primes.isPrime, naturals())) { if (flag) break; }
   */
  imap(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions): AsyncIterableIterator<unknown> {
    return this.#iterate(fn, items, options, true, 'imap');
  }

  /** Lazy map in completion order. */
  imapUnordered<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  /**
   * Python's `imap_unordered`: like imap, but yields results as they complete.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, from the first `next()`) after close()/terminate().
   * @example
   * for await (const size of pool.imapUnordered(files.compress, paths)) total += size;
   */
  imapUnordered(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions): AsyncIterableIterator<unknown> {
    return this.#iterate(fn, items, options, false, 'imapUnordered');
  }

  /** One call in a worker. */
  apply<R>(fn: Task<() => R>, args?: [], options?: ApplyOptions): Promise<Awaited<R>>;
  apply<P extends unknown[], R>(fn: TaskRef<(...args: P) => R>, args: NoInfer<P>, options?: ApplyOptions): Promise<Awaited<R>>;
  apply<P extends unknown[], R>(fn: (...args: P) => R, args: P, options?: ApplyOptions): Promise<Awaited<R>>;
  /**
   * Python's `apply`: runs `fn(...args)` in a worker and resolves with its result.
   * Rejects (never throws) for every failure.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @throws UncloneableError (`ERR_UNCLONEABLE`) when an argument cannot cross (its path is named).
   * @example
   * const big = await pool.apply(math.factorial, [1000]);   // bigint
   */
  apply(fn: Task<AnyFunction>, args: unknown[] = [], options?: ApplyOptions): Promise<unknown> {
    try {
      this.#runtime.checkOpen('apply');
      const spec = taskSpecOf(fn);
      if (!Array.isArray(args)) throw invalidArg('args', 'an array of arguments', args);
      const opts = checkOptions('options', options);
      const signal = checkSignal('signal', opts.signal);
      const timeout = checkTimeout('timeout', opts.timeout);
      return this.#exposed(this.#runtime.apply(spec, args, signal, timeout, 'apply'));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like apply, returning an AsyncResult. */
  applyAsync<R>(fn: Task<() => R>, args?: [], callbacks?: AsyncResultCallbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<P extends unknown[], R>(
    fn: TaskRef<(...args: P) => R>,
    args: NoInfer<P>,
    callbacks?: AsyncResultCallbacks<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  applyAsync<P extends unknown[], R>(fn: (...args: P) => R, args: P, callbacks?: AsyncResultCallbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  /**
   * Python's `apply_async`: an `AsyncResult`; `callback` or `errorCallback` runs once.
   * Every failure (a closed pool, a bad argument) rejects the AsyncResult.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, as the AsyncResult's error) after close()/terminate().
   * @example
   * const r = pool.applyAsync(math.factorial, [50], { callback: (v) => console.log(v) });
   * await r.get({ timeout: 1000 });
   */
  applyAsync(fn: Task<AnyFunction>, args: unknown[] = [], callbacks?: AsyncResultCallbacks<unknown>): AsyncResult<unknown> {
    return asyncResultOf(callbacks, () => this.apply(fn as Task<() => unknown>, args as []));
  }

  /** Like map, returning an AsyncResult. */
  mapAsync<A, R>(
    fn: Task<(item: A) => R>,
    items: Items<A>,
    options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  /**
   * Python's `map_async`: an `AsyncResult` of the whole list; every failure rejects it.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, as the AsyncResult's error) after close()/terminate().
   * @example
   * const r = pool.mapAsync(primes.isPrime, nums, { callback: (flags) => report(flags) });
   */
  mapAsync(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions & AsyncResultCallbacks<unknown[]>): AsyncResult<unknown[]> {
    return asyncResultOf(options, () => this.map(fn as AnyFunction, items, options));
  }

  /** Like starmap, returning an AsyncResult. */
  starmapAsync<P extends unknown[], R>(
    fn: Task<(...args: P) => R>,
    tuples: Items<P>,
    options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  /**
   * Python's `starmap_async`; every failure rejects the AsyncResult.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`, as the AsyncResult's error) after close()/terminate().
   * @example
   * const r = pool.starmapAsync(primes.countPrimes, [[0, 10], [10, 20]]);
   */
  starmapAsync(
    fn: Task<AnyFunction>,
    tuples: Items<unknown[]>,
    options?: MapOptions & AsyncResultCallbacks<unknown[]>,
  ): AsyncResult<unknown[]> {
    return asyncResultOf(options, () => this.starmap(fn as AnyFunction, tuples, options));
  }

  /**
   * A snapshot of the pool's work so far, to see whether a chunksize or a worker
   * count helps: per-worker utilization and tasks, the queue depth, completed and
   * failed tasks, and run-time and wait-time percentiles (ms). A task is one
   * apply, one chunk of a map, or one worker's share of a self-scheduled map.
   * Also after close() and terminate() (the figures stay as they were).
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) with a `backend`: its workers are measured on the worker command.
   * @example
   * const { runTime, waitTime, queued, workers } = pool.stats();
   * console.log(runTime.p50, waitTime.p99, queued, workers.map((w) => w.utilization));
   */
  stats(): PoolStats {
    return this.#runtime.stats();
  }

  /**
   * Stops accepting work; what was accepted runs to the end. Idempotent.
   * @example
   * pool.close(); await pool.join();
   */
  close(): void {
    this.#runtime.close();
  }

  /**
   * Resolves when every accepted call has finished and the workers have
   * exited. An `imap`/`imapUnordered` nobody finished reading is run to the
   * end of its input (as Python runs every accepted task); its results stay
   * readable. Every worker's initializer finishes first.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`, as a rejection) before close() or terminate().
   * @example
   * pool.close(); await pool.join();
   */
  join(): Promise<void> {
    return this.#runtime.join();
  }

  /**
   * Stops the workers now; every pending call rejects with `ERR_CANCELLED`,
   * including a map still reading its input. Those rejections are marked
   * handled: awaiting such a promise later still rejects, but one nobody
   * awaits does not crash the process as an unhandled rejection (the caller
   * asked for it; Python's terminate leaves abandoned results silent too).
   * @example
   * const running = pool.map(slow, items);
   * await pool.terminate();
   * await running.catch((error) => error.code);   // 'ERR_CANCELLED'
   */
  terminate(): Promise<void> {
    for (const pending of this.#pending) pending.catch(() => undefined);
    this.#pending.clear();
    return this.#runtime.terminate();
  }

  /**
   * The promise the caller gets for `inner`: the same outcome, tracked until it
   * settles so that terminate() can mark it handled. Settling it from `inner`'s
   * callbacks (instead of a reaction on the caller's promise) keeps an
   * unobserved task error an unhandled rejection, as any promise's would be.
   */
  #exposed<T>(inner: Promise<T>): Promise<T> {
    let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
    const outer = new Promise<T>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#pending.add(outer);
    inner.then(
      (value) => {
        this.#pending.delete(outer);
        settle.resolve(value);
      },
      (error: unknown) => {
        this.#pending.delete(outer);
        settle.reject(error);
      },
    );
    return outer;
  }

  /** `await using pool = new Pool()`: close() then join(). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  #mapAll(
    fn: Task<AnyFunction>,
    items: Items<unknown>,
    options: MapOptions | undefined,
    kind: CallKind,
    rootName: string,
    what: string,
  ): Promise<unknown[]> {
    try {
      this.#runtime.checkOpen(what);
      const spec = taskSpecOf(fn);
      const opts = checkOptions('options', options);
      const chunksize = opts.chunksize === undefined ? undefined : checkInteger('chunksize', opts.chunksize, 1);
      const call: ChunkedCallOptions = {
        chunksize,
        signal: checkSignal('signal', opts.signal),
        timeout: checkTimeout('timeout', opts.timeout),
        onProgress: checkProgress(opts.onProgress),
      };
      if (!isIterable(items) && !isAsyncIterable(items)) throw invalidArg(rootName, 'an Iterable or an AsyncIterable', items);
      return this.#exposed(this.#runtime.map(spec, kind, items, call, rootName, what));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #iterate(
    fn: Task<AnyFunction>,
    items: Items<unknown>,
    options: MapOptions | undefined,
    ordered: boolean,
    what: string,
  ): AsyncIterableIterator<unknown> {
    try {
      this.#runtime.checkOpen(what);
      const spec = taskSpecOf(fn);
      const opts = checkOptions('options', options);
      const call: ChunkedCallOptions = {
        chunksize:
          opts.chunksize === undefined
            ? adaptiveChunksize(this.#remote ? REMOTE_TARGET_CHUNK_MS : undefined)
            : checkInteger('chunksize', opts.chunksize, 1),
        signal: checkSignal('signal', opts.signal),
        timeout: checkTimeout('timeout', opts.timeout),
        onProgress: checkProgress(opts.onProgress),
      };
      return this.#runtime.iterate(spec, CallKind.Map, items, call, ordered, 'items', what);
    } catch (error) {
      return ResultIterator.failed(error);
    }
  }
}

function checkProgress(onProgress: unknown): ((done: number, total?: number) => void) | undefined {
  checkOptionalFunction('onProgress', onProgress);
  return onProgress as ((done: number, total?: number) => void) | undefined;
}

function checkCallbacks<R>(callbacks: AsyncResultCallbacks<R> | undefined): AsyncResultCallbacks<R> {
  const cbs = checkOptions('callbacks', callbacks);
  checkOptionalFunction('callback', cbs.callback);
  checkOptionalFunction('errorCallback', cbs.errorCallback);
  return { callback: cbs.callback, errorCallback: cbs.errorCallback };
}
