/**
 * Pool: Python's `multiprocessing.Pool` on worker threads (API.md §2).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { ResourceLimits } from 'node:worker_threads';
import { AsyncResult, type AsyncResultCallbacks } from './async-result';
import { callSignal } from '../runtime/call-signal';
import { ChunkRun } from '../runtime/chunk-run';
import { adaptiveChunksize, isAsyncIterable, isIterable, openSource } from '../runtime/chunk-source';
import { decode, encode, type Encoded } from '../codec/codec';
import { mapCall } from '../runtime/map-call';
import { Dispatcher, type JobEntry } from '../runtime/dispatcher';
import { decodeError } from '../codec/error-codec';
import { CancelledError, InvalidStateError, PoolClosedError } from '../errors';
import { ResultIterator } from '../runtime/result-iterator';
import { CallKind, type PoolWorkerData, type TaskResponse, type TaskSpec } from '../runtime/protocol';
import { taskSpecOf, type AnyFunction, type Task, type TaskRef } from '../tasks/task-ref';
import { checkInteger, checkOptionalFunction, checkOptions, checkSignal, checkTimeout, invalidArg } from '../validate';

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
}

/** Options of every call that runs many items. */
export interface MapOptions {
  /**
   * Items per task sent to a worker. @default map/starmap: ceil(n / (4 × workers)), as Python;
   * imap/imapUnordered: adaptive, starting at 1 (results stream at once, as with Python's 1) and
   * growing while chunks finish in under 2 ms, so tiny items need no tuning.
   */
  readonly chunksize?: number;
  /** Aborting it drops queued work and stops running work of this call; the call rejects `ERR_CANCELLED`. */
  readonly signal?: AbortSignal;
  /** Milliseconds for the whole call; past it, as with an abort, but `ERR_TIMEOUT`. */
  readonly timeout?: number;
  /** Called as chunks finish: items done so far, and the total when known. */
  readonly onProgress?: (done: number, total?: number) => void;
}

/** Options of `apply`. */
export interface ApplyOptions {
  readonly signal?: AbortSignal;
  readonly timeout?: number;
}

type Items<T> = Iterable<T> | AsyncIterable<T>;

const devEntry = __filename.endsWith('.ts');
const WORKER_ENTRY = path.join(__dirname, '..', 'entry', devEntry ? 'pool-worker-dev.cjs' : 'pool-worker.js');

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
  /** The number of worker threads. */
  readonly workers: number;
  readonly #piscina: Piscina;
  readonly #dispatcher: Dispatcher;
  #state: 'open' | 'closed' | 'terminated' = 'open';
  #activeCalls = 0;
  #idle: (() => void) | undefined;
  #joined: Promise<void> | undefined;

  /**
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option.
   */
  constructor(options?: PoolOptions) {
    const opts = checkOptions('options', options);
    this.workers = opts.workers === undefined ? os.availableParallelism() : checkInteger('workers', opts.workers, 1, 1024);
    const maxTasksPerChild = opts.maxTasksPerChild === undefined ? undefined : checkInteger('maxTasksPerChild', opts.maxTasksPerChild, 1);
    const idleTimeout = checkTimeout('idleTimeout', opts.idleTimeout);
    if (opts.initargs !== undefined && !Array.isArray(opts.initargs)) throw invalidArg('initargs', 'an array', opts.initargs);
    if (opts.resourceLimits !== undefined && (typeof opts.resourceLimits !== 'object' || opts.resourceLimits === null)) {
      throw invalidArg('resourceLimits', 'an object of worker resource limits', opts.resourceLimits);
    }
    let workerData: PoolWorkerData = {};
    if (opts.initializer !== undefined) {
      const initargs = encode(opts.initargs ?? [], 'initargs');
      workerData = {
        initializer: taskSpecOf(opts.initializer, 'initializer'),
        initargs: initargs.value as unknown[],
        initargsShared: initargs.shared,
      };
    }
    let dispatcher: Dispatcher | undefined;
    this.#piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: idleTimeout === undefined ? this.workers : 0,
      maxThreads: this.workers,
      idleTimeout: idleTimeout ?? Infinity,
      concurrentTasksPerWorker: 1,
      workerData,
      resourceLimits: opts.resourceLimits,
      loadBalancer: (task, workers) => dispatcher!.balance(task, workers),
    });
    // piscina reports worker failures through the tasks they fail; with none in flight
    // it emits 'error', which must not crash the program.
    this.#piscina.on('error', () => undefined);
    dispatcher = new Dispatcher({
      piscina: this.#piscina,
      workers: this.workers,
      maxTasksPerChild,
      onBroken: () => void this.#piscina.destroy(),
    });
    this.#dispatcher = dispatcher;
    if (maxTasksPerChild !== undefined) this.#piscina.on('workerDestroy', dispatcher.forgetWorker);
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
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad argument.
   * @throws UncloneableError (`ERR_UNCLONEABLE`, as a rejection) for an item that cannot cross, before anything is sent.
   * @example
   * const squares = await pool.map((x: number) => x * x, [1, 2, 3]);   // [1, 4, 9]
   */
  map(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions): Promise<unknown[]> {
    return this.#mapAll(fn, items, options, CallKind.Map, 'items', 'map');
  }

  /** Like map, but each item is an argument tuple: `fn(...tuple)`. */
  starmap<P extends unknown[], R>(fn: TaskRef<(...args: P) => R>, tuples: Items<NoInfer<P>>, options?: MapOptions): Promise<Awaited<R>[]>;
  starmap<P extends unknown[], R>(fn: (...args: P) => R, tuples: Items<P>, options?: MapOptions): Promise<Awaited<R>[]>;
  /**
   * Python's `starmap`: `fn(...tuple)` for each tuple, results in input order.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
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
   * error is thrown at its position, after every earlier result.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
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
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
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
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @example
   * const big = await pool.apply(math.factorial, [1000]);   // bigint
   */
  apply(fn: Task<AnyFunction>, args: unknown[] = [], options?: ApplyOptions): Promise<unknown> {
    const spec = this.#prepare(fn, 'apply');
    if (!Array.isArray(args)) throw invalidArg('args', 'an array of arguments', args);
    const opts = checkOptions('options', options);
    const signal = checkSignal('signal', opts.signal);
    const timeout = checkTimeout('timeout', opts.timeout);
    let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
    const result = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    const encoded = encode(args, 'args');
    const call = callSignal(signal, timeout, 'apply');
    this.submitEncoded(spec, encoded, { signal: call.signal, onResponse: settle.resolve, onFailure: settle.reject });
    return this.#track(result.finally(call.dispose));
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
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @example
   * const r = pool.applyAsync(math.factorial, [50], { callback: (v) => console.log(v) });
   * await r.get({ timeout: 1000 });
   */
  applyAsync(fn: Task<AnyFunction>, args: unknown[] = [], callbacks?: AsyncResultCallbacks<unknown>): AsyncResult<unknown> {
    const cbs = this.#checkCallbacks(callbacks);
    return new AsyncResult(this.apply(fn as Task<() => unknown>, args as []), cbs);
  }

  /** Like map, returning an AsyncResult. */
  mapAsync<A, R>(
    fn: TaskRef<(item: A) => R>,
    items: Items<NoInfer<A>>,
    options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  mapAsync<A, R>(fn: (item: A) => R, items: Items<A>, options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>): AsyncResult<Awaited<R>[]>;
  /**
   * Python's `map_async`: an `AsyncResult` of the whole list.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @example
   * const r = pool.mapAsync(primes.isPrime, nums, { callback: (flags) => report(flags) });
   */
  mapAsync(fn: Task<AnyFunction>, items: Items<unknown>, options?: MapOptions & AsyncResultCallbacks<unknown[]>): AsyncResult<unknown[]> {
    const cbs = this.#checkCallbacks(options);
    return new AsyncResult(this.map(fn as AnyFunction, items, options), cbs);
  }

  /** Like starmap, returning an AsyncResult. */
  starmapAsync<P extends unknown[], R>(
    fn: TaskRef<(...args: P) => R>,
    tuples: Items<NoInfer<P>>,
    options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  starmapAsync<P extends unknown[], R>(
    fn: (...args: P) => R,
    tuples: Items<P>,
    options?: MapOptions & AsyncResultCallbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  /**
   * Python's `starmap_async`.
   *
   * @throws PoolClosedError (`ERR_POOL_CLOSED`) after close()/terminate().
   * @example
   * const r = pool.starmapAsync(primes.countPrimes, [[0, 10], [10, 20]]);
   */
  starmapAsync(
    fn: Task<AnyFunction>,
    tuples: Items<unknown[]>,
    options?: MapOptions & AsyncResultCallbacks<unknown[]>,
  ): AsyncResult<unknown[]> {
    const cbs = this.#checkCallbacks(options);
    return new AsyncResult(this.starmap(fn as AnyFunction, tuples, options), cbs);
  }

  /**
   * Stops accepting work; what was accepted runs to the end. Idempotent.
   * @example
   * pool.close(); await pool.join();
   */
  close(): void {
    if (this.#state === 'open') this.#state = 'closed';
  }

  /**
   * Resolves when every accepted call has finished and the workers have exited.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) before close() or terminate().
   */
  join(): Promise<void> {
    if (this.#state === 'open') throw new InvalidStateError('join() needs close() or terminate() first');
    this.#joined ??= (async () => {
      if (this.#activeCalls > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.#piscina.destroy();
    })();
    return this.#joined;
  }

  /**
   * Stops the workers now; every pending call rejects with `ERR_CANCELLED`.
   * @example
   * await pool.terminate();
   */
  async terminate(): Promise<void> {
    if (this.#state === 'terminated') return this.#joined;
    this.#state = 'terminated';
    this.#dispatcher.markTerminating();
    this.#dispatcher.failQueued(new CancelledError('The pool was terminated before the task finished'));
    this.#joined = this.#piscina.destroy();
    await this.#joined;
  }

  /** `await using pool = new Pool()`: close() then join(). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  // ---- machinery shared with Executor ----

  /**
   * @internal Runs `fn(...args)` once, through the pool's queue. Executor builds
   * Futures on it: `onStart` marks them running, and `cancelCall` succeeds while queued.
   */
  submitCall(
    spec: TaskSpec,
    args: unknown[],
    hooks: {
      signal?: AbortSignal | undefined;
      onStart?: () => void;
      onResponse: (value: unknown) => void;
      onFailure: (error: unknown) => void;
    },
  ): JobEntry {
    return this.submitEncoded(spec, encode(args, 'args'), hooks);
  }

  /** @internal submitCall with arguments already encoded (so that encoding errors throw in the caller first). */
  submitEncoded(
    spec: TaskSpec,
    encoded: Encoded<unknown[]>,
    hooks: {
      signal?: AbortSignal | undefined;
      onStart?: () => void;
      onResponse: (value: unknown) => void;
      onFailure: (error: unknown) => void;
    },
  ): JobEntry {
    return this.#dispatcher.submit({
      request: { file: spec.file, name: spec.name, kind: CallKind.Apply, args: encoded.value, shared: encoded.shared },
      transferList: encoded.transferList,
      signal: hooks.signal,
      onStart: hooks.onStart,
      onResponse: (response: TaskResponse) => {
        if (response.shared) decode(response);
        if (response.error !== undefined) hooks.onFailure(decodeError(response.error, false));
        else hooks.onResponse(response.result);
      },
      onFailure: hooks.onFailure,
    });
  }

  /** @internal Removes a queued call; false once it runs. */
  cancelCall(entry: JobEntry): boolean {
    return this.#dispatcher.cancel(entry);
  }

  /** @internal A lazy chunked iteration (Executor.map zips into starmap tuples). */
  iterateChunks(
    spec: TaskSpec,
    items: Items<unknown>,
    kind: CallKind,
    opts: Partial<MapOptions>,
    ordered: boolean,
    what: string,
  ): AsyncIterableIterator<unknown> {
    const chunksize = opts.chunksize === undefined ? adaptiveChunksize() : checkInteger('chunksize', opts.chunksize, 1);
    const signal = checkSignal('signal', opts.signal);
    const timeout = checkTimeout('timeout', opts.timeout);
    checkOptionalFunction('onProgress', opts.onProgress);
    const rootName = kind === CallKind.Starmap ? 'tuples' : 'items';
    const source = openSource(items, chunksize, rootName, kind === CallKind.Map);
    // Everything is validated: only now start the clock and count the call.
    const call = callSignal(signal, timeout, what);
    this.#activeCalls++;
    return new ResultIterator(
      (consumer) => {
        const run = new ChunkRun(
          this.#dispatcher,
          {
            spec,
            kind,
            source,
            ordered,
            readAhead: this.workers * 4,
            rootName,
            signal: call.signal,
            onProgress: opts.onProgress,
            release: 'manual',
          },
          consumer,
        );
        return run;
      },
      () => {
        call.dispose();
        this.#callEnded();
      },
    );
  }

  /** @internal Throws ERR_POOL_CLOSED unless open, and resolves the task. */
  prepareCall(fn: unknown, what: string): TaskSpec {
    return this.#prepare(fn, what);
  }

  // ---- internals ----

  #prepare(fn: unknown, what: string): TaskSpec {
    if (this.#state !== 'open') {
      throw new PoolClosedError(`Cannot call ${what}(): the pool is ${this.#state === 'closed' ? 'closed' : 'terminated'}`);
    }
    return taskSpecOf(fn);
  }

  #checkCallbacks<R>(callbacks: AsyncResultCallbacks<R> | undefined): AsyncResultCallbacks<R> {
    const cbs = checkOptions('callbacks', callbacks);
    checkOptionalFunction('callback', cbs.callback);
    checkOptionalFunction('errorCallback', cbs.errorCallback);
    return { callback: cbs.callback, errorCallback: cbs.errorCallback };
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#activeCalls++;
    return promise.finally(() => this.#callEnded());
  }

  #callEnded(): void {
    if (--this.#activeCalls === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  #mapAll(
    fn: Task<AnyFunction>,
    items: Items<unknown>,
    options: MapOptions | undefined,
    kind: CallKind,
    rootName: string,
    what: string,
  ): Promise<unknown[]> {
    const spec = this.#prepare(fn, what);
    const opts = checkOptions('options', options);
    const chunksize = opts.chunksize === undefined ? undefined : checkInteger('chunksize', opts.chunksize, 1);
    checkOptionalFunction('onProgress', opts.onProgress);
    const signal = checkSignal('signal', opts.signal);
    const timeout = checkTimeout('timeout', opts.timeout);
    if (!isIterable(items) && !isAsyncIterable(items)) throw invalidArg(rootName, 'an Iterable or an AsyncIterable', items);
    const call = callSignal(signal, timeout, what);
    const run = mapCall({
      dispatcher: this.#dispatcher,
      workers: this.workers,
      spec,
      kind,
      items,
      rootName,
      chunksize,
      signal: call.signal,
      onProgress: opts.onProgress,
    });
    return this.#track(run.finally(call.dispose));
  }

  #iterate(
    fn: Task<AnyFunction>,
    items: Items<unknown>,
    options: MapOptions | undefined,
    ordered: boolean,
    what: string,
  ): AsyncIterableIterator<unknown> {
    const spec = this.#prepare(fn, what);
    return this.iterateChunks(spec, items, CallKind.Map, checkOptions('options', options), ordered, what);
  }
}
