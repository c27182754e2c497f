/**
 * Queue: Python's `multiprocessing.Queue` for worker threads.
 *
 * Items live in one SharedArrayBuffer: a lock-free ring of 64-byte blocks
 * (./index-ring, ./queue-core), written with a small binary format
 * (./item-codec) and read in place. docs/design/queue.md has the measurements
 * behind each choice, and the commands that reproduce them. The reasons:
 *
 * - `v8.serialize` costs more per small object than a whole MessagePort round
 *   trip: a ring fed by it could not keep up with a MessageChannel, hence the
 *   hand-rolled format, with `v8.serialize` only as the fallback for other types.
 * - MessagePorts with a shared doorbell cannot serve many consumers: a port
 *   lives in one thread, and a BroadcastChannel copies every item to every
 *   listener. Items that hold SharedArrayBuffers (parapool's shared objects)
 *   do go that way (./side-channel), because only a message can carry them.
 * - A lock around the ring would be simpler, but `worker.terminate()` can stop
 *   a producer inside it and leave every other thread stuck; here every put
 *   and get commits with one compare-and-swap, so a killed thread costs at
 *   most its own item.
 * - A blocking `getSync` only needs `Atomics.wait`, so it works in a worker
 *   whose event loop is parked (piscina's idle workers) or busy; `get` uses
 *   `Atomics.waitAsync` and never blocks the event loop.
 * - Spinning before parking helps one way but starves the thread it waits for
 *   on a machine with few cores, so `getSync` spins only briefly.
 */
import { registerSharedType } from '../codec/codec';
import { QueueClosedError } from '../errors';
import { readOptions } from '../shared/read-options';
import { INTERNAL, checkBoolean, checkTimeout, invalidArg } from '../validate';
import { deadlineAfter, runAsync, runSync } from '../atomics/futex';
import { prepare, stable } from './payload';
import { MAX_QUEUE_ITEMS, NONE, QueueCore, type QueueDescriptor } from './queue-core';

/** Options of `new Queue()`. */
export interface QueueOptions {
  /**
   * The most items the queue holds; `put` waits (or fails with `ERR_QUEUE_FULL`)
   * while it is full. `0` or `Infinity` means no limit of your own: the queue
   * then holds up to 131,071 items at once (a put past that fails at once with
   * `ERR_QUEUE_FULL`), as does any larger `maxsize`. Memory grows with the
   * items held, not with `maxsize`.
   * @default 0
   */
  readonly maxsize?: number;
}

/** Options of `put`/`putSync` and `get`/`getSync`. */
export interface QueueWaitOptions {
  /**
   * Wait for room (put) or for an item (get); `false` tries once and fails at
   * once, and then `timeout` is ignored (as in Python).
   * @default true
   */
  readonly blocking?: boolean;
  /**
   * The most milliseconds to wait; `undefined` or `Infinity` waits forever.
   * @default undefined
   */
  readonly timeout?: number;
}

/** Reads `{ blocking, timeout }`: the deadline, or `undefined` for "do not wait". */
export function waitDeadline(options: QueueWaitOptions | undefined): number | undefined {
  if (options === undefined) return Infinity;
  const { blocking, timeout } = readOptions('options', options, ['blocking', 'timeout']);
  const wait = checkBoolean('blocking', blocking) ?? true;
  const ms = checkTimeout('timeout', timeout);
  return wait ? deadlineAfter(ms) : undefined;
}

function checkMaxsize(options: QueueOptions | undefined): number {
  const { maxsize } = readOptions('options', options, ['maxsize']);
  if (maxsize === undefined || maxsize === Infinity) return 0;
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0) {
    throw invalidArg('maxsize', 'an integer from 0 and up, or Infinity', maxsize);
  }
  return Math.min(maxsize, MAX_QUEUE_ITEMS);
}

/** The shared engine of each handle (for JoinableQueue and the codec; never on the public object). */
const cores = new WeakMap<object, QueueCore>();

/** The engine under `queue`. */
export function coreOf(queue: Queue<unknown>): QueueCore {
  return cores.get(queue)!;
}

/** Classes whose puts count unfinished tasks (JoinableQueue adds itself). */
export const joinableKinds = new WeakSet<object>();

/** Builds a handle of class `Kind` over an existing core (for the codec's `decode`). */
export function attachQueue<Q>(Kind: new () => Q, core: QueueCore): Q {
  return new (Kind as unknown as new (token: typeof INTERNAL, core: QueueCore) => Q)(INTERNAL, core);
}

const handles = new FinalizationRegistry<QueueCore>((core) => core.release());

/**
 * A FIFO queue that many producers and many consumers in any threads share:
 * the main thread, raw workers, Process targets and Pool tasks. Items are any
 * structured-cloneable value, including parapool's shared objects (a Value, a
 * Lock, another Queue), which arrive as the same objects over the same memory.
 * Nothing is lost or delivered twice, and a thread killed in the middle of a
 * put or get never leaves the queue locked.
 *
 * Passed to a task or a worker, a queue arrives as another handle on the same
 * queue. `close()` closes only the handle it is called on (as in Python, where
 * it closes the calling process's end).
 *
 * Limits: it holds at most 131,071 items at once (an unbounded queue then
 * fails a put with `ERR_QUEUE_FULL` at once). Items holding shared objects
 * (and items bigger than the free shared memory) travel on a side channel; one
 * put by a third thread exactly while a handle is on its way to a new thread
 * can miss that thread. A `Connection` cannot be an item (pass it as an argument).
 *
 * @example
 * const q = new Queue<number | null>({ maxsize: 10 });
 * const consumer = new Process({ target: jobs.consume, args: [q] });   // q.getSync() in a worker
 * consumer.start();
 * for (const n of [10, 20, 30]) await q.put(n);
 * await q.put(null);                                      // the sentinel
 */
export class Queue<T = unknown> {
  readonly #core: QueueCore;
  readonly #joinable: boolean;
  #closed = false;

  /**
   * @param options `maxsize` (default 0: no limit of your own).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad `maxsize`.
   */
  constructor(options?: QueueOptions);
  constructor(options?: QueueOptions | typeof INTERNAL, core?: QueueCore) {
    // The codec revives a handle with the INTERNAL token (lib/validate.ts) and the core it attached to.
    this.#core = options === INTERNAL ? core! : QueueCore.create(checkMaxsize(options));
    this.#joinable = joinableKinds.has(new.target);
    cores.set(this, this.#core);
    handles.register(this, this.#core, this);
  }

  /** The `maxsize` the queue was made with (0: no limit of your own). */
  get maxsize(): number {
    return this.#core.maxsize;
  }

  /** True after `close()` on this handle. */
  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new QueueClosedError('The queue is closed');
  }

  /**
   * Adds `item` at the end, waiting (without blocking the event loop) while the
   * queue is full.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueFullError (`ERR_QUEUE_FULL`) when still full after `timeout`, or at once with `blocking: false`.
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`; UncloneableError (`ERR_UNCLONEABLE`).
   * @example
   * await q.put({ id: 1 });
   * await q.put(job, { timeout: 500 });
   */
  async put(item: T, options?: QueueWaitOptions): Promise<void> {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const payload = prepare(item);
    if (this.#core.putNow(payload, this.#joinable)) return;
    await runAsync(this.#core.putSteps(stable(payload), deadline, this.#joinable));
  }

  /**
   * `put`, blocking the calling thread while the queue is full.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueFullError (`ERR_QUEUE_FULL`), QueueClosedError (`ERR_QUEUE_CLOSED`), UncloneableError (`ERR_UNCLONEABLE`).
   * @example
   * q.putSync(42);                       // in a worker
   */
  putSync(item: T, options?: QueueWaitOptions): void {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const payload = prepare(item);
    if (this.#core.putNow(payload, this.#joinable)) return;
    runSync(this.#core.putSteps(stable(payload), deadline, this.#joinable));
  }

  /**
   * Adds `item` only if there is room now (`putSync(item, { blocking: false })`).
   * @throws QueueFullError (`ERR_QUEUE_FULL`) when full; QueueClosedError (`ERR_QUEUE_CLOSED`).
   * @example
   * try { q.putNowait(x); } catch (err) { if (err.code === 'ERR_QUEUE_FULL') drop(x); }
   */
  putNowait(item: T): void {
    this.putSync(item, { blocking: false });
  }

  /**
   * Removes and returns the oldest item, waiting (without blocking the event
   * loop) while the queue is empty.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueEmptyError (`ERR_QUEUE_EMPTY`) when still empty after `timeout`, or at once with `blocking: false`.
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * const item = await q.get({ timeout: 1000 });
   */
  async get(options?: QueueWaitOptions): Promise<T> {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const item = this.#core.tryGet();
    if (item !== NONE) return item as T;
    return (await runAsync(this.#core.getSteps(deadline, false))) as T;
  }

  /**
   * `get`, blocking the calling thread while the queue is empty. Works in any
   * worker, whatever its event loop is doing.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueEmptyError (`ERR_QUEUE_EMPTY`), QueueClosedError (`ERR_QUEUE_CLOSED`).
   * @example
   * for (let item = q.getSync(); item !== null; item = q.getSync()) handle(item);
   */
  getSync(options?: QueueWaitOptions): T {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const item = this.#core.tryGet();
    if (item !== NONE) return item as T;
    return runSync(this.#core.getSteps(deadline, true)) as T;
  }

  /**
   * Removes and returns the oldest item only if there is one now.
   * @throws QueueEmptyError (`ERR_QUEUE_EMPTY`) when empty; QueueClosedError (`ERR_QUEUE_CLOSED`).
   * @example
   * const next = q.empty() ? undefined : q.getNowait();
   */
  getNowait(): T {
    return this.getSync({ blocking: false });
  }

  /**
   * How many items the queue holds (a snapshot: other threads may change it at once).
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * if (q.qsize() > 100) await sleep(10);
   */
  qsize(): number {
    this.#checkOpen();
    return this.#core.qsize();
  }

  /**
   * True when the queue holds no items (a snapshot).
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * while (!q.empty()) results.push(q.getNowait());
   */
  empty(): boolean {
    this.#checkOpen();
    return this.#core.qsize() === 0;
  }

  /**
   * True when a put would have to wait (a snapshot).
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * if (!q.full()) q.putNowait(x);
   */
  full(): boolean {
    this.#checkOpen();
    return this.#core.full();
  }

  /**
   * Closes this handle: further calls on it fail with `ERR_QUEUE_CLOSED`. Other
   * handles of the same queue (other threads, other copies) keep working, and
   * items already put stay in the queue. Idempotent.
   * @example
   * q.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    handles.unregister(this);
    this.#core.release();
  }
}

/** The descriptor of a queue handle, for the codec; a closed handle cannot be sent. */
export function describeQueue(queue: Queue<unknown>): QueueDescriptor {
  if (queue.closed) throw new QueueClosedError('A closed queue cannot be sent to another thread');
  return coreOf(queue).describe();
}

registerSharedType<Queue, QueueDescriptor>(Queue, 'parapool.Queue', {
  encode: describeQueue,
  decode: (descriptor) => attachQueue(Queue, QueueCore.attach(descriptor)),
});
