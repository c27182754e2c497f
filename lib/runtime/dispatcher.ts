/**
 * The dispatcher sits between every parapool call and piscina. It keeps its own
 * FIFO of jobs and hands piscina at most one job per worker, so that a job that
 * piscina has is a job that runs: cancelling one of ours while it is queued is
 * exact (Future.cancel, a failed map's unstarted chunks), and `onStart` means
 * "running". That costs no throughput: piscina dispatches the next job in the
 * same turn of the main thread's event loop in which it receives a result,
 * whether the job waits in its queue or in ours.
 *
 * It also owns what piscina lacks: worker recycling (`maxTasksPerChild`,
 * through a load balancer that stops assigning to a worker once it has had its
 * share, then ends it when idle), and turning piscina's failures into parapool
 * errors (a dead worker → WorkerExitedError, an abort → the caller's reason).
 */
import type { TransferListItem } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { CancelledError, PoolBrokenError, WorkerExitedError } from '../errors';
import { decodeError } from '../codec/error-codec';
import type { TaskRequest, TaskResponse } from './protocol';

/** One unit of work for a worker: a call, or a chunk of a map. */
export interface Job {
  readonly request: TaskRequest;
  readonly transferList?: TransferListItem[] | undefined;
  /** Aborting it removes the job if queued, or stops its worker if running. */
  readonly signal?: AbortSignal | undefined;
  /** The job left the queue for a worker. */
  onStart?(): void;
  /** The worker answered (the response may carry the task's own error). */
  onResponse(response: TaskResponse): void;
  /** The job did not complete: worker exit, abort, terminate, broken pool. */
  onFailure(error: unknown): void;
}

export interface JobEntry {
  job: Job;
  state: 'queued' | 'running' | 'cancelled' | 'done';
}

type PiscinaWorker = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

export interface DispatcherOptions {
  readonly piscina: Piscina;
  readonly workers: number;
  readonly maxTasksPerChild: number | undefined;
  /** Called once when a worker's initializer fails. */
  readonly onBroken: (error: PoolBrokenError) => void;
}

const EXIT_CODE_MESSAGE = /worker exited with code: (-?\d+)/;

export class Dispatcher {
  private readonly queue: JobEntry[] = [];
  private queueHead = 0;
  private running = 0;
  private readonly capacity: number;
  private brokenError: PoolBrokenError | undefined;
  private terminating = false;

  constructor(private readonly options: DispatcherOptions) {
    this.capacity = options.workers;
  }

  /** Jobs queued or running. */
  get pending(): number {
    return this.running + this.queue.length - this.queueHead;
  }

  get broken(): PoolBrokenError | undefined {
    return this.brokenError;
  }

  submit(job: Job): JobEntry {
    const entry: JobEntry = { job, state: 'queued' };
    if (this.brokenError !== undefined) {
      entry.state = 'done';
      job.onFailure(this.brokenError);
      return entry;
    }
    if (this.running < this.capacity && this.queueHead === this.queue.length) this.start(entry);
    else this.queue.push(entry);
    return entry;
  }

  /** Removes a queued job; false once it is running or done. */
  cancel(entry: JobEntry): boolean {
    if (entry.state !== 'queued') return false;
    entry.state = 'cancelled';
    return true;
  }

  /** Fails every queued job (running ones are stopped by the caller, e.g. piscina.destroy()). */
  failQueued(error: unknown): void {
    const queued = this.queue.slice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const entry of queued) {
      if (entry.state !== 'queued') continue;
      entry.state = 'done';
      entry.job.onFailure(error);
    }
  }

  /** From now on piscina's failures are cancellations, not worker deaths. */
  markTerminating(): void {
    this.terminating = true;
  }

  private pump(): void {
    while (this.running < this.capacity && this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as JobEntry;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (entry.state !== 'queued') continue;
      if (entry.job.signal?.aborted) {
        entry.state = 'done';
        entry.job.onFailure(entry.job.signal.reason);
        continue;
      }
      this.start(entry);
    }
  }

  private start(entry: JobEntry): void {
    const { job } = entry;
    entry.state = 'running';
    this.running++;
    job.onStart?.();
    this.options.piscina
      .run(
        job.request,
        job.transferList === undefined && job.signal === undefined
          ? undefined
          : { transferList: job.transferList as never, signal: job.signal ?? null },
      )
      .then(
        (response: TaskResponse) => this.finished(entry, response, undefined),
        (error: unknown) => this.finished(entry, undefined, error),
      );
  }

  private finished(entry: JobEntry, response: TaskResponse | undefined, failure: unknown): void {
    this.running--;
    entry.state = 'done';
    if (this.retiring.size > 0) this.retireIdleWorkers();
    if (response !== undefined) {
      if (response.broken !== undefined) this.breakPool(response);
      if (this.brokenError !== undefined) entry.job.onFailure(this.brokenError);
      else entry.job.onResponse(response);
    } else {
      entry.job.onFailure(this.translateFailure(entry.job, failure));
    }
    this.pump();
  }

  private breakPool(response: TaskResponse): void {
    if (this.brokenError !== undefined) return;
    const cause = decodeError(response.broken!, response.shared);
    const message = cause instanceof Error ? cause.message : String(cause);
    this.brokenError = new PoolBrokenError(`The pool is broken: a worker's initializer failed: ${message}`, { cause });
    this.failQueued(this.brokenError);
    this.options.onBroken(this.brokenError);
  }

  private translateFailure(job: Job, failure: unknown): unknown {
    if (job.signal?.aborted) return job.signal.reason;
    if (this.terminating) return new CancelledError('The pool was terminated before the task finished');
    if (this.brokenError !== undefined) return this.brokenError;
    const message = failure instanceof Error ? failure.message : String(failure);
    const exit = EXIT_CODE_MESSAGE.exec(message);
    // No exit code in the message: the worker died of an uncaught error (exit code 1).
    const exitCode = exit === null ? 1 : Number(exit[1]);
    const reason = exit === null ? `an uncaught error: ${message}` : `exit code ${exitCode}`;
    return new WorkerExitedError(`The worker running this task exited (${reason})`, { exitCode, cause: failure });
  }

  // ---- worker recycling (maxTasksPerChild) ----

  private readonly assigned = new Map<number, number>();
  /** Had their share, still finishing their last task. */
  private readonly retiring = new Map<number, PiscinaWorker>();
  /** Told to exit; piscina still lists them until their 'exit' event. */
  private readonly retired = new Set<number>();

  /** piscina forgot a worker: forget it too. */
  readonly forgetWorker = (worker: { id: number }): void => {
    this.retired.delete(worker.id);
    this.retiring.delete(worker.id);
    this.assigned.delete(worker.id);
  };

  /**
   * piscina's load balancer: an idle worker that has not had its share of
   * tasks. piscina calls it synchronously when it distributes, so a worker's
   * count can never be overtaken by a dispatch we did not see.
   */
  readonly balance = (_task: unknown, workers: PiscinaWorker[]): PiscinaWorker | null => {
    const limit = this.options.maxTasksPerChild;
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      if (limit === undefined) return worker;
      if (this.retiring.has(worker.id) || this.retired.has(worker.id)) continue;
      const count = (this.assigned.get(worker.id) ?? 0) + 1;
      this.assigned.set(worker.id, count);
      if (count >= limit) this.retiring.set(worker.id, worker);
      return worker;
    }
    return null;
  };

  /** Ends workers that had their share once they are idle; piscina starts their replacements. */
  private retireIdleWorkers(): void {
    for (const [id, worker] of this.retiring) {
      if (worker.currentUsage !== 0) continue;
      this.retiring.delete(id);
      this.assigned.delete(id);
      this.retired.add(id);
      const thread = this.options.piscina.threads.find((candidate) => candidate.threadId === id);
      void thread?.terminate();
    }
  }
}
