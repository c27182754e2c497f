/**
 * Event: a flag in shared memory that threads wait for (Python's
 * `multiprocessing.Event`). One word: 0 (clear) or 1 (set). Waiters park on
 * "the flag is 0"; `set` stores 1 and wakes them all. Only `set` notifies the
 * word, so a waiter woken by a notify knows the flag was set after it parked
 * (Python's `Event.wait` returns True then, even if the flag was cleared again
 * before the waiter ran).
 */
import { registerSharedType } from '../codec/codec';
import {
  deadlineAfter,
  type Placement,
  park,
  type RegionDescriptor,
  runAsync,
  runSync,
  type Steps,
  type WaitOptions,
  waitTimeout,
  wake,
} from '../atomics/futex';
import { regionFor, revive } from './primitive';

const FLAG = 1;
const SIZE = 8;

/**
 * A flag that is clear at first: `wait` waits until some thread `set`s it.
 *
 * @example
 * const ready = new Event();
 * pool.apply(worker.load, [ready]);   // the worker calls ready.set()
 * await ready.wait();
 */
export class Event {
  /** Bytes of shared memory one Event takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  /** The SharedArrayBuffer that holds the event. */
  readonly buffer: SharedArrayBuffer;
  /** Where the event starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;

  /**
   * Creates a clear event, in a new SharedArrayBuffer or at `{ buffer, byteOffset }`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad placement.
   * @example
   * const ready = new Event();
   */
  constructor(placement?: Placement) {
    const { region } = regionFor('Event', SIZE, placement);
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    this.#words = region.words;
  }

  /**
   * The Event that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no Event.
   * @example
   * const same = Event.attach(event.buffer, event.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): Event {
    return revive('Event', SIZE, buffer, byteOffset, () => new Event());
  }

  /**
   * Whether the flag is set.
   * @example
   * event.isSet(); // false
   */
  isSet(): boolean {
    return Atomics.load(this.#words, FLAG) === 1;
  }

  /**
   * Sets the flag and wakes every waiting thread; later waits return at once until `clear()`.
   * @example
   * event.set();
   */
  set(): void {
    Atomics.store(this.#words, FLAG, 1);
    wake(this.#words, FLAG);
  }

  /**
   * Clears the flag: later waits wait again.
   * @example
   * event.clear();
   */
  clear(): void {
    Atomics.store(this.#words, FLAG, 0);
  }

  /**
   * Waits, without blocking the event loop, until the flag is set. Resolves
   * `true` when it was set, `false` if `timeout` ms passed first.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
   * @example
   * if (!(await event.wait({ timeout: 1000 }))) console.log('not ready after 1 s');
   */
  wait(options?: WaitOptions): Promise<boolean> {
    try {
      const timeout = waitTimeout(options);
      if (this.isSet()) return Promise.resolve(true);
      return runAsync(this.#waitSteps(deadlineAfter(timeout)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Blocks the calling thread (meant for workers) until the flag is set.
   * Returns `true` when it was set, `false` if `timeout` ms passed first.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @example
   * event.waitSync({ timeout: 50 });
   */
  waitSync(options?: WaitOptions): boolean {
    const timeout = waitTimeout(options);
    if (this.isSet()) return true;
    return runSync(this.#waitSteps(deadlineAfter(timeout)));
  }

  *#waitSteps(deadline: number): Steps<boolean> {
    for (;;) {
      const result = yield park(this.#words, FLAG, 0, deadline);
      if (result === 'ok' || this.isSet()) return true;
      if (result === 'timed-out') return false;
    }
  }
}

registerSharedType<Event, RegionDescriptor>(Event, 'parapool.Event', {
  encode: (event) => ({ buffer: event.buffer, byteOffset: event.byteOffset }),
  decode: ({ buffer, byteOffset }) => Event.attach(buffer, byteOffset),
});
