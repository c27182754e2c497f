/**
 * Lock: a non-recursive mutual-exclusion lock in shared memory (Python's
 * `multiprocessing.Lock`). One word: the robust futex mutex of
 * lib/atomics/mutex.ts, which also records who took it, so that a lock whose
 * holder died is handed to the next acquirer.
 */
import { registerSharedType } from '../codec/codec';
import type { AcquireOptions, Placement, RegionDescriptor, Steps } from '../atomics/futex';
import { Mutex } from '../atomics/mutex';
import { acquireAsync, acquireBlocking, registerConditionLock, regionFor, revive, type Take, withHeld } from './primitive';

const STATE = 1;
const SIZE = 8;

/**
 * A lock that any thread can take and any thread can release (like Python's
 * `Lock`, it has no owner that release checks). Passed to a task, a worker or
 * a queue, it arrives as the same lock over the same memory.
 *
 * It is robust: when the thread holding it dies (a worker that exits or is
 * `terminate()`d while holding it), the next acquirer gets it, and
 * `ownerDied` is `true` until that acquirer releases it (see
 * docs/shared-state.md, "When a thread dies holding a lock").
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
export class Lock {
  /** Bytes of shared memory one Lock takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the lock. */
  readonly buffer: SharedArrayBuffer;
  /** Where the lock starts in `buffer`. */
  readonly byteOffset: number;
  readonly #mutex: Mutex;
  readonly #take: Take;

  /**
   * Creates an unlocked lock, in a new SharedArrayBuffer or at `{ buffer, byteOffset }`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad placement.
   * @example
   * const lock = new Lock();
   */
  constructor(placement?: Placement) {
    const { region } = regionFor('Lock', SIZE, placement);
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    const mutex = new Mutex(region.words, STATE, { what: 'Lock' });
    this.#mutex = mutex;
    this.#take = {
      tryTake: () => mutex.tryLock(),
      *takeSteps(deadline: number): Steps<boolean> {
        return (yield* mutex.lockSteps(deadline)) !== 'timed-out';
      },
      takeBlocking: (deadline: number) => mutex.lockSync(deadline) !== 'timed-out',
    };
    registerConditionLock(this, {
      // Python's `Condition._is_owned` for a plain lock: "is it locked at all".
      isOwned: () => mutex.locked(),
      releaseSave: () => {
        mutex.unlock();
        return { depth: 0, chain: 0 };
      },
      *acquireRestore(): Steps<void> {
        yield* mutex.lockSteps(Number.POSITIVE_INFINITY);
      },
    });
  }

  /**
   * The Lock that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Lock.
   * @example
   * const same = Lock.attach(lock.buffer, lock.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): Lock {
    return revive('Lock', SIZE, buffer, byteOffset, () => new Lock());
  }

  /**
   * Takes the lock, waiting without blocking the event loop. Resolves `true`
   * once taken, `false` if `timeout` ms passed first (or at once with
   * `blocking: false`); a timeout of 0 or less means "do not wait".
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options, or a `timeout` with `blocking: false`.
   * @example
   * if (await lock.acquire({ timeout: 100 })) { try { work(); } finally { lock.release(); } }
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return acquireAsync(options, this.#take);
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
    return acquireBlocking(options, this.#take);
  }

  /**
   * Releases the lock; any thread may release it, and one waiter wakes.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not locked.
   * @example
   * lock.release();
   */
  release(): void {
    this.#mutex.unlock();
  }

  /**
   * Whether some thread holds the lock right now.
   * @example
   * lock.locked(); // false
   */
  locked(): boolean {
    return this.#mutex.locked();
  }

  /**
   * `true` while the lock is held by a thread that took it over from a thread
   * that died holding it: what the lock protects may be half-updated. It goes
   * back to `false` when that holder releases the lock.
   * @example
   * await lock.acquire();
   * if (lock.ownerDied) repair(shared);
   */
  get ownerDied(): boolean {
    return this.#mutex.ownerDied;
  }

  /**
   * Runs `fn` (sync or async) holding the lock, and releases it after, also when `fn` throws.
   * Resolves with what `fn` returns.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) when `fn` is not a function.
   * @example
   * const total = await lock.withLock(() => ++shared[0]);
   */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return withHeld(
      () => this.acquire(),
      () => this.release(),
      fn,
    );
  }
}

registerSharedType<Lock, RegionDescriptor>(Lock, 'parapool.Lock', {
  encode: (lock) => ({ buffer: lock.buffer, byteOffset: lock.byteOffset }),
  decode: ({ buffer, byteOffset }) => Lock.attach(buffer, byteOffset),
});
