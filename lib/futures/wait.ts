/**
 * Waiting on many futures at once: Python's `concurrent.futures.as_completed`
 * and `wait`, after CPython's `Lib/concurrent/futures/_base.py` (same order of
 * checks: futures already done are taken first, then a waiter is installed on
 * the rest and removed again however the wait ends).
 */
import { TimeoutError } from '../errors';
import { futureFailed, isFuture, onFutureDone, type Future } from './future';
import { ResultIterator } from '../runtime/result-iterator';
import { checkOptions, checkTimeout, invalidArg } from '../validate';
import { setLongTimeout } from '../timers';

/** `wait()` returns once any future is done. */
export const FIRST_COMPLETED = 'FIRST_COMPLETED';
/** `wait()` returns once any future fails, or when all are done if none fails. A cancelled future is not a failure. */
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
/** `wait()` returns once every future is done. */
export const ALL_COMPLETED = 'ALL_COMPLETED';

/** When `wait()` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Futures to wait on: any iterable of them, or a `Map` keyed by them (Python's `{future: input}` dict). */
export type FutureCollection<F extends Future<unknown>> = Iterable<F> | ReadonlyMap<F, unknown>;

/**
 * The type of the futures `asCompleted` yields: the future itself, with `then`
 * hidden from the type checker. TypeScript types a `for await` loop variable as
 * the awaited type of what the iterator yields, so over plain futures it would
 * claim the loop gets results. At run time the loop gets the very future
 * (usable as a `Map` key, with `result()`, `exception()`, ...); call
 * `future.result()` in the loop, as in Python.
 */
export type DoneFuture<F extends Future<unknown>> = F & { readonly then: never };

/** Options of `asCompleted()`. */
export interface AsCompletedOptions {
  /**
   * Milliseconds, counted from the call, after which the iteration throws
   * `ERR_TIMEOUT` if futures are still unfinished.
   * @default undefined (no limit)
   */
  readonly timeout?: number;
}

/** Options of `wait()`. */
export interface FuturesWaitOptions {
  /**
   * Milliseconds to wait at most; `wait` then returns what is done so far (it never throws on timeout).
   * @default undefined (no limit)
   */
  readonly timeout?: number;
  /**
   * When to return: `'FIRST_COMPLETED'`, `'FIRST_EXCEPTION'` or `'ALL_COMPLETED'`.
   * @default 'ALL_COMPLETED'
   */
  readonly returnWhen?: ReturnWhen;
}

/** What `wait()` resolves to. */
export interface DoneAndNotDone<F extends Future<unknown>> {
  /** The futures that finished or were cancelled. */
  readonly done: Set<F>;
  /** The others. */
  readonly notDone: Set<F>;
}

const RETURN_WHEN: readonly string[] = [FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED];

/** The distinct futures of the argument, in first-seen order; every item must be a Future. */
function distinctFutures<F extends Future<unknown>>(futures: FutureCollection<F>): Set<F> {
  if (typeof futures !== 'object' || futures === null || typeof (futures as Iterable<F>)[Symbol.iterator] !== 'function') {
    throw invalidArg('futures', 'an iterable of futures, or a Map keyed by futures', futures);
  }
  const items: Iterable<unknown> = futures instanceof Map ? futures.keys() : (futures as Iterable<F>);
  const distinct = new Set<F>();
  let index = 0;
  for (const item of items) {
    if (!isFuture(item)) throw invalidArg(`futures[${index}]`, 'a Future (from executor.submit())', item);
    distinct.add(item as F);
    index++;
  }
  return distinct;
}

/**
 * Yields each distinct future once as it completes (finishes or is cancelled):
 * those already done first, then the others in the order they finish. If
 * `timeout` ms (counted from the call) pass with futures still unfinished, the
 * iteration throws `ERR_TIMEOUT` (`TimeoutError`) with the message
 * `"N (of M) futures unfinished"`. Breaking out of the loop early is fine.
 *
 * A `Map` keyed by futures is read by its keys, so Python's
 * `{executor.submit(fn, x): x for x in xs}` idiom ports directly.
 *
 * Each future is dropped by the iterator once yielded (as CPython does since
 * bpo-14406), so a long loop keeps no finished result alive.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`, from the first `next()`) for anything that is not a future or a bad `timeout`.
 * @example
 * const inputs = new Map(numbers.map((n) => [executor.submit(math.smallestFactor, n), n]));
 * for await (const future of asCompleted(inputs, { timeout: 60_000 })) {
 *   console.log(inputs.get(future), await future.result());
 * }
 */
export function asCompleted<F extends Future<unknown>>(
  futures: ReadonlyMap<F, unknown>,
  options?: AsCompletedOptions,
): AsyncIterableIterator<DoneFuture<F>>;
export function asCompleted<F extends Future<unknown>>(
  futures: Iterable<F>,
  options?: AsCompletedOptions,
): AsyncIterableIterator<DoneFuture<F>>;
export function asCompleted<F extends Future<unknown>>(
  futures: FutureCollection<F>,
  options?: AsCompletedOptions,
): AsyncIterableIterator<DoneFuture<F>> {
  try {
    const { timeout: rawTimeout } = checkOptions('options', options);
    const timeout = checkTimeout('timeout', rawTimeout);
    const all = distinctFutures(futures);
    const deadline = timeout === undefined || timeout === Infinity ? undefined : performance.now() + timeout;
    return new AsCompletedIterator(all, deadline);
  } catch (error) {
    return ResultIterator.failed(error);
  }
}

/**
 * The iterator of `asCompleted`. Not an async generator: a generator's `yield`
 * awaits a thenable, and a Future is one, so it would yield results, not futures.
 */
class AsCompletedIterator<F extends Future<unknown>> implements AsyncIterableIterator<DoneFuture<F>> {
  readonly #total: number;
  readonly #deadline: number | undefined;
  readonly #finished: F[] = [];
  readonly #pending = new Set<F>();
  /** The done-listeners of the futures not yet done; a future leaves it as it finishes. */
  readonly #removers = new Map<F, () => void>();
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(all: Set<F>, deadline: number | undefined) {
    this.#total = all.size;
    this.#deadline = deadline;
    for (const future of all) {
      if (future.done()) {
        this.#finished.push(future);
        continue;
      }
      this.#pending.add(future);
      this.#removers.set(
        future,
        onFutureDone(future, () => {
          this.#removers.delete(future);
          this.#finished.push(future);
          this.#wake?.();
        }),
      );
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #queue: Promise<unknown> = Promise.resolve();

  /** Calls to `next()` that overlap are answered one after the other, each with its own future. */
  next(): Promise<IteratorResult<DoneFuture<F>, undefined>> {
    const step = this.#queue.then(() => this.#next());
    // Not step itself: the queue must not keep the last yielded future alive.
    this.#queue = step.then(
      () => undefined,
      () => undefined,
    );
    return step;
  }

  async #next(): Promise<IteratorResult<DoneFuture<F>, undefined>> {
    try {
      for (;;) {
        if (this.#closed) return { value: undefined, done: true };
        const future = this.#finished.shift();
        if (future !== undefined) {
          this.#pending.delete(future);
          return { value: future as DoneFuture<F>, done: false };
        }
        if (this.#pending.size === 0) {
          this.#close();
          return { value: undefined, done: true };
        }
        const remaining = this.#deadline === undefined ? undefined : this.#deadline - performance.now();
        if (remaining !== undefined && remaining <= 0) {
          throw new TimeoutError(`${this.#pending.size} (of ${this.#total}) futures unfinished`);
        }
        await new Promise<void>((resolve) => {
          const timer = remaining === undefined ? undefined : setLongTimeout(resolve, Math.ceil(remaining));
          this.#wake = () => {
            timer?.clear();
            resolve();
          };
        });
        this.#wake = undefined;
      }
    } catch (error) {
      this.#close();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<DoneFuture<F>, undefined>> {
    this.#close();
    return { value: undefined, done: true };
  }

  #close(): void {
    this.#closed = true;
    for (const remove of this.#removers.values()) remove();
    this.#removers.clear();
    this.#pending.clear();
    this.#finished.length = 0;
    this.#wake?.();
  }
}

/**
 * Waits until the futures meet `returnWhen`, or `timeout` ms pass, and returns
 * which are done and which are not. It never throws on timeout: check
 * `notDone.size`.
 *
 * - `'FIRST_COMPLETED'`: returns once any future finishes or is cancelled.
 * - `'FIRST_EXCEPTION'`: returns once any future fails (a cancelled one is not
 *   a failure), or when all are done.
 * - `'ALL_COMPLETED'` (the default): returns once all are done.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for anything that is not a future, a bad `timeout` or `returnWhen`.
 * @example
 * const { done, notDone } = await wait(futures, { timeout: 5000, returnWhen: 'FIRST_EXCEPTION' });
 * for (const f of done) if (await f.exception()) console.error('failed:', await f.exception());
 */
export function wait<F extends Future<unknown>>(futures: ReadonlyMap<F, unknown>, options?: FuturesWaitOptions): Promise<DoneAndNotDone<F>>;
export function wait<F extends Future<unknown>>(futures: Iterable<F>, options?: FuturesWaitOptions): Promise<DoneAndNotDone<F>>;
export async function wait<F extends Future<unknown>>(
  futures: FutureCollection<F>,
  options?: FuturesWaitOptions,
): Promise<DoneAndNotDone<F>> {
  const { timeout: rawTimeout, returnWhen = ALL_COMPLETED } = checkOptions('options', options);
  const timeout = checkTimeout('timeout', rawTimeout);
  if (!RETURN_WHEN.includes(returnWhen as string)) {
    throw invalidArg('returnWhen', `one of ${RETURN_WHEN.map((name) => `'${name}'`).join(', ')}`, returnWhen);
  }
  const all = distinctFutures(futures);
  const failedOne = (future: F): boolean => !future.cancelled() && futureFailed(future);
  const satisfied = (): boolean => {
    let doneCount = 0;
    let anyFailed = false;
    for (const future of all) {
      if (!future.done()) continue;
      doneCount++;
      anyFailed ||= failedOne(future);
    }
    if (doneCount === all.size) return true;
    if (returnWhen === FIRST_COMPLETED) return doneCount > 0;
    if (returnWhen === FIRST_EXCEPTION) return anyFailed;
    return false;
  };
  if (!satisfied() && timeout !== 0) {
    const removers: (() => void)[] = [];
    try {
      await new Promise<void>((resolve) => {
        const timer = timeout === undefined || timeout === Infinity ? undefined : setLongTimeout(resolve, timeout);
        for (const future of all) {
          if (future.done()) continue;
          removers.push(
            onFutureDone(future, () => {
              if (!satisfied()) return;
              timer?.clear();
              resolve();
            }),
          );
        }
      });
    } finally {
      for (const remove of removers) remove();
    }
  }
  const done = new Set<F>();
  const notDone = new Set<F>();
  for (const future of all) (future.done() ? done : notDone).add(future);
  return { done, notDone };
}
