/**
 * `Future<R>`: the result of one call that runs somewhere else, as in Python's
 * `concurrent.futures.Future`. Users only read it (result, exception, done,
 * callbacks, `await`); whoever runs the call (the Executor) drives its state
 * through a `FutureController`, which is not part of the public API.
 *
 * States, as in CPython's `_base.py`: PENDING → RUNNING → FINISHED, or
 * PENDING → CANCELLED. `cancel()` only succeeds while PENDING.
 */
import { inspect } from 'node:util';
import { CancelledError, TimeoutError } from '../errors';
import { checkFunction, checkInternal, checkOptions, checkTimeout, INTERNAL } from '../validate';
import { setLongTimeout, type LongTimer } from '../timers';

type FutureState = 'pending' | 'running' | 'cancelled' | 'finished';

/** Options of `Future.result()` and `Future.exception()`. */
export interface FutureWaitOptions {
  /**
   * Milliseconds to wait for the future to finish; past it the call rejects with
   * `ERR_TIMEOUT`. `0` checks without waiting.
   * @default undefined (wait as long as it takes)
   */
  readonly timeout?: number;
}

/** A done callback: called with the future once it is finished or cancelled. */
export type DoneCallback<R> = (future: Future<R>) => unknown;

/** Internal access to a future's state, for the controller and for `wait`/`asCompleted`. */
interface FutureInternals {
  readonly state: (future: Future<unknown>) => FutureState;
  readonly failed: (future: Future<unknown>) => boolean;
  /** Registers a listener called once when the future is done; returns its remover. */
  readonly onDone: (future: Future<unknown>, listener: () => void) => () => void;
  readonly transition: (future: Future<unknown>, state: FutureState, outcome?: { value?: unknown; error?: unknown }) => void;
}

/** Set once by Future's static block (which may read every future's private state): nothing per future. */
let internals: FutureInternals;

/**
 * The pending result of a call submitted to an `Executor`; Python's
 * `concurrent.futures.Future`. It is awaitable (`await future` gives the
 * result or throws the call's error), and has Python's methods too.
 *
 * A future that fails while nobody awaits it does not cause an unhandled
 * promise rejection: the error waits in the future until someone asks.
 *
 * @example
 * const future = executor.submit(primes.isPrime, 1_000_003);
 * future.addDoneCallback((f) => console.log('done', f.cancelled()));
 * console.log(await future.result({ timeout: 5000 }));   // true
 */
export class Future<R> implements PromiseLike<R> {
  #state: FutureState = 'pending';
  #value: R | undefined;
  #error: unknown;
  #failed = false;
  // Typed loosely so that Future<R> stays assignable to Future<unknown>.
  #callbacks: DoneCallback<never>[] = [];
  #listeners = new Set<() => void>();
  #promise: Promise<R> | undefined;
  readonly #onCancel: (() => boolean) | undefined;
  readonly #isRunning: (() => boolean) | undefined;

  /**
   * Futures are made by `executor.submit()`, not with `new`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when called from outside parapool.
   */
  constructor(token: typeof INTERNAL, onCancel?: () => boolean, isRunning?: () => boolean) {
    checkInternal(token, 'Future', '`executor.submit()`');
    this.#onCancel = onCancel;
    this.#isRunning = isRunning;
  }

  static {
    internals = {
      state: (future) => future.#current(),
      failed: (future) => future.#failed,
      onDone: (future, listener) => {
        future.#listeners.add(listener);
        return () => future.#listeners.delete(listener);
      },
      transition: (future, state, outcome) => future.#transition(state, outcome),
    };
  }

  /**
   * Attempts to cancel the call. Returns `true` if the future is now cancelled
   * (it was still waiting in the queue, or was already cancelled), `false` if
   * the call is running or finished: those cannot be cancelled.
   *
   * @example
   * const queued = executor.submit(slow.sleep, 1000);
   * if (queued.cancel()) console.log(queued.cancelled());   // true
   */
  cancel(): boolean {
    this.#current();
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    // The producer may find that the call has just started; then it is too late.
    if (this.#onCancel !== undefined && !this.#onCancel()) return false;
    if (this.#state !== 'pending') return this.#state === 'cancelled';
    this.#transition('cancelled');
    return true;
  }

  /** True if the future was cancelled. */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /** True while the call is running in a worker (not queued, not yet finished). */
  running(): boolean {
    return this.#current() === 'running';
  }

  /** True if the call finished (with a value or an error) or was cancelled. */
  done(): boolean {
    return this.#state === 'cancelled' || this.#state === 'finished';
  }

  /**
   * The call's value: waits up to `timeout` ms for it. Rejects with the call's
   * own error if it threw, with `ERR_CANCELLED` (`CancelledError`) if the future
   * was cancelled, and with `ERR_TIMEOUT` (`TimeoutError`) if it is still not
   * done after `timeout` (the call itself goes on).
   *
   * A timeout of 0 or less checks without waiting. Every failure is a rejection.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for a bad `timeout`.
   * @example
   * const value = await future.result({ timeout: 1000 });
   */
  result(options?: FutureWaitOptions): Promise<R> {
    let timeout: number | undefined;
    try {
      timeout = this.#checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#waitDone(timeout).then(() => this.#settledValue());
  }

  /**
   * The call's error, or `undefined` if it returned normally; waits like
   * `result()`. Rejects with `ERR_CANCELLED` if the future was cancelled and
   * with `ERR_TIMEOUT` past `timeout`.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for a bad `timeout`.
   * @example
   * const error = await future.exception();
   * if (error !== undefined) console.error('task failed:', error);
   */
  exception(options?: FutureWaitOptions): Promise<unknown> {
    let timeout: number | undefined;
    try {
      timeout = this.#checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#waitDone(timeout).then(() => {
      if (this.#state === 'cancelled') throw this.#cancelledError();
      return this.#failed ? this.#error : undefined;
    });
  }

  /**
   * Calls `callback(future)` once the future is finished or cancelled, or at
   * once if it already is. Callbacks run in the order they were added. A
   * callback that throws (or returns a promise that rejects) is reported with
   * `process.emitWarning` and does not stop the others.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) if `callback` is not a function.
   * @example
   * future.addDoneCallback((f) => { if (!f.cancelled()) f.result().then(console.log, console.error); });
   */
  addDoneCallback(callback: DoneCallback<R>): void {
    checkFunction('callback', callback);
    if (this.done()) this.#runCallback(callback);
    else this.#callbacks.push(callback as DoneCallback<never>);
  }

  /** Makes the future awaitable: `await future` is `await future.result()`. */
  // biome-ignore lint/suspicious/noThenProperty: a Future is awaitable by design (API.md §3)
  then<T1 = R, T2 = never>(
    onFulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onRejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    this.#promise ??= this.#waitDone(undefined).then(() => this.#settledValue());
    return this.#promise.then(onFulfilled, onRejected);
  }

  /** `await future.catch(handler)`, like a promise's. */
  catch<T = never>(onRejected?: ((reason: unknown) => T | PromiseLike<T>) | null): Promise<R | T> {
    return this.then(undefined, onRejected);
  }

  /** `future.finally(handler)`, like a promise's. */
  finally(onFinally?: (() => void) | null): Promise<R> {
    return this.then().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Future';
  }

  /** Shown by `console.log`: `Future { state: 'finished', value: 42 }`. */
  [inspect.custom](depth: number, options: { stylize: (text: string, style: string) => string }, inspectValue: typeof inspect): string {
    const parts = [`state: ${options.stylize(`'${this.#current()}'`, 'string')}`];
    if (this.#state === 'finished') {
      parts.push(
        this.#failed
          ? `error: ${inspectValue(this.#error, { depth: depth - 1 }).split('\n')[0]}`
          : `value: ${inspectValue(this.#value, { depth: depth - 1 })}`,
      );
    }
    return `Future { ${parts.join(', ')} }`;
  }

  /** The state, PENDING turned RUNNING once the producer reports the call started (a worker may hold it before). */
  #current(): FutureState {
    if (this.#state === 'pending' && this.#isRunning?.() === true) this.#state = 'running';
    return this.#state;
  }

  #checkWaitOptions(options: FutureWaitOptions | undefined): number | undefined {
    const { timeout } = checkOptions('options', options);
    return checkTimeout('timeout', timeout);
  }

  #settledValue(): R {
    if (this.#state === 'cancelled') throw this.#cancelledError();
    if (this.#failed) throw this.#error;
    return this.#value as R;
  }

  #cancelledError(): CancelledError {
    return new CancelledError('The future was cancelled');
  }

  /** Resolves once done; rejects with `ERR_TIMEOUT` after `timeout` ms. Never rejects otherwise. */
  #waitDone(timeout: number | undefined): Promise<void> {
    if (this.done()) return Promise.resolve();
    if (timeout === 0) return Promise.reject(new TimeoutError(`The future did not finish within ${timeout} ms`));
    return new Promise<void>((resolve, reject) => {
      let timer: LongTimer | undefined;
      const listener = (): void => {
        timer?.clear();
        resolve();
      };
      this.#listeners.add(listener);
      if (timeout !== undefined && timeout !== Infinity) {
        timer = setLongTimeout(() => {
          this.#listeners.delete(listener);
          reject(new TimeoutError(`The future did not finish within ${timeout} ms`));
        }, timeout);
      }
    });
  }

  #transition(state: FutureState, outcome?: { value?: unknown; error?: unknown }): void {
    this.#state = state;
    if (state === 'finished' && outcome !== undefined) {
      if ('error' in outcome) {
        this.#failed = true;
        this.#error = outcome.error;
      } else {
        this.#value = outcome.value as R;
      }
    }
    if (!this.done()) return;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    for (const callback of callbacks) this.#runCallback(callback as DoneCallback<R>);
  }

  #runCallback(callback: DoneCallback<R>): void {
    try {
      const returned = callback(this);
      if (typeof returned === 'object' && returned !== null && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => reportCallbackError(error));
      }
    } catch (error) {
      reportCallbackError(error);
    }
  }
}

function reportCallbackError(error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? String(error)) : inspect(error);
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`A Future done callback threw: ${message}`, { type: 'FutureCallbackWarning', detail });
}

/**
 * The producer's side of a future (internal; not exported from the package).
 * The Executor makes one per `submit`, marks the future running when a worker
 * starts the call, then resolves or rejects it. `onCancel` is asked when a user
 * cancels a pending future: it returns `false` if the call could no longer be
 * withdrawn from the queue (it has just started).
 */
export class FutureController<R> {
  /** The future users see. */
  readonly future: Future<R>;

  /** `onCancel` withdraws the pending call (false: too late); `isRunning` tells whether it has started. */
  constructor(onCancel?: () => boolean, isRunning?: () => boolean) {
    this.future = new Future<R>(INTERNAL, onCancel, isRunning);
  }

  /**
   * Marks the future running (Python's `set_running_or_notify_cancel`).
   * Returns `false` if it was cancelled meanwhile: then the call must not run.
   */
  markRunning(): boolean {
    const state = internals.state(this.future);
    if (state === 'cancelled') return false;
    if (state === 'pending') internals.transition(this.future, 'running');
    return state !== 'finished';
  }

  /** Finishes the future with a value; ignored if it is already done. Returns whether it took effect. */
  resolve(value: R): boolean {
    if (this.future.done()) return false;
    internals.transition(this.future, 'finished', { value });
    return true;
  }

  /** Finishes the future with an error; ignored if it is already done. Returns whether it took effect. */
  reject(error: unknown): boolean {
    if (this.future.done()) return false;
    internals.transition(this.future, 'finished', { error });
    return true;
  }
}

/** True for a `Future` made by this copy of parapool. */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}

/** For `wait`/`asCompleted`: whether a done future failed (finished with an error). */
export function futureFailed(future: Future<unknown>): boolean {
  return internals.failed(future);
}

/** For `wait`/`asCompleted`: calls `listener` once when `future` is done; returns its remover. */
export function onFutureDone(future: Future<unknown>, listener: () => void): () => void {
  return internals.onDone(future, listener);
}
