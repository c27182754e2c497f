/**
 * SimpleQueue: Python's `multiprocessing.SimpleQueue`, the small unbounded
 * queue. Same engine as Queue (./queue-core), smaller surface.
 */
import { registerSharedType } from '../codec/codec';
import { QueueClosedError } from '../errors';
import { runAsync, runSync } from '../atomics/futex';
import { prepare, stable } from './payload';
import { NONE, QueueCore, type QueueDescriptor } from './queue-core';
import { waitDeadline, type QueueWaitOptions } from './queue';

const handles = new FinalizationRegistry<QueueCore>((core) => core.release());

/** Set while the codec revives a queue. */
let attaching: QueueCore | undefined;

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

  /** Creates an empty queue (it holds up to 131,071 items at once). */
  constructor() {
    this.#core = attaching ?? QueueCore.create(0);
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
   * Adds `item` at the end. Synchronous: the queue is unbounded, so it only
   * waits in the extreme case of 131,071 items already waiting.
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
   * @example
   * while (!results.empty()) console.log(results.getSync());
   */
  empty(): boolean {
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

  static {
    registerSharedType<SimpleQueue, QueueDescriptor>(SimpleQueue, 'parapool.SimpleQueue', {
      encode: (queue) => {
        if (queue.#closed) throw new QueueClosedError('A closed queue cannot be sent to another thread');
        return queue.#core.describe();
      },
      decode: (descriptor) => {
        attaching = QueueCore.attach(descriptor);
        try {
          return new SimpleQueue();
        } finally {
          attaching = undefined;
        }
      },
    });
  }
}
