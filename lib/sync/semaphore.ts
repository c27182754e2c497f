/**
 * Semaphore and BoundedSemaphore in shared memory (Python's
 * `multiprocessing.Semaphore` / `BoundedSemaphore`).
 *
 * Words: the value, the number of threads parked (or about to park) on it, and
 * the bound (BoundedSemaphore). A waiter counts itself in `WAITERS` before it
 * parks on "value is 0"; `release` adds to the value, then wakes one parked
 * thread per unit whenever anyone is counted. Because every release wakes its
 * own waiter (instead of "wake only when the value leaves 0"), two
 * back-to-back releases wake two waiters; because the park compares the value
 * atomically, a release between "saw 0" and "parked" makes the park return at
 * once. This is the futex semaphore with a waiter count, as in glibc's
 * `new_sem` (`sem_post` wakes whenever `nwaiters` is non-zero).
 */
import { registerSharedType } from '../codec/codec';
import { InvalidStateError } from '../errors';
import { type AcquireOptions, type Placement, park, type RegionDescriptor, refuseProxy, type Steps, wake } from '../atomics/futex';
import { checkInteger } from '../validate';
import { acquireAsync, acquireBlocking, regionFor, revive, type Take, withHeld } from './primitive';

const VALUE = 1;
const WAITERS = 2;
const BOUND = 3;
const SIZE = 16;
const MAX_VALUE = 2 ** 31 - 1;

/**
 * A counter of free units: `acquire` takes one (waiting while there are none),
 * `release` gives units back. Any thread may release.
 *
 * Do not mix, on one thread, a pending async `acquire()` with a blocking
 * `acquireSync()` of the same semaphore: a release may wake the async waiter,
 * which cannot run while the thread is blocked.
 *
 * @example
 * const slots = new Semaphore(3);          // at most 3 downloads at once
 * await slots.withLock(() => download(url));
 */
export class Semaphore {
  /** Bytes of shared memory one Semaphore takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the semaphore. */
  readonly buffer: SharedArrayBuffer;
  /** Where the semaphore starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;
  readonly #take: Take;

  /**
   * @param value The initial number of free units, an integer from 0 to 2³¹−1.
   * @default value 1
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad value or placement.
   * @example
   * const slots = new Semaphore(3);
   */
  constructor(value = 1, placement?: Placement) {
    const bounded = new.target === BoundedSemaphore;
    const { region } = regionFor(bounded ? 'BoundedSemaphore' : 'Semaphore', SIZE, placement, (words) => {
      refuseProxy('value', 'an integer from 0 to 2147483647', value);
      words[VALUE] = checkInteger('value', value, 0, MAX_VALUE);
      words[BOUND] = bounded ? value : -1;
    });
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    this.#words = region.words;
    this.#take = { tryTake: () => this.#tryTake(), takeSteps: (deadline) => this.#takeSteps(deadline) };
  }

  /**
   * The Semaphore that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Semaphore.
   * @example
   * const same = Semaphore.attach(sem.buffer, sem.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): Semaphore {
    return revive('Semaphore', SIZE, buffer, byteOffset, () => new Semaphore());
  }

  /**
   * Takes one unit, waiting without blocking the event loop while there is
   * none. Resolves `true` once taken, `false` if `timeout` ms passed first (or
   * at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
   * @example
   * if (await sem.acquire({ timeout: 100 })) { try { work(); } finally { sem.release(); } }
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return acquireAsync(options, this.#take);
  }

  /**
   * Takes one unit, blocking the calling thread (meant for workers) while there is none.
   * Returns `true` once taken, `false` if `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * sem.acquireSync();
   * try { work(); } finally { sem.release(); }
   */
  acquireSync(options?: AcquireOptions): boolean {
    return acquireBlocking(options, this.#take);
  }

  #tryTake(): boolean {
    const words = this.#words;
    let value = Atomics.load(words, VALUE);
    while (value > 0) {
      const seen = Atomics.compareExchange(words, VALUE, value, value - 1);
      if (seen === value) return true;
      value = seen;
    }
    return false;
  }

  *#takeSteps(deadline: number): Steps<boolean> {
    const words = this.#words;
    for (;;) {
      if (this.#tryTake()) return true;
      Atomics.add(words, WAITERS, 1);
      const result = yield park(words, VALUE, 0, deadline);
      Atomics.sub(words, WAITERS, 1);
      // Even out of time, take a unit that a release meant for us: giving up
      // without it could leave the unit free while another waiter sleeps.
      if (result === 'timed-out') return this.#tryTake();
    }
  }

  /**
   * Gives `n` units back and wakes up to `n` waiting threads.
   * @default n 1
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `n` is not an integer from 1 and up.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the value would pass 2³¹−1, or a BoundedSemaphore's initial value.
   * @example
   * sem.release();
   */
  release(n = 1): void {
    refuseProxy('n', 'an integer from 1 to 2147483647', n);
    checkInteger('n', n, 1, MAX_VALUE);
    const words = this.#words;
    const bound = Atomics.load(words, BOUND);
    const limit = bound < 0 ? MAX_VALUE : bound;
    let value = Atomics.load(words, VALUE);
    for (;;) {
      if (value > limit - n) {
        throw new InvalidStateError(
          bound < 0 ? 'Semaphore released past 2³¹−1' : `BoundedSemaphore released too many times (its bound is ${bound})`,
        );
      }
      const seen = Atomics.compareExchange(words, VALUE, value, value + n);
      if (seen === value) break;
      value = seen;
    }
    if (Atomics.load(words, WAITERS) > 0) wake(words, VALUE, n);
  }

  /**
   * The number of free units right now (Python's `get_value()`).
   * @example
   * new Semaphore(2).getValue(); // 2
   */
  getValue(): number {
    return Atomics.load(this.#words, VALUE);
  }

  /**
   * Whether no unit is free right now.
   * @example
   * new Semaphore(0).locked(); // true
   */
  locked(): boolean {
    return this.getValue() === 0;
  }

  /**
   * Runs `fn` (sync or async) holding one unit, and gives it back after, also when `fn` throws.
   * Resolves with what `fn` returns.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `fn` is not a function.
   * @example
   * await sem.withLock(() => fetchOne());
   */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return withHeld(
      () => this.acquire(),
      () => this.release(),
      fn,
    );
  }
}

/**
 * A Semaphore that refuses to be released above its initial value: a release
 * without a matching acquire is a bug it reports.
 *
 * @example
 * const sem = new BoundedSemaphore(1);
 * sem.release(); // throws InvalidStateError (ERR_INVALID_STATE)
 */
export class BoundedSemaphore extends Semaphore {
  /**
   * The BoundedSemaphore that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no BoundedSemaphore.
   * @example
   * const same = BoundedSemaphore.attach(sem.buffer, sem.byteOffset);
   */
  static override attach(buffer: SharedArrayBuffer, byteOffset = 0): BoundedSemaphore {
    return revive('BoundedSemaphore', SIZE, buffer, byteOffset, () => new BoundedSemaphore());
  }
}

registerSharedType<Semaphore, RegionDescriptor>(Semaphore, 'parapool.Semaphore', {
  encode: (sem) => ({ buffer: sem.buffer, byteOffset: sem.byteOffset }),
  decode: ({ buffer, byteOffset }) => Semaphore.attach(buffer, byteOffset),
});
registerSharedType<BoundedSemaphore, RegionDescriptor>(BoundedSemaphore, 'parapool.BoundedSemaphore', {
  encode: (sem) => ({ buffer: sem.buffer, byteOffset: sem.byteOffset }),
  decode: ({ buffer, byteOffset }) => BoundedSemaphore.attach(buffer, byteOffset),
});
