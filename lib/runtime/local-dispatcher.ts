/**
 * The local dispatcher: runs jobs on this process's worker threads. It keeps
 * its own FIFO of jobs and hands the engine at most one job per worker, so
 * that a job the engine has is a job that runs: cancelling one of ours while
 * it is queued is exact (Future.cancel, a failed map's unstarted chunks), and
 * `onStart` means "running". That costs no throughput: piscina dispatches the
 * next job in the same turn of the main thread's event loop in which it
 * receives a result, whether the job waits in its queue or in ours.
 *
 * It also owns what the protocol says about the pool as a whole: a worker
 * whose initializer failed breaks the pool (every queued and later job fails
 * with PoolBrokenError), and after terminate() every failure is the caller's
 * reason, not a worker death.
 */
import type { TransferListItem } from 'node:worker_threads';
import { decodeError } from '../codec/error-codec';
import { PoolBrokenError } from '../errors';
import type { Dispatcher, Job, JobEntry } from './dispatch';
import type { TaskRequest, TaskResponse } from './protocol';
import { type PoolStats, StatsRecorder } from './stats';

/** What the local dispatcher runs jobs on: piscina through piscina-adapter.ts, or a fake in the specs. */
export interface WorkerEngine {
  readonly workers: number;
  /** Runs one request on an idle worker; rejects with a parapool error (WorkerExitedError) when the worker dies. */
  run(request: TaskRequest, transferList: TransferListItem[] | undefined, signal: AbortSignal | undefined): Promise<TaskResponse>;
  /** Lets started workers finish starting (their initializers), then stops them. */
  close(): Promise<void>;
  /** Stops every worker now; running requests reject. */
  destroy(): Promise<void>;
  /** The thread ids of the live workers (for stats()). */
  threadIds?(): readonly number[];
}

/** A job as this dispatcher tracks it: when it was submitted and when a worker took it. */
interface LocalEntry extends JobEntry {
  readonly submittedAt: number;
  startedAt: number;
}

/** How the local dispatcher is set up. */
export interface LocalDispatcherOptions {
  /** Self-scheduled maps (range-run.ts); off when workers are recycled, since those count every job. @default true */
  readonly selfScheduling?: boolean;
}

export class LocalDispatcher implements Dispatcher {
  readonly selfScheduling: boolean;
  readonly #engine: WorkerEngine;
  readonly #queue: (LocalEntry | undefined)[] = [];
  readonly #stats = new StatsRecorder();
  #queueHead = 0;
  #running = 0;
  /** Set when the pool broke or was terminated: every later job fails with it. */
  #refusal: unknown;
  #broken = false;
  #terminated: unknown;
  #isTerminated = false;
  #idle: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(engine: WorkerEngine, options: LocalDispatcherOptions = {}) {
    this.#engine = engine;
    this.selfScheduling = options.selfScheduling ?? true;
  }

  get workers(): number {
    return this.#engine.workers;
  }

  submit(job: Job): JobEntry {
    const entry: LocalEntry = { job, state: 'queued', submittedAt: performance.now(), startedAt: 0 };
    if (this.#broken || this.#isTerminated) {
      entry.state = 'done';
      this.#stats.dropped(true);
      job.onFailure(this.#refusal);
      return entry;
    }
    if (this.#running < this.#engine.workers && this.#queueHead === this.#queue.length) this.#start(entry);
    else this.#queue.push(entry);
    return entry;
  }

  cancel(entry: JobEntry): boolean {
    if (entry.state !== 'queued') return false;
    entry.state = 'cancelled';
    this.#stats.dropped(false);
    return true;
  }

  /** A snapshot of the work so far (Pool.stats(), Executor.stats()). */
  stats(): PoolStats {
    let queued = 0;
    for (let i = this.#queueHead; i < this.#queue.length; i++) if (this.#queue[i]?.state === 'queued') queued++;
    return this.#stats.snapshot(this.#engine.threadIds?.() ?? [], this.#engine.workers, queued, this.#running, performance.now());
  }

  failQueued(error: unknown): void {
    const queued = this.#queue.slice(this.#queueHead);
    this.#queue.length = 0;
    this.#queueHead = 0;
    for (const entry of queued) {
      if (entry === undefined || entry.state !== 'queued') continue;
      entry.state = 'done';
      this.#stats.dropped(true);
      entry.job.onFailure(error);
    }
    this.#checkIdle();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#pending() > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.#engine.close();
    })();
    return this.#closed;
  }

  async terminate(error: unknown): Promise<void> {
    if (!this.#isTerminated) {
      this.#isTerminated = true;
      this.#terminated = error;
      if (!this.#broken) this.#refusal = error;
      this.failQueued(error);
    }
    await this.#engine.destroy();
  }

  /** Jobs queued (not cancelled) or running. */
  #pending(): number {
    let queued = 0;
    for (let i = this.#queueHead; i < this.#queue.length; i++) if (this.#queue[i]?.state === 'queued') queued++;
    return this.#running + queued;
  }

  #checkIdle(): void {
    if (this.#idle === undefined || this.#pending() > 0) return;
    const idle = this.#idle;
    this.#idle = undefined;
    idle();
  }

  #pump(): void {
    while (this.#running < this.#engine.workers && this.#queueHead < this.#queue.length) {
      const entry = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      if (entry.state !== 'queued') continue;
      if (entry.job.signal?.aborted) {
        entry.state = 'done';
        this.#stats.dropped(true);
        entry.job.onFailure(entry.job.signal.reason);
        continue;
      }
      this.#start(entry);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
  }

  #start(entry: LocalEntry): void {
    const { job } = entry;
    entry.state = 'running';
    this.#running++;
    entry.startedAt = performance.now();
    this.#stats.started(entry.startedAt - entry.submittedAt, entry.startedAt);
    job.onStart?.();
    this.#engine.run(job.request, job.transferList, job.signal).then(
      (response) => this.#finished(entry, response, undefined),
      (failure: unknown) => this.#finished(entry, undefined, failure),
    );
  }

  #finished(entry: LocalEntry, response: TaskResponse | undefined, failure: unknown): void {
    this.#running--;
    entry.state = 'done';
    const now = performance.now();
    const failed = response === undefined || response.error !== undefined || response.broken !== undefined;
    this.#stats.ended(now - entry.startedAt, failed, response?.threadId, now);
    try {
      if (response !== undefined) {
        if (response.broken !== undefined) this.#breakPool(response);
        if (this.#broken) entry.job.onFailure(this.#refusal);
        else entry.job.onResponse(response);
      } else {
        entry.job.onFailure(this.#failureOf(entry.job, failure));
      }
    } finally {
      this.#pump();
      this.#checkIdle();
    }
  }

  #breakPool(response: TaskResponse): void {
    if (this.#broken) return;
    const cause = decodeError(response.broken!, response.shared);
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#broken = true;
    this.#refusal = new PoolBrokenError(`The pool is broken: a worker's initializer failed: ${message}`, { cause });
    this.failQueued(this.#refusal);
    void this.#engine.destroy();
  }

  #failureOf(job: Job, failure: unknown): unknown {
    if (job.signal?.aborted) return job.signal.reason;
    if (this.#isTerminated) return this.#terminated;
    if (this.#broken) return this.#refusal;
    return failure;
  }
}
