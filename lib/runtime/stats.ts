/**
 * What a pool's dispatcher measures about its tasks, for `Pool.stats()` and
 * `Executor.stats()`: so that a user can see whether a chunksize or a worker
 * count helps. A task here is one job: an apply or submit, one chunk of a
 * map, or one worker's share of a self-scheduled map (range-run.ts).
 * Times are measured on the main thread (as piscina measures its own): wait
 * time from submission to the moment a worker takes the task, run time from
 * then to its answer.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of a duration, in milliseconds (0 while nothing was measured). */
export interface TimeSummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  /** How many durations were measured. */
  readonly count: number;
}

/** One live worker thread. */
export interface WorkerStats {
  readonly threadId: number;
  /** Tasks this worker answered. */
  readonly completed: number;
  /** The share of the time since its first task that this worker spent running tasks, from 0 to 1. */
  readonly utilization: number;
}

/** A snapshot of a pool's work, as `Pool.stats()` and `Executor.stats()` return it. */
export interface PoolStats {
  /** The live worker threads (a worker that has not run a task yet shows 0). */
  readonly workers: readonly WorkerStats[];
  /** Tasks waiting for a worker (the queue depth). */
  readonly queued: number;
  /** Tasks running now. */
  readonly running: number;
  /** Tasks that answered with a result. */
  readonly completed: number;
  /** Tasks that ended with an error: the task's own, a dead worker, an abort, a timeout. */
  readonly failed: number;
  /** Busy time of all workers over their capacity since the first task, from 0 to 1. */
  readonly utilization: number;
  /** From a worker taking a task to its answer, ms. */
  readonly runTime: TimeSummary;
  /** From submission to a worker taking the task, ms. */
  readonly waitTime: TimeSummary;
}

interface WorkerRecord {
  completed: number;
  busyMs: number;
  since: number;
}

/** Histograms record integers: durations are kept in microseconds. */
const MICROS_PER_MS = 1000;

function summary(histogram: RecordableHistogram): TimeSummary {
  const count = histogram.count;
  if (count === 0) return { p50: 0, p90: 0, p99: 0, mean: 0, max: 0, count: 0 };
  const ms = (micros: number): number => micros / MICROS_PER_MS;
  return {
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    mean: ms(histogram.mean),
    max: ms(histogram.max),
    count,
  };
}

function record(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * MICROS_PER_MS)));
}

/** The counters and histograms behind PoolStats; the dispatcher feeds it. */
export class StatsRecorder {
  readonly #runTime = createHistogram();
  readonly #waitTime = createHistogram();
  readonly #workers = new Map<number, WorkerRecord>();
  #completed = 0;
  #failed = 0;
  #firstStart: number | undefined;
  #busyMs = 0;

  /** A task left the queue for a worker after `waitedMs`. */
  started(waitedMs: number, now: number): void {
    record(this.#waitTime, waitedMs);
    this.#firstStart ??= now;
  }

  /** A task ended after running `ranMs`; `threadId` when a worker answered it. */
  ended(ranMs: number, failed: boolean, threadId: number | undefined, now: number): void {
    record(this.#runTime, ranMs);
    this.#busyMs += ranMs;
    if (failed) this.#failed++;
    else this.#completed++;
    if (threadId === undefined) return;
    let worker = this.#workers.get(threadId);
    if (worker === undefined) {
      worker = { completed: 0, busyMs: 0, since: now - ranMs };
      this.#workers.set(threadId, worker);
    }
    worker.completed++;
    worker.busyMs += ranMs;
  }

  /** A task that never ran (withdrawn, or failed in the queue). */
  dropped(failed: boolean): void {
    if (failed) this.#failed++;
  }

  snapshot(live: readonly number[], capacity: number, queued: number, running: number, now: number): PoolStats {
    const liveIds = new Set(live);
    for (const threadId of this.#workers.keys()) if (!liveIds.has(threadId)) this.#workers.delete(threadId);
    const workers = live.map((threadId): WorkerStats => {
      const worker = this.#workers.get(threadId);
      if (worker === undefined) return { threadId, completed: 0, utilization: 0 };
      const elapsed = now - worker.since;
      return { threadId, completed: worker.completed, utilization: elapsed > 0 ? Math.min(1, worker.busyMs / elapsed) : 0 };
    });
    const elapsed = this.#firstStart === undefined ? 0 : now - this.#firstStart;
    return {
      workers,
      queued,
      running,
      completed: this.#completed,
      failed: this.#failed,
      utilization: elapsed > 0 && capacity > 0 ? Math.min(1, this.#busyMs / (elapsed * capacity)) : 0,
      runTime: summary(this.#runTime),
      waitTime: summary(this.#waitTime),
    };
  }
}
