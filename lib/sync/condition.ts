/**
 * Condition: a condition variable in shared memory (Python's
 * `multiprocessing.Condition`), over a Lock or an RLock.
 *
 * `notify(n)` wakes at most n of the threads waiting at that moment, no
 * more, and none that start waiting later. Waiters are kept in two groups, as
 * in glibc's condition variable since 2.25 (`pthread_cond_wait.c`, "G1" and
 * "G2"): a new waiter joins G2; signals go to G1 only; when G1 has no
 * unsignalled member left, the next signal makes G2 the new G1 (its number,
 * `G1_GENERATION`, goes up by one) and opens an empty G2. So a signal only
 * ever reaches threads that were waiting when it was sent, and a member of
 * a group that was rotated out was signalled. Every count is read and
 * written holding the condition's lock (wait registers before it lets go,
 * notify must hold it, a woken waiter decides after taking it back), so the
 * bookkeeping needs no atomics of its own.
 *
 * Parking is on a separate sequence word that every notify bumps after its
 * bookkeeping and before it wakes: a waiter reads the word, checks whether
 * it may have a signal, and parks on "the word still has the value I read",
 * so a notify landing between the check and the park makes the park return
 * at once (no lost wake-up). Every notify wakes every parked waiter; one
 * without a signal sees so from the counts and parks again without taking
 * the lock.
 */
import { registerSharedType } from '../codec/codec';
import { InvalidStateError } from '../errors';
import {
  type AcquireOptions,
  badArgument,
  checkCallback,
  deadlineAfter,
  park,
  type Placement,
  refuseProxy,
  runAsync,
  runSync,
  type Steps,
  type WaitOptions,
  waitTimeout,
  wake,
} from '../atomics/futex';
import { checkInteger } from '../validate';
import type { Lock } from './lock';
import { type ConditionLock, conditionLockOf, regionFor, revive } from './primitive';
import { RLock } from './rlock';

const SEQUENCE = 1;
const G1_GENERATION = 2;
const G1_SIZE = 3;
const G1_SIGNALS = 4;
const G2_SIZE = 5;
const SIZE = 24;

/** Whether group `generation` was rotated out before group `current` (wrap-safe). */
function isOlder(generation: number, current: number): boolean {
  return ((current - generation) | 0) > 0;
}

/**
 * Lets threads wait, holding a lock, until another thread notifies them that
 * something they wait for may have changed. `wait` releases the lock while it
 * waits and takes it back before it returns.
 *
 * `notify(n)` wakes at most `n` of the waits in progress when it is called,
 * and exactly `min(n, waiting)` of them; a wait that starts later is not
 * woken by it. Still wait with `waitFor(predicate)` or in a loop: the state
 * may change again before the woken thread gets the lock back.
 *
 * With the default RLock, the async forms own the lock per async call chain
 * (see `RLock`); `wait()` lets go of every level its chain holds and takes
 * them back.
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

  /** The SharedArrayBuffer that holds the condition's counters. */
  readonly buffer: SharedArrayBuffer;
  /** Where the condition starts in `buffer`. */
  readonly byteOffset: number;
  /** The lock that `wait` releases and takes back. */
  readonly lock: Lock | RLock;
  readonly #words: Int32Array;
  readonly #hooks: ConditionLock;

  /**
   * @param lock A `Lock` or `RLock` to wait with; a new `RLock` when omitted.
   * @default lock new RLock()
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `lock` is not a Lock or RLock, or for a bad placement.
   * @example
   * const cond = new Condition(new Lock());
   */
  constructor(lock?: Lock | RLock, placement?: Placement) {
    const hooks = lock === undefined ? undefined : conditionLockOf(lock);
    if (lock !== undefined && hooks === undefined) throw badArgument('lock', 'a Lock or an RLock', lock);
    const { region } = regionFor('Condition', SIZE, placement);
    this.lock = lock ?? new RLock();
    this.#hooks = hooks ?? conditionLockOf(this.lock)!;
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    this.#words = region.words;
  }

  /**
   * The Condition that already lives at `byteOffset` in `buffer`, over `lock`
   * (the lock it was created with).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Condition, or `lock` is not a Lock or RLock.
   * @example
   * const same = Condition.attach(cond.buffer, cond.byteOffset, cond.lock);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset: number, lock: Lock | RLock): Condition {
    if (conditionLockOf(lock) === undefined) throw badArgument('lock', 'a Lock or an RLock', lock);
    return revive('Condition', SIZE, buffer, byteOffset, () => new Condition(lock));
  }

  /**
   * Takes the condition's lock (`lock.acquire`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
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
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) when `fn` is not a function.
   * @example
   * await cond.withLock(() => { ready = true; cond.notifyAll(); });
   */
  withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    return this.lock.withLock(fn);
  }

  #checkOwned(what: string): void {
    if (!this.#hooks.isOwned()) throw new InvalidStateError(`Cannot ${what} on an un-acquired lock`);
  }

  /**
   * Releases the lock, waits (without blocking the event loop) for a notify,
   * then takes the lock back, however long that takes. Resolves `false` if
   * `timeout` ms passed without a notify, else `true`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`, as a rejection) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
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
    const words = this.#words;
    // Join G2, holding the lock: every notify that can count us comes after this.
    const generation = (words[G1_GENERATION]! + 1) | 0;
    words[G2_SIZE]! += 1;
    let saved = this.#hooks.releaseSave();
    let timedOut = false;
    for (;;) {
      const sequence = Atomics.load(words, SEQUENCE);
      if (!timedOut && !this.#maySignal(generation)) {
        timedOut = (yield park(words, SEQUENCE, sequence, deadline)) === 'timed-out';
        continue;
      }
      yield* this.#hooks.acquireRestore(saved);
      if (this.#takeSignal(generation)) return true;
      if (timedOut) {
        if (generation === words[G1_GENERATION]) words[G1_SIZE]! -= 1;
        else words[G2_SIZE]! -= 1;
        return false;
      }
      saved = this.#hooks.releaseSave();
    }
  }

  /** Without the lock: could `generation` hold a signal (worth taking the lock to find out)? */
  #maySignal(generation: number): boolean {
    const current = Atomics.load(this.#words, G1_GENERATION);
    return isOlder(generation, current) || (generation === current && Atomics.load(this.#words, G1_SIGNALS) > 0);
  }

  /** Holding the lock: takes a signal for a waiter of `generation`, if there is one. */
  #takeSignal(generation: number): boolean {
    const words = this.#words;
    const current = words[G1_GENERATION]!;
    if (isOlder(generation, current)) return true;
    if (generation !== current || words[G1_SIGNALS]! === 0) return false;
    Atomics.sub(words, G1_SIGNALS, 1);
    words[G1_SIZE]! -= 1;
    return true;
  }

  /**
   * Waits until `predicate()` (sync or async, called holding the lock)
   * returns a truthy value, or `timeout` ms passed (counted across every
   * wake-up). Resolves with the predicate's last value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`, as a rejection) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for a bad predicate or options.
   * @example
   * await cond.withLock(() => cond.waitFor(() => queue.length > 0, { timeout: 500 }));
   */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    checkCallback('predicate', predicate);
    const timeout = waitTimeout(options);
    this.#checkOwned('wait');
    const deadline = deadlineAfter(timeout);
    let result = await predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await runAsync(this.#waitSteps(deadline));
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
    checkCallback('predicate', predicate);
    const timeout = waitTimeout(options);
    this.#checkOwned('wait');
    const deadline = deadlineAfter(timeout);
    let result = predicate();
    while (!result) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      runSync(this.#waitSteps(deadline));
      result = predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` of the threads waiting on this condition right now; call it holding the lock.
   * @default n 1
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `n` is not an integer ≥ 0.
   * @example
   * await cond.withLock(() => cond.notify(2));
   */
  notify(n = 1): void {
    refuseProxy('n', 'an integer from 0 and up', n);
    if (n !== Number.POSITIVE_INFINITY) checkInteger('n', n, 0);
    this.#checkOwned('notify');
    const words = this.#words;
    const unsignalled = words[G1_SIZE]! - words[G1_SIGNALS]!;
    const inG1 = Math.min(n, unsignalled);
    // Stored atomically: waiters read these two without the lock (#maySignal).
    Atomics.store(words, G1_SIGNALS, words[G1_SIGNALS]! + inG1);
    let sent = inG1;
    if (n > inG1 && words[G2_SIZE]! > 0) {
      // G1 is fully signalled: G2 becomes G1.
      const size = words[G2_SIZE]!;
      const inG2 = Math.min(n - inG1, size);
      words[G1_SIZE] = size;
      Atomics.store(words, G1_SIGNALS, inG2);
      Atomics.store(words, G1_GENERATION, (words[G1_GENERATION]! + 1) | 0);
      words[G2_SIZE] = 0;
      sent += inG2;
    }
    if (sent > 0) this.#wakeAll();
  }

  /**
   * Wakes every thread waiting on this condition; call it holding the lock.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the lock is not held.
   * @example
   * await cond.withLock(() => cond.notifyAll());
   */
  notifyAll(): void {
    this.#checkOwned('notify');
    const words = this.#words;
    if (words[G1_SIZE]! === 0 && words[G2_SIZE]! === 0) return;
    // Both groups become older than the new G1: every member was signalled.
    words[G1_SIZE] = 0;
    words[G2_SIZE] = 0;
    Atomics.store(words, G1_SIGNALS, 0);
    Atomics.store(words, G1_GENERATION, (words[G1_GENERATION]! + 2) | 0);
    this.#wakeAll();
  }

  #wakeAll(): void {
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
