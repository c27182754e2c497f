/**
 * The one mutex of parapool: a futex mutex in one Int32 word of shared
 * memory, attachable at any `(Int32Array, index)`. Lock, RLock, Barrier's
 * internal mutex and the SharedMemory directory (lib/shared/shm-directory.ts)
 * are all built on it. Async callers run the algorithm as `Steps` (./futex's
 * `runAsync`), blocking callers as a plain loop (`lockSync`); both make every
 * decision in one place (`#settle`).
 *
 * The algorithm is Ulrich Drepper's, "Futexes Are Tricky" (2011), mutex #3:
 * the word says "unlocked", "locked, nobody waits" or "locked, someone may
 * wait"; a waiter always marks the word contended before it sleeps, so the
 * unlocker knows it must wake one, and an uncontended lock and unlock touch the
 * word once each and never call `Atomics.notify`.
 *
 * It is robust, like a POSIX robust mutex: instead of Drepper's bare 1 the
 * locked word holds its owner's id (`threadId + 1`, as Linux robust futexes
 * hold the owner's TID), plus two flag bits:
 *
 *   bits 0-28  OWNER       the holder's threadId + 1 (0: unlocked)
 *   bit 29     OWNER_DIED  the holder took the mutex over from a dead thread
 *   bit 30     WAITERS     someone may be parked on the word
 *
 * A waiter parks in slices of `LIVENESS_SLICE_MS`; before it parks and after
 * each slice it asks ./liveness whether the owner died. If so it takes the
 * mutex over with one compare-and-swap (so of several waiters exactly one
 * wins) and sets OWNER_DIED, which stays set until its unlock: that is how the
 * new holder is told that the state the mutex guards may be half-updated.
 *
 * No spinning before parking: on a 2-core machine it gained nothing (see
 * docs/design/futex.md for the measurement and the command), and spinning burns
 * a core that another thread on a busy machine needs.
 */
import { threadId } from 'node:worker_threads';
import { InvalidStateError } from '../errors';
import { isThreadDead } from './liveness';
import { park, runAsync, type Steps, wake } from './futex';

/** This thread's id as stored in owner words: `worker_threads.threadId + 1`, so 0 means "no owner". */
export const OWNER_ID = threadId + 1;

const UNLOCKED = 0;
/** The owner bits of a locked word (`heldByThisThread` compares them with OWNER_ID). */
export const OWNER_MASK = 0x1fffffff;
const OWNER_DIED = 0x20000000;
const WAITERS = 0x40000000;
/** What `#settle` returns instead of a word to park on. */
const TAKEN = -1;
const TAKEN_OVER = -2;

/**
 * How long a waiter sleeps before it checks again whether the owner died.
 * Short enough that a dead owner's lock changes hands promptly, long enough
 * that a waiter costs nothing measurable while it waits.
 */
export const LIVENESS_SLICE_MS = 100;

/** How a lock attempt ended: taken, taken over from a dead owner, or out of time. */
export type LockOutcome = 'acquired' | 'owner-died' | 'timed-out';

export interface MutexOptions {
  /** Names the mutex in the `ERR_INVALID_STATE` of an unlock of an unlocked mutex. */
  readonly what: string;
  /**
   * Wake every waiter on unlock instead of one (each retakes the mutex in
   * turn): for a mutex that one thread may wait for both asynchronously and
   * blocked, where the one woken could be its own async waiter.
   * @default false
   */
  readonly wakeAll?: boolean;
}

/**
 * Called while a lock attempt waits, with the owner's threadId: `true` takes
 * the mutex over as if that owner had died (for a mutex whose holder is known
 * to let go within a bound). Dead owners are taken over without it.
 */
export type IsAbandoned = (ownerThreadId: number) => boolean;

/** A robust three-state futex mutex at `words[index]` (see the file comment). */
export class Mutex {
  readonly #words: Int32Array;
  readonly #index: number;
  readonly #what: string;
  readonly #wakeCount: number;

  constructor(words: Int32Array, index: number, options: MutexOptions) {
    this.#words = words;
    this.#index = index;
    this.#what = options.what;
    this.#wakeCount = options.wakeAll === true ? Number.POSITIVE_INFINITY : 1;
  }

  /** One compare-and-swap: takes the mutex if it is free. */
  tryLock(): boolean {
    return Atomics.compareExchange(this.#words, this.#index, UNLOCKED, OWNER_ID) === UNLOCKED;
  }

  /** Takes the mutex, parking until `deadline` (a `performance.now()` time). */
  *lockSteps(deadline: number, isAbandoned?: IsAbandoned): Steps<LockOutcome> {
    const words = this.#words;
    const index = this.#index;
    let word = Atomics.compareExchange(words, index, UNLOCKED, OWNER_ID);
    if (word === UNLOCKED) return 'acquired';
    for (;;) {
      const next = this.#settle(word, isAbandoned);
      if (next < 0) return next === TAKEN ? 'acquired' : 'owner-died';
      // 'ok' and 'not-equal' both mean "look again"; a waiter that times out
      // is off the wait list before any notify can pick it, so no wake-up is lost.
      const now = performance.now();
      if (now >= deadline) return 'timed-out';
      yield park(words, index, next, Math.min(deadline, now + LIVENESS_SLICE_MS));
      // A plain read is a guess that #settle's compare-and-swaps check.
      word = words[index]!;
    }
  }

  /**
   * `lockSteps`, blocking the calling thread: the same algorithm without the
   * generator and its park requests, since a blocked thread has nothing to
   * interleave (this is the path of every contended `acquireSync`).
   */
  lockSync(deadline = Number.POSITIVE_INFINITY, isAbandoned?: IsAbandoned): LockOutcome {
    const words = this.#words;
    const index = this.#index;
    let word = Atomics.compareExchange(words, index, UNLOCKED, OWNER_ID);
    if (word === UNLOCKED) return 'acquired';
    for (;;) {
      const next = this.#settle(word, isAbandoned);
      if (next < 0) return next === TAKEN ? 'acquired' : 'owner-died';
      if (deadline === Number.POSITIVE_INFINITY) Atomics.wait(words, index, next, LIVENESS_SLICE_MS);
      else {
        const left = deadline - performance.now();
        if (left <= 0) return 'timed-out';
        Atomics.wait(words, index, next, Math.min(left, LIVENESS_SLICE_MS));
      }
      // A plain read is a guess that #settle's compare-and-swaps check.
      word = words[index]!;
    }
  }

  /**
   * One look at a locked (or just freed) word, after the first attempt failed:
   * takes the mutex if it is free (marked contended: others may be parked),
   * takes it over from a dead or abandoned owner, or marks it contended and
   * returns the word to park on (never negative: the flags are bits 29-30).
   */
  #settle(word: number, isAbandoned: IsAbandoned | undefined): number {
    const words = this.#words;
    const index = this.#index;
    for (;;) {
      if (word === UNLOCKED) {
        word = Atomics.compareExchange(words, index, UNLOCKED, OWNER_ID | WAITERS);
        if (word === UNLOCKED) return TAKEN;
        continue;
      }
      const owner = (word & OWNER_MASK) - 1;
      if (owner >= 0 && ((owner !== threadId && isThreadDead(owner)) || isAbandoned?.(owner) === true)) {
        const seen = Atomics.compareExchange(words, index, word, OWNER_ID | OWNER_DIED | (word & WAITERS));
        if (seen === word) return TAKEN_OVER;
        word = seen;
        continue;
      }
      if ((word & WAITERS) === 0) {
        const seen = Atomics.compareExchange(words, index, word, word | WAITERS);
        if (seen !== word) {
          word = seen;
          continue;
        }
        word |= WAITERS;
      }
      return word;
    }
  }

  /** `lockSteps`, never blocking the event loop. */
  lockAsync(deadline = Number.POSITIVE_INFINITY): Promise<LockOutcome> {
    return this.tryLock() ? Promise.resolve('acquired') : runAsync(this.lockSteps(deadline));
  }

  /**
   * Frees the mutex, whoever holds it (a compare-and-swap loop, so that
   * freeing a free mutex is detected, not corrupted), and wakes a waiter.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when it is not locked.
   */
  unlock(): void {
    const words = this.#words;
    // First guess: this thread holds it and nobody waits, which one
    // compare-and-swap settles; what it reads back otherwise seeds the loop,
    // and "unlocked" (which would throw) is confirmed atomically.
    let word = Atomics.compareExchange(words, this.#index, OWNER_ID, UNLOCKED);
    if (word === OWNER_ID) return;
    for (;;) {
      if (word === UNLOCKED) throw new InvalidStateError(`Cannot release an unlocked ${this.#what}`);
      const seen = Atomics.compareExchange(words, this.#index, word, UNLOCKED);
      if (seen === word) break;
      word = seen;
    }
    if ((word & WAITERS) !== 0) wake(words, this.#index, this.#wakeCount);
  }

  /** Whether some thread holds the mutex right now. */
  locked(): boolean {
    return Atomics.load(this.#words, this.#index) !== UNLOCKED;
  }

  /**
   * Whether this thread holds it. A plain read is enough (and keeps RLock's
   * re-entry as cheap as Lock's take): a thread can only read its own id here
   * if it wrote it, and it always sees its own later writes, so a stale read
   * can never pass for ownership.
   */
  heldByThisThread(): boolean {
    return (this.#words[this.#index]! & OWNER_MASK) === OWNER_ID;
  }

  /**
   * The word and its index, for a hot path that makes `heldByThisThread`'s
   * test inline (`(words[index] & OWNER_MASK) === OWNER_ID`) instead of
   * calling through the mutex.
   */
  ownerWord(): { readonly words: Int32Array; readonly index: number } {
    return { words: this.#words, index: this.#index };
  }

  /** The `threadId` of the holder, or `undefined` when free. */
  get ownerThreadId(): number | undefined {
    const word = Atomics.load(this.#words, this.#index);
    return word === UNLOCKED ? undefined : (word & OWNER_MASK) - 1;
  }

  /** Whether the current holder took the mutex over from a thread that died holding it. */
  get ownerDied(): boolean {
    return (Atomics.load(this.#words, this.#index) & OWNER_DIED) !== 0;
  }
}
