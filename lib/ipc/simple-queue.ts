/**
 * SimpleQueue: Python's `multiprocessing.SimpleQueue`, the small unbounded
 * queue. Same engine as Queue (./queue-core), smaller surface.
 */
import { registerSharedType } from '../codec/codec';
import { QueueClosedError } from '../errors';
import { INTERNAL } from '../validate';
import { runAsync, runSync } from '../atomics/futex';
import { prepare, stable } from './payload';
import { NONE, QueueCore, type QueueDescriptor } from './queue-core';
import { waitDeadline, type QueueWaitOptions } from './queue';

const handles = new FinalizationRegistry<QueueCore>((core) => core.release());
const cores = new WeakMap<object, QueueCore>();

/**
 * An unbounded FIFO queue for any number of producers and consumers in any
 * threads: `put`, `get`/`getSync`, `empty`, `close`. Passed to a task or a
 * worker, it arrives as another handle on the same queue.
 *
 * @example
 * const results = new SimpleQueue<number>();
 * // in workers: results.put(n * n);
 * const first = await results.get();
 */
export class SimpleQueue<T = unknown> {
  readonly #core: QueueCore;
  #closed = false;

  /** Creates an empty queue (it holds up to 131,071 items at once; memory grows with the items held). */
  constructor();
  constructor(token?: typeof INTERNAL, core?: QueueCore) {
    // The codec revives a handle with the INTERNAL token (lib/validate.ts) and the core it attached to.
    this.#core = token === INTERNAL ? core! : QueueCore.create(0);
    cores.set(this, this.#core);
    handles.register(this, this.#core, this);
  }

  /** True after `close()` on this handle. */
  get closed(): boolean {
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new QueueClosedError('The queue is closed');
  }

  /**
   * Adds `item` at the end. Synchronous and never waits.
   * @throws QueueFullError (`ERR_QUEUE_FULL`) when 131,071 items are already waiting, the most it holds.
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`; UncloneableError (`ERR_UNCLONEABLE`).
   * @example
   * results.put({ n, square: n * n });
   */
  put(item: T): void {
    this.#checkOpen();
    const payload = prepare(item);
    if (this.#core.putNow(payload, false)) return;
    runSync(this.#core.putSteps(stable(payload), Infinity, false));
  }

  /**
   * Removes and returns the oldest item, waiting without blocking the event loop.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueEmptyError (`ERR_QUEUE_EMPTY`) after `timeout` or with `blocking: false`; QueueClosedError (`ERR_QUEUE_CLOSED`).
   * @example
   * const next = await results.get();
   */
  async get(options?: QueueWaitOptions): Promise<T> {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const item = this.#core.tryGet();
    if (item !== NONE) return item as T;
    return (await runAsync(this.#core.getSteps(deadline, false))) as T;
  }

  /**
   * `get`, blocking the calling thread.
   * @default options `{ blocking: true, timeout: undefined }`
   * @throws QueueEmptyError (`ERR_QUEUE_EMPTY`), QueueClosedError (`ERR_QUEUE_CLOSED`).
   * @example
   * const next = results.getSync({ timeout: 1000 });
   */
  getSync(options?: QueueWaitOptions): T {
    const deadline = waitDeadline(options);
    this.#checkOpen();
    const item = this.#core.tryGet();
    if (item !== NONE) return item as T;
    return runSync(this.#core.getSteps(deadline, true)) as T;
  }

  /**
   * True when the queue holds no items (a snapshot).
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * while (!results.empty()) console.log(results.getSync());
   */
  empty(): boolean {
    this.#checkOpen();
    return this.#core.qsize() === 0;
  }

  /**
   * Closes this handle (other handles keep working). Idempotent.
   * @example
   * results.close();
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    handles.unregister(this);
    this.#core.release();
  }
}

registerSharedType<SimpleQueue, QueueDescriptor>(SimpleQueue, 'parapool.SimpleQueue', {
  encode: (queue) => {
    if (queue.closed) throw new QueueClosedError('A closed queue cannot be sent to another thread');
    return cores.get(queue)!.describe();
  },
  decode: (descriptor) =>
    new (SimpleQueue as unknown as new (token: typeof INTERNAL, core: QueueCore) => SimpleQueue)(INTERNAL, QueueCore.attach(descriptor)),
});
