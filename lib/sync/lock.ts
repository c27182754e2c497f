/**
 * Lock: a non-recursive mutual-exclusion lock in shared memory (Python's
 * `multiprocessing.Lock`). One word, Drepper's three-state futex mutex (see
 * `lockWordSteps` in ./futex).
 */
import { registerSharedType } from '../codec/codec';
import { checkFunction } from '../validate';
import {
  ACQUIRE_RESTORE,
  IS_OWNED,
  RELEASE_SAVE,
  acquireDeadline,
  attachRegion,
  createRegion,
  isLockedWord,
  lockWordSteps,
  runAsync,
  runSync,
  seal,
  tryLockWord,
  unlockWord,
  type AcquireOptions,
  type ConditionLock,
  type Placement,
  type Region,
  type RegionDescriptor,
  type Steps,
} from '../atomics/futex';

const STATE = 1;
const SIZE = 8;

/**
 * A lock that any thread can take and any thread can release (like Python's
 * `Lock`, it has no owner). Passed to a task, a worker or a queue, it arrives
 * as the same lock over the same memory.
 *
 * Do not mix, on one thread, a pending async `acquire()` with a blocking
 * `acquireSync()` of the same lock: the release may wake the async waiter,
 * which cannot run while the thread is blocked.
 *
 * @example
 * const lock = new Lock();
 * await lock.withLock(async () => { counter.value += 1; });
 * // in a worker:
 * lock.acquireSync();
 * try { counter.value += 1; } finally { lock.release(); }
 */
export class Lock implements ConditionLock {
  /** Bytes of shared memory one Lock takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the lock. */
  readonly buffer: SharedArrayBuffer;
  /** Where the lock starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;

  /**
   * Creates an unlocked lock, in a new SharedArrayBuffer or at `{ buffer, byteOffset }`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad placement.
   */
  constructor(placement?: Placement);
  /** @internal */
  constructor(placement: Placement | undefined, region: Region);
  constructor(placement?: Placement, region?: Region) {
    const memory = region ?? createRegion('Lock', SIZE, placement);
    this.buffer = memory.buffer;
    this.byteOffset = memory.byteOffset;
    this.#words = memory.words;
    if (region === undefined) seal('Lock', memory);
  }

  /**
   * The Lock that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Lock.
   * @example
   * const same = Lock.attach(lock.buffer, lock.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): Lock {
    return new Lock(undefined, attachRegion('Lock', SIZE, buffer, byteOffset));
  }

  /**
   * Takes the lock, waiting without blocking the event loop. Resolves `true`
   * once taken, `false` if `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options, or a `timeout` with `blocking: false`.
   * @example
   * if (await lock.acquire({ timeout: 100 })) { try { work(); } finally { lock.release(); } }
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = options === undefined ? Infinity : acquireDeadline(options);
      if (tryLockWord(this.#words, STATE)) return Promise.resolve(true);
      if (deadline === undefined) return Promise.resolve(false);
      return runAsync(lockWordSteps(this.#words, STATE, deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes the lock, blocking the calling thread (meant for workers). Returns
   * `true` once taken, `false` if `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * lock.acquireSync();
   * try { shared[0] += 1; } finally { lock.release(); }
   */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = options === undefined ? Infinity : acquireDeadline(options);
    if (tryLockWord(this.#words, STATE)) return true;
    if (deadline === undefined) return false;
    return runSync(lockWordSteps(this.#words, STATE, deadline));
  }

  /**
   * Releases the lock; any thread may release it, and one waiter wakes.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not locked.
   * @example
   * lock.release();
   */
  release(): void {
    unlockWord(this.#words, STATE, 'Lock');
  }

  /**
   * Whether some thread holds the lock right now.
   * @example
   * lock.locked(); // false
   */
  locked(): boolean {
    return isLockedWord(this.#words, STATE);
  }

  /**
   * Runs `fn` (sync or async) holding the lock, and releases it after, also when `fn` throws.
   * Resolves with what `fn` returns.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `fn` is not a function.
   * @example
   * const total = await lock.withLock(() => ++shared[0]);
   */
  async withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    checkFunction('fn', fn);
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** @internal Python's `Condition._is_owned` for a plain lock: "is it locked at all". */
  [IS_OWNED](): boolean {
    return this.locked();
  }

  /** @internal */
  [RELEASE_SAVE](): number {
    this.release();
    return 0;
  }

  /** @internal */
  *[ACQUIRE_RESTORE](): Steps<void> {
    yield* lockWordSteps(this.#words, STATE, Infinity);
  }
}

registerSharedType<Lock, RegionDescriptor>(Lock, 'parapool.Lock', {
  encode: (lock) => ({ buffer: lock.buffer, byteOffset: lock.byteOffset }),
  decode: ({ buffer, byteOffset }) => Lock.attach(buffer, byteOffset),
});
