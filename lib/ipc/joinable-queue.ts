/**
 * JoinableQueue: a Queue that counts unfinished tasks (Python's
 * `multiprocessing.JoinableQueue`). Every put adds one; every `taskDone()`
 * removes one; `join()` waits for zero. The count lives in the queue's shared
 * memory, so producers, consumers and joiners may sit in any threads.
 */
import { registerSharedType } from '../codec/codec';
import { InvalidStateError, QueueClosedError, TimeoutError } from '../errors';
import { readOptions } from '../shared/read-options';
import { checkTimeout } from '../validate';
import { deadlineAfter, runAsync, runSync, type WaitOptions } from '../atomics/futex';
import { QueueCore, type QueueDescriptor } from './queue-core';
import { Queue, attachQueue, coreOf, describeQueue, joinableKinds } from './queue';

/**
 * A Queue whose consumers report each item done with `taskDone()`, so that
 * `join()` can wait until every item put so far has been processed.
 *
 * As in Python, a consumer that dies before its `taskDone()` leaves the count
 * one too high, and `join()` then waits until its timeout.
 *
 * @example
 * const jobs = new JoinableQueue<string>();
 * for (const url of urls) await jobs.put(url);
 * // each consumer: const url = jobs.getSync(); fetchIt(url); jobs.taskDone();
 * await jobs.join();                       // every url handled
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * How many items were put and not yet reported done (a snapshot).
   * @throws QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * console.log(`${jobs.unfinishedTasks} to go`);
   */
  get unfinishedTasks(): number {
    return this.#core().unfinished();
  }

  #core(): QueueCore {
    if (this.closed) throw new QueueClosedError('The queue is closed');
    return coreOf(this);
  }

  /**
   * Reports one item taken from the queue as processed.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when called more times than items were put;
   *   QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * const job = jobs.getSync();
   * try { run(job); } finally { jobs.taskDone(); }
   */
  taskDone(): void {
    if (!this.#core().taskDone()) throw new InvalidStateError('taskDone() called more times than there were items in the queue');
  }

  /**
   * Waits (without blocking the event loop) until every item put so far has
   * been reported done with `taskDone()`.
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws TimeoutError (`ERR_TIMEOUT`) when tasks are still unfinished after `timeout` ms;
   *   QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * await jobs.join();
   */
  async join(options?: WaitOptions): Promise<void> {
    const timeout = joinTimeoutOption(options);
    const core = this.#core();
    if (!(await runAsync(core.joinSteps(deadlineAfter(timeout))))) throw joinTimeout(core);
  }

  /**
   * `join`, blocking the calling thread.
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws TimeoutError (`ERR_TIMEOUT`) when tasks are still unfinished after `timeout` ms;
   *   QueueClosedError (`ERR_QUEUE_CLOSED`) after `close()`.
   * @example
   * jobs.joinSync({ timeout: 5000 });
   */
  joinSync(options?: WaitOptions): void {
    const timeout = joinTimeoutOption(options);
    const core = this.#core();
    if (!runSync(core.joinSteps(deadlineAfter(timeout)))) throw joinTimeout(core);
  }
}

joinableKinds.add(JoinableQueue);

function joinTimeoutOption(options: WaitOptions | undefined): number | undefined {
  return checkTimeout('timeout', readOptions('options', options, ['timeout']).timeout);
}

function joinTimeout(core: QueueCore): TimeoutError {
  return new TimeoutError(`join() timed out with ${core.unfinished()} unfinished tasks`);
}

registerSharedType<JoinableQueue, QueueDescriptor>(JoinableQueue, 'parapool.JoinableQueue', {
  encode: describeQueue,
  decode: (descriptor) => attachQueue(JoinableQueue, QueueCore.attach(descriptor)),
});
