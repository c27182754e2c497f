/**
 * RLock: a recursive, owner-tracked lock in shared memory (Python's
 * `multiprocessing.RLock`). Words: the futex mutex (./futex), the owner
 * (`threadId + 1`, 0 for none) and the recursion count. Only the owner writes
 * the owner and count words, and only while it holds the mutex.
 */
import { threadId } from 'node:worker_threads';
import { registerSharedType } from '../codec/codec';
import { InvalidStateError } from '../errors';
import { checkFunction } from '../validate';
import {
  ACQUIRE_RESTORE,
  IS_OWNED,
  OWNER_ID,
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
const OWNER = 2;
const COUNT = 3;
const SIZE = 16;
const MAX_DEPTH = 2 ** 31 - 1;

/**
 * A lock that the thread holding it may take again; it is free once released
 * as many times as it was taken, and only its owner thread may release it.
 *
 * Ownership is per thread, as in Python (`worker_threads.threadId`; the main
 * thread is 0). Async callers on one thread therefore share ownership: while
 * one of them holds the RLock, `acquire()` from another async function on the
 * same thread succeeds at once (recursively) instead of waiting. Where async
 * functions of one thread must exclude each other, use a `Lock`.
 *
 * @example
 * const rlock = new RLock();
 * await rlock.withLock(async () => {
 *   await rlock.withLock(() => step());   // same thread: recursion, no deadlock
 * });
 */
export class RLock implements ConditionLock {
  /** Bytes of shared memory one RLock takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the lock. */
  readonly buffer: SharedArrayBuffer;
  /** Where the lock starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;

  /**
   * Creates an unlocked RLock, in a new SharedArrayBuffer or at `{ buffer, byteOffset }`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad placement.
   */
  constructor(placement?: Placement);
  /** @internal */
  constructor(placement: Placement | undefined, region: Region);
  constructor(placement?: Placement, region?: Region) {
    const memory = region ?? createRegion('RLock', SIZE, placement);
    this.buffer = memory.buffer;
    this.byteOffset = memory.byteOffset;
    this.#words = memory.words;
    if (region === undefined) seal('RLock', memory);
  }

  /**
   * The RLock that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no RLock.
   * @example
   * const same = RLock.attach(rlock.buffer, rlock.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): RLock {
    return new RLock(undefined, attachRegion('RLock', SIZE, buffer, byteOffset));
  }

  /**
   * Takes the lock without blocking the event loop: at once (one level deeper)
   * when this thread owns it already. Resolves `true` once taken, `false` if
   * `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) past 2³¹−1 levels of recursion.
   * @example
   * if (await rlock.acquire({ timeout: 50 })) { try { work(); } finally { rlock.release(); } }
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = options === undefined ? Infinity : acquireDeadline(options);
      if (this.#enter()) return Promise.resolve(true);
      if (deadline === undefined) return Promise.resolve(false);
      return runAsync(this.#takeSteps(deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes the lock, blocking the calling thread (meant for workers); at once
   * when this thread owns it already. Returns `true` once taken, `false` if
   * `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) past 2³¹−1 levels of recursion.
   * @example
   * rlock.acquireSync();
   * try { shared[0] += 1; } finally { rlock.release(); }
   */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = options === undefined ? Infinity : acquireDeadline(options);
    if (this.#enter()) return true;
    if (deadline === undefined) return false;
    return runSync(this.#takeSteps(deadline));
  }

  /**
   * Recursion by the owner, or the uncontended take: the paths that never wait.
   *
   * OWNER and COUNT are read and written with plain (not Atomics) accesses:
   * only the holder writes them, between its atomic take and its atomic release
   * of STATE, which order those writes for the next holder; and a thread can
   * only ever read OWNER as its own id if it wrote that itself (a thread always
   * sees its own writes), so a stale read by another thread can never pass for
   * ownership. Measured: 2× faster uncontended acquire/release.
   */
  #enter(): boolean {
    const words = this.#words;
    if (words[OWNER] === OWNER_ID) {
      const depth = words[COUNT]!;
      if (depth === MAX_DEPTH) throw new InvalidStateError('RLock acquired too many times (2³¹−1 levels)');
      words[COUNT] = depth + 1;
      return true;
    }
    if (!tryLockWord(words, STATE)) return false;
    this.#own(1);
    return true;
  }

  #own(depth: number): void {
    this.#words[OWNER] = OWNER_ID;
    this.#words[COUNT] = depth;
  }

  *#takeSteps(deadline: number): Steps<boolean> {
    if (!(yield* lockWordSteps(this.#words, STATE, deadline))) return false;
    this.#own(1);
    return true;
  }

  /**
   * Releases one level; the lock is free once every level is released.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when this thread does not own the lock.
   * @example
   * rlock.release();
   */
  release(): void {
    const words = this.#words;
    if (words[OWNER] !== OWNER_ID) {
      throw new InvalidStateError(
        isLockedWord(words, STATE)
          ? `Cannot release an RLock owned by thread ${Atomics.load(words, OWNER) - 1} from thread ${threadId}`
          : 'Cannot release an unlocked RLock',
      );
    }
    const depth = words[COUNT]! - 1;
    words[COUNT] = depth;
    if (depth === 0) {
      words[OWNER] = 0;
      unlockWord(words, STATE, 'RLock');
    }
  }

  /**
   * Whether some thread holds the lock right now.
   * @example
   * rlock.locked(); // false
   */
  locked(): boolean {
    return isLockedWord(this.#words, STATE);
  }

  /**
   * The `worker_threads.threadId` of the thread that holds the lock (main thread: 0), or `undefined` when free.
   * @example
   * rlock.ownerThreadId === threadId; // "do I hold it?"
   */
  get ownerThreadId(): number | undefined {
    const owner = Atomics.load(this.#words, OWNER);
    return owner === 0 ? undefined : owner - 1;
  }

  /**
   * Runs `fn` (sync or async) holding the lock, and releases it after, also when `fn` throws.
   * Resolves with what `fn` returns.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `fn` is not a function.
   * @example
   * await rlock.withLock(() => { shared[0] += 1; });
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

  /** @internal */
  [IS_OWNED](): boolean {
    return Atomics.load(this.#words, OWNER) === OWNER_ID;
  }

  /** @internal Python's `RLock._release_save`: drops every level at once, returns the depth. */
  [RELEASE_SAVE](): number {
    if (!this[IS_OWNED]()) throw new InvalidStateError('Cannot release an RLock this thread does not own');
    const depth = Atomics.load(this.#words, COUNT);
    Atomics.store(this.#words, COUNT, 0);
    Atomics.store(this.#words, OWNER, 0);
    unlockWord(this.#words, STATE, 'RLock');
    return depth;
  }

  /** @internal Python's `RLock._acquire_restore`. */
  *[ACQUIRE_RESTORE](depth: number): Steps<void> {
    yield* lockWordSteps(this.#words, STATE, Infinity);
    this.#own(depth);
  }
}

registerSharedType<RLock, RegionDescriptor>(RLock, 'parapool.RLock', {
  encode: (lock) => ({ buffer: lock.buffer, byteOffset: lock.byteOffset }),
  decode: ({ buffer, byteOffset }) => RLock.attach(buffer, byteOffset),
});
