/**
 * Condition: a condition variable in shared memory (Python's
 * `multiprocessing.Condition`), over a Lock or an RLock.
 *
 * One word: a sequence counter. A waiter reads it while it still holds the
 * lock, releases the lock, and parks on "the counter still has the value I
 * read". `notify` (called holding the lock) bumps the counter before it wakes
 * anyone. So a notify that lands between the waiter's release and its park
 * changes the word and the park returns at once: no wake-up is lost. (Parking
 * on a constant instead, as some published libraries do, loses exactly those
 * wake-ups.) This is the futex condition variable of Rust's standard library
 * (`std::sys::sync::condvar::futex`: notify = `fetch_add(1)` then wake; wait =
 * load, unlock, `futex_wait(seq, loaded)`, lock), the same sequence-word design
 * as glibc's pre-2.25 `pthread_cond_*` (`__wakeup_seq`).
 */
import { registerSharedType } from '../codec/codec';
import { InvalidStateError } from '../errors';
import { checkFunction, checkInteger, invalidArg } from '../validate';
import {
  ACQUIRE_RESTORE,
  IS_OWNED,
  RELEASE_SAVE,
  attachRegion,
  createRegion,
  deadlineAfter,
  park,
  runAsync,
  runSync,
  seal,
  waitTimeout,
  wake,
  type AcquireOptions,
  type Placement,
  type Region,
  type Steps,
  type WaitOptions,
} from '../atomics/futex';
import { Lock } from './lock';
import { RLock } from './rlock';

const SEQUENCE = 1;
const SIZE = 8;

/**
 * Lets threads wait, holding a lock, until another thread notifies them that
 * something they wait for may have changed. `wait` releases the lock while it
 * waits and takes it back before it returns.
 *
 * A notify may, rarely, wake a waiter it did not count (one that was between
 * releasing the lock and parking); wait with `waitFor(predicate)` or in a
 * loop, as with every condition variable.
 *
 * With the default RLock, ownership is per thread (see `RLock`): on one
 * thread, `wait()` releases the lock that every async function of the thread
 * holds through it.
 *
 * @example
 * const cond = new Condition();   // over a new RLock
 * // consumer
 * await cond.withLock(() => cond.waitFor(() => items.length > 0));
 * // producer (any thread)
 * await cond.withLock(() => { items.push(x); cond.notify(); });
 */
export class Condition {
  /** Bytes of shared memory one Condition takes, not counting its lock. */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the condition's sequence counter. */
  readonly buffer: SharedArrayBuffer;
  /** Where the condition starts in `buffer`. */
  readonly byteOffset: number;
  /** The lock that `wait` releases and takes back. */
  readonly lock: Lock | RLock;
  readonly #words: Int32Array;

  /**
   * @param lock A `Lock` or `RLock` to wait with; a new `RLock` when omitted.
   * @default lock new RLock()
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `lock` is not a Lock or RLock, or for a bad placement.
   */
  constructor(lock?: Lock | RLock, placement?: Placement);
  /** @internal */
  constructor(lock: Lock | RLock | undefined, placement: Placement | undefined, region: Region);
  constructor(lock?: Lock | RLock, placement?: Placement, region?: Region) {
    if (lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw invalidArg('lock', 'a Lock or an RLock', lock);
    }
    const memory = region ?? createRegion('Condition', SIZE, placement);
    this.lock = lock ?? new RLock();
    this.buffer = memory.buffer;
    this.byteOffset = memory.byteOffset;
    this.#words = memory.words;
    if (region === undefined) seal('Condition', memory);
  }

  /**
   * The Condition that already lives at `byteOffset` in `buffer`, over `lock`
   * (the lock it was created with).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Condition, or `lock` is not a Lock or RLock.
   * @example
   * const same = Condition.attach(cond.buffer, cond.byteOffset, cond.lock);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset: number, lock: Lock | RLock): Condition {
    if (!(lock instanceof Lock) && !(lock instanceof RLock)) throw invalidArg('lock', 'a Lock or an RLock', lock);
    return new Condition(lock, undefined, attachRegion('Condition', SIZE, buffer, byteOffset));
  }

  /**
   * Takes the condition's lock (`lock.acquire`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * await cond.acquire();
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  /**
   * Takes the condition's lock, blocking the calling thread (`lock.acquireSync`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * cond.acquireSync();
   */
  acquireSync(options?: AcquireOptions): boolean {
    return this.lock.acquireSync(options);
  }

  /**
   * Releases the condition's lock (`lock.release`).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when it is not held (by this thread, for an RLock).
   * @example
   * cond.release();
   */
  release(): void {
    this.lock.release();
  }

  /**
   * Whether the condition's lock is held by some thread.
   * @example
   * cond.locked();
   */
  locked(): boolean {
    return this.lock.locked();
  }

  /**
   * Runs `fn` (sync or async) holding the condition's lock (`lock.withLock`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `fn` is not a function.
   * @example
   * await cond.withLock(() => { ready = true; cond.notifyAll(); });
   */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return this.lock.withLock(fn);
  }

  #checkOwned(what: string): void {
    if (!this.lock[IS_OWNED]()) throw new InvalidStateError(`Cannot ${what} on an un-acquired lock`);
  }

  /**
   * Releases the lock, waits (without blocking the event loop) for a notify,
   * then takes the lock back, however long that takes. Resolves `false` if
   * `timeout` ms passed without a notify, else `true`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * await cond.acquire();
   * try { while (!ready) await cond.wait(); } finally { cond.release(); }
   */
  wait(options?: WaitOptions): Promise<boolean> {
    try {
      const timeout = waitTimeout(options);
      this.#checkOwned('wait');
      return runAsync(this.#waitSteps(deadlineAfter(timeout)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `wait`, blocking the calling thread (meant for workers).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * cond.acquireSync();
   * try { while (!ready()) cond.waitSync(); } finally { cond.release(); }
   */
  waitSync(options?: WaitOptions): boolean {
    const timeout = waitTimeout(options);
    this.#checkOwned('wait');
    return runSync(this.#waitSteps(deadlineAfter(timeout)));
  }

  *#waitSteps(deadline: number): Steps<boolean> {
    // Read the sequence while holding the lock: every notify that can matter
    // to us happens after this read, because it needs the lock too.
    const sequence = Atomics.load(this.#words, SEQUENCE);
    const saved = this.lock[RELEASE_SAVE]();
    const result = yield park(this.#words, SEQUENCE, sequence, deadline);
    yield* this.lock[ACQUIRE_RESTORE](saved);
    return result !== 'timed-out';
  }

  /**
   * Waits until `predicate()` (sync or async, called holding the lock)
   * returns a truthy value, or `timeout` ms passed (counted across every
   * wake-up). Resolves with the predicate's last value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad predicate or options.
   * @example
   * await cond.withLock(() => cond.waitFor(() => queue.length > 0, { timeout: 500 }));
   */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    checkFunction('predicate', predicate);
    const timeout = waitTimeout(options);
    this.#checkOwned('wait');
    const deadline = deadlineAfter(timeout);
    let result = await predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.wait(deadline === Infinity ? undefined : { timeout: left });
      result = await predicate();
    }
    return result;
  }

  /**
   * `waitFor`, blocking the calling thread (meant for workers); `predicate` must be synchronous.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad predicate or options.
   * @example
   * cond.acquireSync();
   * try { cond.waitForSync(() => shared[0] === 10); } finally { cond.release(); }
   */
  waitForSync<T>(predicate: () => T, options?: WaitOptions): T {
    checkFunction('predicate', predicate);
    const timeout = waitTimeout(options);
    this.#checkOwned('wait');
    const deadline = deadlineAfter(timeout);
    let result = predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      this.waitSync(deadline === Infinity ? undefined : { timeout: left });
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` threads waiting on this condition; call it holding the lock.
   * @default n 1
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `n` is not an integer ≥ 0.
   * @example
   * await cond.withLock(() => cond.notify(2));
   */
  notify(n = 1): void {
    checkInteger('n', n, 0);
    this.#checkOwned('notify');
    if (n === 0) return;
    Atomics.add(this.#words, SEQUENCE, 1);
    wake(this.#words, SEQUENCE, n);
  }

  /**
   * Wakes every thread waiting on this condition; call it holding the lock.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @example
   * await cond.withLock(() => cond.notifyAll());
   */
  notifyAll(): void {
    this.#checkOwned('notify');
    Atomics.add(this.#words, SEQUENCE, 1);
    wake(this.#words, SEQUENCE);
  }
}

interface ConditionDescriptor {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  lock: Lock | RLock;
}

registerSharedType<Condition, ConditionDescriptor>(Condition, 'parapool.Condition', {
  encode: (cond) => ({ buffer: cond.buffer, byteOffset: cond.byteOffset, lock: cond.lock }),
  decode: ({ buffer, byteOffset, lock }) => Condition.attach(buffer, byteOffset, lock),
});
