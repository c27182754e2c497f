/**
 * Barrier: `parties` threads wait until all of them have arrived (Python's
 * `multiprocessing.Barrier`).
 *
 * The algorithm is CPython's `threading.Barrier` (Lib/threading.py): a state
 * machine FILLING → (last arrival) DRAINING → (last party out) FILLING, plus
 * RESETTING and BROKEN, guarded by a mutex and a condition. A new pass cannot
 * begin until every party of the previous one has left (DRAINING), so a slow
 * waiter always reads the outcome of its own pass, never of a later one. Here
 * the mutex is the futex mutex of ./futex and the condition is a sequence
 * counter (see ./condition): every state change bumps it before waking, so no
 * wake-up is lost between "saw the state" and "parked".
 *
 * The action is a function, and functions cannot cross threads: only Barrier
 * objects that were given the action (the one created with it, or one
 * attached with `{ action }`) hold it. The pass's last arrival runs the action
 * if it holds it; otherwise it hands the pass to a waiting party that does
 * (state ACTION_PENDING). A pass with no holder among its parties is an error.
 *
 * Robustness. Each waiting party is counted in a table of slots by thread
 * (`SLOTS` of them: thread id, parties, action holders), and every party that
 * takes the mutex first removes the parties of threads that died
 * (lib/atomics/liveness.ts): a dead party of the pass being filled breaks the
 * barrier (the others get ERR_BROKEN_BARRIER, a lone later wait cannot pass
 * with it); one that died after its pass only stops holding the barrier
 * closed. Waiters park in bounded slices so they notice a death while they
 * wait. The mutex is the robust one of lib/atomics/mutex.ts: taken over from a
 * dead holder (the thread running the action, say), it breaks the barrier.
 * `abort()` and `reset()` never wait for the mutex: they post a request that
 * the mutex holder carries out before it lets go, or carry it out themselves
 * when the mutex is free, so they cannot freeze the thread that calls them.
 */
import { registerSharedType } from '../codec/codec';
import { BrokenBarrierError, InvalidArgumentError, InvalidStateError } from '../errors';
import {
  badArgument,
  deadlineAfter,
  type ParkResult,
  type Placement,
  park,
  readOptions,
  refuseProxy,
  runAsync,
  runSync,
  type Steps,
  type WaitOptions,
  waitTimeout,
  wake,
} from '../atomics/futex';
import { isThreadDead } from '../atomics/liveness';
import { LIVENESS_SLICE_MS, Mutex, OWNER_ID } from '../atomics/mutex';
import { checkInteger, checkTimeout } from '../validate';
import { regionFor, revive } from './primitive';

const PARTIES = 1;
const COUNT = 2;
const STATE = 3;
const MUTEX = 4;
const SEQUENCE = 5;
const HOLDERS = 6;
const HAS_ACTION = 7;
const TIMEOUT_BYTE = 32; // a float64: words 8 and 9
const REQUEST = 10;
const SLOTS_WORD = 12;
/**
 * Threads whose waiting parties are tracked (one per worker of a 64-thread pool); parties of
 * further threads wait untracked. Each wait scans the slots once, holding the mutex.
 */
const SLOTS = 64;
const SLOT_WORDS = 3; // thread id + 1, parties waiting, of which action holders
const SIZE = (SLOTS_WORD + SLOTS * SLOT_WORDS) * 4;
const MAX_PARTIES = 2 ** 31 - 1;

const NO_REQUEST = 0;
const ABORT_REQUEST = 1;
const RESET_REQUEST = 2;

const FILLING = 0;
const DRAINING = 1;
const ACTION_PENDING = 2;
const RESETTING = -1;
const BROKEN = -2;

/**
 * Options of `new Barrier(parties, options)`.
 * @example
 * new Barrier(4, { action: () => console.log('pass'), timeout: 10_000 });
 */
export interface BarrierOptions extends Placement {
  /**
   * Runs once per pass, synchronously, in one thread that holds it, before any
   * party is released; if it throws, the barrier breaks and that party gets
   * the error. It must not call this barrier's methods. A returned promise is
   * not awaited.
   * @default undefined
   */
  readonly action?: () => unknown;
  /**
   * Milliseconds a `wait` without its own `timeout` waits before it breaks the barrier.
   * @default undefined (no timeout)
   */
  readonly timeout?: number;
}

/**
 * A rendezvous of `parties` threads: each `wait` returns once all of them
 * are waiting, with a different index in `0 … parties−1` (its arrival order:
 * exactly one caller gets 0). The barrier is then ready for the next pass.
 *
 * `action` runs once per pass, before anyone is released, in the last party
 * to arrive if its Barrier object holds the action, else in a waiting party
 * that holds it. A Barrier sent to another thread arrives without its action
 * (functions cannot cross threads); give it again there with
 * `Barrier.attach(buffer, byteOffset, { action })` if no party of the
 * creating thread waits. A pass whose parties hold no action fails with
 * `ERR_INVALID_STATE` and breaks the barrier.
 *
 * @example
 * const barrier = new Barrier(3, { action: () => console.log('all here') });
 * // in each of 3 threads:
 * const index = await barrier.wait();   // or barrier.waitSync() in a worker
 */
export class Barrier {
  /** Bytes of shared memory one Barrier takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the barrier. */
  readonly buffer: SharedArrayBuffer;
  /** Where the barrier starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;
  readonly #view: DataView;
  readonly #action: (() => unknown) | undefined;
  readonly #mutex: Mutex;

  /**
   * @param parties How many threads must wait before all are released, an integer from 1 up.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad `parties`, options or placement.
   * @example
   * const barrier = new Barrier(3, { timeout: 5000 });
   */
  constructor(parties: number, options?: BarrierOptions) {
    const { action, timeout, buffer, byteOffset } = readOptions('options', options, ['action', 'timeout', 'buffer', 'byteOffset']);
    if (action !== undefined && typeof action !== 'function') throw badArgument('action', 'a function', action);
    const { region } = regionFor('Barrier', SIZE, { buffer, byteOffset }, (words) => {
      refuseProxy('parties', 'an integer from 1 to 2147483647', parties);
      refuseProxy('timeout', 'a number of milliseconds', timeout);
      words[PARTIES] = checkInteger('parties', parties, 1, MAX_PARTIES);
      words[HAS_ACTION] = action === undefined ? 0 : 1;
      const defaultTimeout = checkTimeout('timeout', timeout);
      new DataView(words.buffer, words.byteOffset, SIZE).setFloat64(TIMEOUT_BYTE, defaultTimeout ?? Number.NaN);
    });
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    this.#words = region.words;
    this.#view = new DataView(region.buffer, region.byteOffset, SIZE);
    this.#action = action as (() => unknown) | undefined;
    // Wake every waiter on unlock: the main thread may wait for this mutex in
    // several async wait()s at once; waking only one of them could wake one
    // that is not first in line for the pass.
    this.#mutex = new Mutex(region.words, MUTEX, { what: 'Barrier mutex', wakeAll: true });
  }

  /**
   * The Barrier that already lives at `byteOffset` in `buffer`. Give
   * `action` again to let this thread run the action of a barrier created with one.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Barrier, or for an
   *   `action` on a barrier created without one.
   * @example
   * const same = Barrier.attach(barrier.buffer, barrier.byteOffset, { action: report });
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0, options?: { readonly action?: () => unknown }): Barrier {
    const { action } = readOptions('options', options, ['action']);
    return revive('Barrier', SIZE, buffer, byteOffset, (region) => {
      if (action !== undefined && Atomics.load(region.words, HAS_ACTION) === 0) {
        throw new InvalidArgumentError('Expected no `action`: this Barrier was created without one');
      }
      return new Barrier(Atomics.load(region.words, PARTIES), { action: action as (() => unknown) | undefined });
    });
  }

  /**
   * How many threads must wait before all are released.
   * @example
   * new Barrier(3).parties; // 3
   */
  get parties(): number {
    return Atomics.load(this.#words, PARTIES);
  }

  /**
   * How many threads wait in the current pass right now.
   * @example
   * barrier.nWaiting; // 0 … parties − 1
   */
  get nWaiting(): number {
    const state = Atomics.load(this.#words, STATE);
    return state === FILLING || state === ACTION_PENDING ? Atomics.load(this.#words, COUNT) : 0;
  }

  /**
   * Whether the barrier is broken (by `abort()`, a timeout, a throwing action,
   * or a party that died waiting) until `reset()`.
   * @example
   * barrier.broken; // false
   */
  get broken(): boolean {
    const request = Atomics.load(this.#words, REQUEST);
    if (request !== NO_REQUEST) return request === ABORT_REQUEST;
    return Atomics.load(this.#words, STATE) === BROKEN;
  }

  /**
   * Waits, without blocking the event loop, until all parties wait; resolves
   * with this caller's index (arrival order, `0 … parties−1`). A timeout of 0
   * or less breaks the barrier at once unless this call completes the pass.
   * @default timeout the barrier's `timeout` option
   * @throws BrokenBarrierError (`ERR_BROKEN_BARRIER`, as a rejection) when the barrier is or gets broken, reset, the
   *   wait times out, or a waiting party's thread dies.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`, as a rejection) when the barrier has an action that no party of this pass holds.
   * @example
   * const index = await barrier.wait({ timeout: 5000 });
   * if (index === 0) console.log('first to arrive');
   */
  wait(options?: WaitOptions): Promise<number> {
    try {
      return runAsync(this.#waitSteps(this.#deadline(options)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `wait`, blocking the calling thread (meant for workers).
   * @default timeout the barrier's `timeout` option
   * @throws BrokenBarrierError (`ERR_BROKEN_BARRIER`) when the barrier is or gets broken, reset, the wait times
   *   out, or a waiting party's thread dies.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the barrier has an action that no party of this pass holds.
   * @example
   * const index = barrier.waitSync();
   */
  waitSync(options?: WaitOptions): number {
    return runSync(this.#waitSteps(this.#deadline(options)));
  }

  /**
   * Returns the barrier to its initial state: threads waiting now get
   * `ERR_BROKEN_BARRIER`, and a broken barrier works again. Never waits: if
   * another thread is inside the barrier's internal mutex (running the
   * action, say), that thread carries the reset out before it lets go.
   * @example
   * barrier.reset();
   */
  reset(): void {
    this.#request(RESET_REQUEST);
  }

  /**
   * Breaks the barrier: threads waiting now and every later `wait` get
   * `ERR_BROKEN_BARRIER` until `reset()`. Never waits (see `reset()`).
   * @example
   * barrier.abort();
   */
  abort(): void {
    this.#request(ABORT_REQUEST);
  }

  #request(request: number): void {
    Atomics.store(this.#words, REQUEST, request);
    if (this.#mutex.tryLock()) {
      this.#unlock();
    } else {
      // Wake the waiters: one of them carries the request out once it has the
      // mutex (also when the holder died and must be taken over).
      this.#notifyAll();
    }
  }

  /** Carries out a pending abort or reset; called holding the mutex. */
  #applyRequest(): void {
    const request = Atomics.exchange(this.#words, REQUEST, NO_REQUEST);
    if (request === ABORT_REQUEST) {
      this.#break();
    } else if (request === RESET_REQUEST) {
      const words = this.#words;
      if (Atomics.load(words, COUNT) > 0) {
        const state = Atomics.load(words, STATE);
        // Waiters leave first (they see RESETTING and throw); the last one out refills.
        if (state === FILLING || state === ACTION_PENDING || state === BROKEN) Atomics.store(words, STATE, RESETTING);
      } else {
        Atomics.store(words, STATE, FILLING);
      }
      this.#notifyAll();
    }
  }

  #deadline(options: WaitOptions | undefined): number {
    const timeout = waitTimeout(options);
    if (timeout !== undefined) return deadlineAfter(timeout);
    const fallback = this.#view.getFloat64(TIMEOUT_BYTE);
    return deadlineAfter(Number.isNaN(fallback) ? undefined : fallback);
  }

  *#waitSteps(deadline: number): Steps<number> {
    const words = this.#words;
    const holder = this.#action !== undefined;
    yield* this.#lock();
    try {
      // Wait out the previous pass (and a reset) before joining this one.
      for (;;) {
        const state = Atomics.load(words, STATE);
        if (state !== DRAINING && state !== RESETTING && state !== ACTION_PENDING) break;
        if ((yield* this.#conditionWait(deadline)) === 'timed-out') {
          this.#break();
          throw new BrokenBarrierError('Timed out waiting for the previous pass to leave the barrier; it is broken now');
        }
      }
      if (Atomics.load(words, STATE) === BROKEN) throw new BrokenBarrierError('The barrier is broken');
      const index = Atomics.add(words, COUNT, 1);
      if (holder) Atomics.add(words, HOLDERS, 1);
      this.#track(1, holder ? 1 : 0);
      try {
        if (index + 1 === Atomics.load(words, PARTIES)) {
          if (holder || Atomics.load(words, HAS_ACTION) === 0) {
            this.#pass();
            return index;
          }
          if (Atomics.load(words, HOLDERS) === 0) {
            this.#break();
            throw new InvalidStateError(
              'This Barrier has an action, but no party of this pass holds it (functions cannot cross threads): ' +
                'give it with Barrier.attach(buffer, byteOffset, { action }) in a thread that waits',
            );
          }
          Atomics.store(words, STATE, ACTION_PENDING);
          this.#notifyAll();
        }
        yield* this.#awaitPass(deadline, holder);
        return index;
      } finally {
        Atomics.sub(words, COUNT, 1);
        if (holder) Atomics.sub(words, HOLDERS, 1);
        this.#track(-1, holder ? -1 : 0);
        this.#leave();
      }
    } finally {
      this.#unlock();
    }
  }

  *#awaitPass(deadline: number, holder: boolean): Steps<void> {
    const words = this.#words;
    let timedOut = false;
    for (;;) {
      const state = Atomics.load(words, STATE);
      if (state === ACTION_PENDING && holder) return this.#pass();
      if (state === DRAINING) return;
      if (state < 0) throw new BrokenBarrierError(state === RESETTING ? 'The barrier was reset' : 'The barrier is broken');
      if (timedOut) {
        this.#break();
        throw new BrokenBarrierError('Timed out waiting at the barrier; it is broken now');
      }
      timedOut = (yield* this.#conditionWait(deadline)) === 'timed-out';
    }
  }

  /** Runs the action (if any), then releases every party of this pass. Called holding the mutex. */
  #pass(): void {
    if (Atomics.load(this.#words, HAS_ACTION) === 1) {
      try {
        this.#action!();
      } catch (error) {
        this.#break();
        throw error;
      }
      // An abort or reset that came while the action ran applies to this pass.
      this.#applyRequest();
      const state = Atomics.load(this.#words, STATE);
      if (state < 0) throw new BrokenBarrierError(state === RESETTING ? 'The barrier was reset' : 'The barrier is broken');
    }
    Atomics.store(this.#words, STATE, DRAINING);
    this.#notifyAll();
  }

  /** The last party out of a pass (or of a reset) opens the barrier for the next pass. */
  #leave(): void {
    const words = this.#words;
    const state = Atomics.load(words, STATE);
    if (Atomics.load(words, COUNT) === 0 && (state === DRAINING || state === RESETTING)) {
      Atomics.store(words, STATE, FILLING);
      this.#notifyAll();
    }
  }

  #break(): void {
    Atomics.store(this.#words, STATE, BROKEN);
    this.#notifyAll();
  }

  /** Counts `parties` (and `holders`) more or fewer waiting parties of this thread in its slot. */
  #track(parties: number, holders: number): void {
    const words = this.#words;
    let free = -1;
    for (let slot = SLOTS_WORD; slot < SLOTS_WORD + SLOTS * SLOT_WORDS; slot += SLOT_WORDS) {
      const id = words[slot]!;
      if (id === OWNER_ID) {
        words[slot + 1]! += parties;
        words[slot + 2]! += holders;
        if (words[slot + 1] === 0) words[slot] = 0;
        return;
      }
      if (id === 0 && free < 0) free = slot;
    }
    if (parties > 0 && free >= 0) {
      words[free] = OWNER_ID;
      words[free + 1] = parties;
      words[free + 2] = holders;
    }
  }

  /** Removes the parties of threads that died; called holding the mutex. */
  #reapDead(): void {
    const words = this.#words;
    for (let slot = SLOTS_WORD; slot < SLOTS_WORD + SLOTS * SLOT_WORDS; slot += SLOT_WORDS) {
      const id = words[slot]!;
      if (id === 0 || !isThreadDead(id - 1)) continue;
      Atomics.sub(words, COUNT, words[slot + 1]!);
      Atomics.sub(words, HOLDERS, words[slot + 2]!);
      words[slot] = 0;
      words[slot + 1] = 0;
      words[slot + 2] = 0;
      const state = Atomics.load(words, STATE);
      // A party of the pass being filled is gone: that pass can never be whole.
      if (state === FILLING || state === ACTION_PENDING) this.#break();
      else this.#leave();
    }
  }

  *#lock(): Steps<void> {
    const outcome = yield* this.#mutex.lockSteps(Number.POSITIVE_INFINITY);
    // Taken over from a thread that died inside: whatever it was doing (the
    // action, most likely) did not finish, so this pass cannot complete.
    if (outcome === 'owner-died') this.#break();
    this.#reapDead();
    this.#applyRequest();
  }

  #unlock(): void {
    this.#applyRequest();
    this.#mutex.unlock();
  }

  /**
   * Condition wait on the sequence word (see ./condition); called holding the
   * mutex. Parks in slices, so that a party that died is noticed (by the reap
   * in `#lock`) while this one waits; 'timed-out' only once `deadline` passed.
   */
  *#conditionWait(deadline: number): Steps<ParkResult> {
    const sequence = Atomics.load(this.#words, SEQUENCE);
    this.#unlock();
    const result = yield park(this.#words, SEQUENCE, sequence, Math.min(deadline, performance.now() + LIVENESS_SLICE_MS));
    yield* this.#lock();
    return result === 'timed-out' && performance.now() < deadline ? 'ok' : result;
  }

  #notifyAll(): void {
    Atomics.add(this.#words, SEQUENCE, 1);
    wake(this.#words, SEQUENCE);
  }
}

interface BarrierDescriptor {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

registerSharedType<Barrier, BarrierDescriptor>(Barrier, 'parapool.Barrier', {
  encode: (barrier) => ({ buffer: barrier.buffer, byteOffset: barrier.byteOffset }),
  decode: ({ buffer, byteOffset }) => Barrier.attach(buffer, byteOffset),
});
