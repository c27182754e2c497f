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
 */
import { registerSharedType } from '../codec/codec';
import { BrokenBarrierError, InvalidArgumentError, InvalidStateError } from '../errors';
import { checkInteger, checkOptionalFunction, checkOptions, checkTimeout } from '../validate';
import {
  attachRegion,
  createRegion,
  deadlineAfter,
  lockWordSteps,
  park,
  runAsync,
  runSync,
  seal,
  unlockWord,
  waitTimeout,
  wake,
  type Placement,
  type Region,
  type Steps,
  type WaitOptions,
} from '../atomics/futex';

const PARTIES = 1;
const COUNT = 2;
const STATE = 3;
const MUTEX = 4;
const SEQUENCE = 5;
const HOLDERS = 6;
const HAS_ACTION = 7;
const TIMEOUT_BYTE = 32;
const SIZE = 40;
const MAX_PARTIES = 2 ** 31 - 1;

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

  /**
   * @param parties How many threads must wait before all are released, an integer from 1 up.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad `parties`, options or placement.
   */
  constructor(parties: number, options?: BarrierOptions);
  /** @internal */
  constructor(parties: number, options: BarrierOptions | undefined, region: Region);
  constructor(parties: number, options?: BarrierOptions, region?: Region) {
    const { action, timeout, buffer, byteOffset } = checkOptions('options', options);
    checkOptionalFunction('action', action);
    let memory = region;
    if (memory === undefined) {
      checkInteger('parties', parties, 1, MAX_PARTIES);
      const defaultTimeout = checkTimeout('timeout', timeout);
      memory = createRegion('Barrier', SIZE, { buffer, byteOffset });
      memory.words[PARTIES] = parties;
      memory.words[HAS_ACTION] = action === undefined ? 0 : 1;
      new DataView(memory.buffer, memory.byteOffset, SIZE).setFloat64(TIMEOUT_BYTE, defaultTimeout ?? Number.NaN);
      seal('Barrier', memory);
    }
    this.buffer = memory.buffer;
    this.byteOffset = memory.byteOffset;
    this.#words = memory.words;
    this.#view = new DataView(memory.buffer, memory.byteOffset, SIZE);
    this.#action = action;
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
    const region = attachRegion('Barrier', SIZE, buffer, byteOffset);
    const { action } = checkOptions('options', options);
    if (action !== undefined && Atomics.load(region.words, HAS_ACTION) === 0) {
      throw new InvalidArgumentError('Expected no `action`: this Barrier was created without one');
    }
    return new Barrier(Atomics.load(region.words, PARTIES), { action }, region);
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
   * Whether the barrier is broken (by `abort()`, a timeout, or a throwing action) until `reset()`.
   * @example
   * barrier.broken; // false
   */
  get broken(): boolean {
    return Atomics.load(this.#words, STATE) === BROKEN;
  }

  /**
   * Waits, without blocking the event loop, until all parties wait; resolves
   * with this caller's index (arrival order, `0 … parties−1`).
   * @default timeout the barrier's `timeout` option
   * @throws BrokenBarrierError (`ERR_BROKEN_BARRIER`) when the barrier is or gets broken, reset, or the wait times out.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the barrier has an action that no party of this pass holds.
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
   * @throws BrokenBarrierError (`ERR_BROKEN_BARRIER`) when the barrier is or gets broken, reset, or the wait times out.
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
   * `ERR_BROKEN_BARRIER`, and a broken barrier works again. Briefly blocks the
   * calling thread for the barrier's internal mutex.
   * @example
   * barrier.reset();
   */
  reset(): void {
    runSync(this.#lock());
    const words = this.#words;
    try {
      if (Atomics.load(words, COUNT) > 0) {
        const state = Atomics.load(words, STATE);
        // Waiters leave first (they see RESETTING and throw); the last one out refills.
        if (state === FILLING || state === ACTION_PENDING || state === BROKEN) Atomics.store(words, STATE, RESETTING);
      } else {
        Atomics.store(words, STATE, FILLING);
      }
      this.#notifyAll();
    } finally {
      this.#unlock();
    }
  }

  /**
   * Breaks the barrier: threads waiting now and every later `wait` get
   * `ERR_BROKEN_BARRIER` until `reset()`. Briefly blocks the calling thread for the barrier's internal mutex.
   * @example
   * barrier.abort();
   */
  abort(): void {
    runSync(this.#lock());
    try {
      this.#break();
    } finally {
      this.#unlock();
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
        yield* this.#conditionWait(Infinity);
      }
      if (Atomics.load(words, STATE) === BROKEN) throw new BrokenBarrierError('The barrier is broken');
      const index = Atomics.add(words, COUNT, 1);
      if (holder) Atomics.add(words, HOLDERS, 1);
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

  #lock(): Steps<boolean> {
    return lockWordSteps(this.#words, MUTEX, Infinity);
  }

  #unlock(): void {
    // Wake every waiter: the main thread may wait for this mutex both in an
    // async wait() and blocked in reset()/abort(); waking only its async
    // waiter would deadlock it.
    unlockWord(this.#words, MUTEX, 'Barrier mutex', true);
  }

  /** Condition wait on the sequence word (see ./condition); called holding the mutex. */
  *#conditionWait(deadline: number): Steps<'ok' | 'not-equal' | 'timed-out'> {
    const sequence = Atomics.load(this.#words, SEQUENCE);
    this.#unlock();
    const result = yield park(this.#words, SEQUENCE, sequence, deadline);
    yield* this.#lock();
    return result;
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
