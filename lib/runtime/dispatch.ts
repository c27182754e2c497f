/**
 * The runtime interface: what the Runtime under Pool and Executor needs from
 * whatever runs its jobs. The local dispatcher (worker threads through piscina)
 * and the remote one (BullMQ on Redis, lib/remote/) both implement it, so every
 * call of Pool and Executor works unchanged on either.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { TaskRequest, TaskResponse } from './protocol';
import type { PoolStats } from './stats';

/** One unit of work: a call (apply, submit), or a chunk of a map. */
export interface Job {
  readonly request: TaskRequest;
  readonly transferList?: TransferListItem[] | undefined;
  /** Aborting it removes the job if queued, or stops it if running; the job fails with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** The job left the queue for a worker (it may wait there behind another job: see `Dispatcher.started`). */
  onStart?(): void;
  /** The worker answered (the response may carry the task's own error). */
  onResponse(response: TaskResponse): void;
  /** The job did not complete: worker exit, abort, terminate, broken pool, unreachable backend. */
  onFailure(error: unknown): void;
  /**
   * A bundle's (`request.bundle`, only where `Dispatcher.bundles`): each part's answer, in order, as
   * it comes; `onResponse` then brings the last one again, and `onFailure` says the job is over with
   * the parts that did not answer unanswered (the one STARTED was running when its worker died).
   */
  onPart?(response: TaskResponse): void;
}

/** A submitted job, as the dispatcher tracks it. */
export interface JobEntry {
  readonly job: Job;
  state: 'queued' | 'running' | 'cancelled' | 'done';
}

/** Runs jobs on workers: FIFO, one job at a time per worker thread (which may hold more, read ahead: see local-dispatcher.ts). */
export interface Dispatcher {
  /** Threads that serve jobs now: the pool size locally, the live remote thread count remotely. */
  readonly workers: number;
  /**
   * True when jobs run on this process's threads and may share memory with the
   * caller, and a job is not counted against a worker's task budget: a map over
   * a packed input may then run as one self-scheduled job per worker (range-run.ts).
   */
  readonly selfScheduling?: boolean;
  /**
   * How many chunks a chunked call keeps submitted ahead of its consumer (what bounds an imap over an
   * infinite input); undefined: 4 per worker thread. A remote dispatcher keeps more, to cover its round trips.
   */
  readonly readAhead?: number;
  /**
   * When set, a map without a chunksize sizes its chunks by measurement towards this many milliseconds of
   * work per chunk (at most Python's default size); undefined: Python's default, `ceil(n / (4 × workers))`.
   */
  readonly targetChunkMs?: number;
  /** True when a job may be a bundle (TaskRequest.bundle, with Job.onPart): the local dispatcher on its port path. */
  readonly bundles?: boolean;
  /** Queues a job (or starts it at once when a worker is free). Never throws: a job that cannot run fails through `onFailure`. */
  submit(job: Job): JobEntry;
  /** Removes a queued job without running it; false once it is running or done. */
  cancel(entry: JobEntry): boolean;
  /**
   * True once a worker began running the job and until it ended. Without it,
   * a job is running from `onStart` on; a dispatcher whose workers hold jobs
   * ahead (read-ahead) knows better than `onStart` when one really started.
   */
  started?(entry: JobEntry): boolean;
  /** Fails every queued job with `error`; running jobs go on. */
  failQueued(error: unknown): void;
  /** After every accepted job has ended: releases the workers (or connections). */
  close(): Promise<void>;
  /** Stops now: queued and running jobs fail with `error`; resolves once the workers are gone. */
  terminate(error: unknown): Promise<void>;
  /** What the jobs so far measured (local threads only). */
  stats?(): PoolStats;
}
