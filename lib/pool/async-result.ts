/**
 * AsyncResult: Python's `multiprocessing.pool.AsyncResult`, also awaitable.
 */
import { InvalidStateError, TimeoutError } from '../errors';
import { checkInternal, checkOptions, checkTimeout, type INTERNAL } from '../validate';
import { setLongTimeout, type LongTimer } from '../timers';

/** Callbacks of `applyAsync`, `mapAsync` and `starmapAsync`: exactly one of them runs, once. */
export interface AsyncResultCallbacks<R> {
  /** Gets the value when the call succeeds. */
  readonly callback?: (value: R) => void;
  /** Gets the error when the call fails. */
  readonly errorCallback?: (error: unknown) => void;
}

type State<R> = { status: 'pending' } | { status: 'fulfilled'; value: R } | { status: 'rejected'; error: unknown };

/**
 * The pending result of `applyAsync`, `mapAsync` or `starmapAsync`.
 * A failure that nobody asks about is not an unhandled rejection.
 *
 * @example
 * const result = pool.applyAsync(math.factorial, [20], { callback: (v) => console.log(v) });
 * const value = await result.get({ timeout: 5000 });   // or simply: await result
 */
export class AsyncResult<R> implements PromiseLike<R> {
  #state: State<R> = { status: 'pending' };
  readonly #settled: Promise<void>;

  /**
   * AsyncResults are made by the Pool (`applyAsync`, `mapAsync`, `starmapAsync`), not with `new`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when called from outside parapool.
   */
  constructor(token: typeof INTERNAL, promise: Promise<R>, callbacks: AsyncResultCallbacks<R> = {}) {
    checkInternal(token, 'AsyncResult', '`pool.applyAsync()`, `pool.mapAsync()` or `pool.starmapAsync()`');
    this.#settled = promise.then(
      (value) => {
        this.#state = { status: 'fulfilled', value };
        if (callbacks.callback) report(() => callbacks.callback!(value));
      },
      (error: unknown) => {
        this.#state = { status: 'rejected', error };
        if (callbacks.errorCallback) report(() => callbacks.errorCallback!(error));
      },
    );
  }

  /**
   * The value, once ready; rejects with the call's error.
   *
   * @throws TimeoutError (`ERR_TIMEOUT`, as a rejection) when `timeout` ms pass first; the call goes on.
   */
  async get(options?: { timeout?: number }): Promise<R> {
    const timeout = checkTimeout('timeout', checkOptions('options', options).timeout);
    if (!(await this.#waitFor(timeout))) throw new TimeoutError(`The result was not ready within ${timeout} ms`);
    const state = this.#state;
    if (state.status === 'fulfilled') return state.value;
    throw (state as { error: unknown }).error;
  }

  /** Resolves when the result is ready or `timeout` ms have passed; never rejects. */
  async wait(options?: { timeout?: number }): Promise<void> {
    const timeout = checkTimeout('timeout', checkOptions('options', options).timeout);
    await this.#waitFor(timeout);
  }

  /** True once the call has finished, either way. */
  ready(): boolean {
    return this.#state.status !== 'pending';
  }

  /**
   * True if the call finished without an error.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) while not ready.
   */
  successful(): boolean {
    if (this.#state.status === 'pending') throw new InvalidStateError('The result is not ready yet: call successful() after ready()');
    return this.#state.status === 'fulfilled';
  }

  // biome-ignore lint/suspicious/noThenProperty: an AsyncResult is awaitable by design (API.md §2)
  then<T1 = R, T2 = never>(
    onfulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.get().then(onfulfilled, onrejected);
  }

  async #waitFor(timeout: number | undefined): Promise<boolean> {
    if (this.#state.status !== 'pending') return true;
    if (timeout === 0) return false;
    if (timeout === undefined || timeout === Infinity) {
      await this.#settled;
      return true;
    }
    let timer: LongTimer | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setLongTimeout(() => resolve(false), timeout);
    });
    try {
      return await Promise.race([this.#settled.then(() => true), expired]);
    } finally {
      timer?.clear();
    }
  }
}

/** A throwing callback must not break the pool: report it as a warning. */
function report(run: () => void): void {
  try {
    run();
  } catch (error) {
    process.emitWarning(error instanceof Error ? error : new Error(String(error)), { type: 'ParapoolCallbackError' });
  }
}
