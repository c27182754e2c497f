/**
 * The local dispatcher: runs jobs on this process's worker threads. It keeps
 * its own FIFO of jobs and hands the engine at most `depth` jobs per worker
 * (the engine's read-ahead: a worker that finishes a task starts the next one
 * it holds at once, instead of idling while its result travels back and the
 * next task comes in). A job the engine holds is not necessarily running: it
 * may wait behind another one in its worker. What the worker did with it is
 * in the job's slot (see SlotState in protocol.ts), so that cancelling a job
 * is still exact (`withdraw`: it never runs), `started()` is exact, and when a
 * worker dies the jobs it held but had not started come back here (the engine
 * answers them "not run") and go to the front of the queue: only the task it
 * was running fails (API.md §2). With depth 1 (recycling) a job the engine has
 * is a job that runs, as before.
 *
 * Read-ahead pays for short tasks only: a job held behind a long one could
 * have started on another worker meanwhile, which is what a coarse map's tail
 * needs. So a worker holds, behind the job it runs, at most READ_AHEAD_MAX_MS
 * of work, counted at the recent job time from handoff to answer: no read-ahead
 * before the first answer, none for jobs slower than that. And a worker with
 * nothing to run gets the next queued job even when the jobs other workers
 * hold (read ahead while jobs were shorter) keep the engine above its
 * capacity, so that it does not idle behind them.
 *
 * An aborted job the engine holds fails at once with its signal's reason: one
 * not started yet is withdrawn, one running has its worker stopped by the
 * engine (the other jobs of that worker come back, as on any death). An
 * aborted bundle (TaskRequest.bundle) fails once the engine has let go of it,
 * after the answers of the parts that ended before the stop.
 *
 * It also owns what the protocol says about the pool as a whole: a worker
 * whose initializer failed breaks the pool (every queued and later job fails
 * with PoolBrokenError), and after terminate() every failure is the caller's
 * reason, not a worker death.
 */
import type { TransferListItem } from 'node:worker_threads';
import { decodeError } from '../codec/error-codec';
import { PoolBrokenError } from '../errors';
import { onAbort } from './call-signal';
import type { Dispatcher, Job, JobEntry } from './dispatch';
import type { TaskRequest, TaskResponse } from './protocol';
import { type PoolStats, StatsRecorder } from './stats';

/** What the local dispatcher runs jobs on: piscina through piscina-adapter.ts, or a fake in the specs. */
export interface WorkerEngine {
  readonly workers: number;
  /**
   * How many jobs a worker may hold at once (read-ahead); 1 or undefined: one
   * at a time. Above 1 the engine gets no signal: the dispatcher stops jobs
   * through `withdraw` and `stop`.
   */
  readonly depth?: number;
  /**
   * Runs one request (on the least busy worker); rejects with a parapool error
   * (WorkerExitedError) when the worker dies while running it. Resolves
   * `undefined` for a job the worker held and did not start (withdrawn, or its
   * worker died or was stopped first): it may run again.
   */
  run(
    request: TaskRequest,
    transferList: TransferListItem[] | undefined,
    signal: AbortSignal | undefined,
    onPart?: (response: TaskResponse) => void,
  ): Promise<TaskResponse | undefined>;
  /**
   * True when the engine runs bundles (TaskRequest.bundle): `run` then hands each part's
   * answer to `onPart` as it comes, and settles with the last one's.
   */
  readonly bundles?: boolean;
  /** Read-ahead: the job will never start (its slot moved QUEUED → CANCELLED); false once it has. */
  withdraw?(request: TaskRequest): boolean;
  /** Read-ahead: true once the worker holding the job has started it (exact: reads the slot). */
  started?(request: TaskRequest): boolean;
  /** Read-ahead: stops the worker running the job (true), or does nothing when it is not running (false). */
  stop?(request: TaskRequest): boolean;
  /** Read-ahead: the dispatcher is done with the job's settlement: its slot may serve another job. */
  release?(request: TaskRequest): void;
  /** Read-ahead: jobs that wait in a worker behind another one, and withdrawn ones their worker has not answered yet (stats()). */
  held?(): { readonly waiting: number; readonly withdrawn: number };
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
  /** Read-ahead: removes the abort listener of a job the engine holds. */
  unsubscribe: (() => void) | undefined;
  /** A bundle aborted while the engine held it: it fails with this once the engine let go of it. */
  aborted?: { readonly reason: unknown };
}

/**
 * The most work, in ms of recent job time, a worker holds behind the job it runs (see the
 * module comment): it bounds what the read-ahead can add to a call's tail.
 */
export const READ_AHEAD_MAX_MS = 2;
/** The weight of the latest job in the running average of job times. */
const RECENT_WEIGHT = 0.25;

/** How the local dispatcher is set up. */
export interface LocalDispatcherOptions {
  /** Self-scheduled maps (range-run.ts); off when workers are recycled, since those count every job. @default true */
  readonly selfScheduling?: boolean;
  /** The most work, in ms of recent job time, a worker holds behind its running job (Infinity: the engine's whole depth, from the first job on). @default READ_AHEAD_MAX_MS */
  readonly readAheadMaxMs?: number;
  /** The clock job times are read from (the specs drive it by hand). @default performance.now */
  readonly clock?: () => number;
}

export class LocalDispatcher implements Dispatcher {
  readonly selfScheduling: boolean;
  readonly #engine: WorkerEngine;
  /** Jobs each worker may hold: the engine's read-ahead depth. */
  readonly #depth: number;
  readonly #readAheadMaxMs: number;
  readonly #clock: () => number;
  /** A running average of the ms from handoff to answer (Infinity until a job answered: no read-ahead before, by default). */
  #recentMs = Infinity;
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
    this.#depth = engine.depth ?? 1;
    this.#readAheadMaxMs = options.readAheadMaxMs ?? READ_AHEAD_MAX_MS;
    this.#clock = options.clock ?? (() => performance.now());
    this.selfScheduling = options.selfScheduling ?? true;
  }

  get workers(): number {
    return this.#engine.workers;
  }

  /** True when a job may be a bundle (see TaskRequest.bundle and Job.onPart). */
  get bundles(): boolean {
    return this.#engine.bundles === true;
  }

  submit(job: Job): JobEntry {
    const entry: LocalEntry = { job, state: 'queued', submittedAt: this.#clock(), startedAt: 0, unsubscribe: undefined };
    if (this.#broken || this.#isTerminated) {
      entry.state = 'done';
      this.#stats.dropped(true);
      job.onFailure(this.#refusal);
      return entry;
    }
    if (job.signal?.aborted) {
      // An aborted signal never fires again: a job started with it could not be stopped (see #start).
      entry.state = 'done';
      this.#stats.dropped(true);
      job.onFailure(job.signal.reason);
      return entry;
    }
    if (this.#queueHead === this.#queue.length && this.#hasRoom()) this.#start(entry);
    else this.#queue.push(entry);
    return entry;
  }

  cancel(entry: JobEntry): boolean {
    if (entry.state === 'running' && this.#depth > 1 && this.#engine.withdraw!(entry.job.request)) {
      // Held by a worker, not started: it never will be. The engine answers it "not run" later.
      (entry as LocalEntry).unsubscribe?.();
    } else if (entry.state !== 'queued') {
      return false;
    }
    entry.state = 'cancelled';
    this.#stats.dropped(false);
    return true;
  }

  /** True once a worker began running the job (exact with read-ahead: it reads the job's slot). */
  started(entry: JobEntry): boolean {
    if (entry.state !== 'running') return false;
    return this.#depth === 1 || this.#engine.started!(entry.job.request);
  }

  /** A snapshot of the work so far (Pool.stats(), Executor.stats()). */
  stats(): PoolStats {
    let queued = 0;
    for (let i = this.#queueHead; i < this.#queue.length; i++) if (this.#queue[i]?.state === 'queued') queued++;
    // A job a worker holds behind another one is queued, not running.
    const held = this.#depth > 1 ? this.#engine.held!() : { waiting: 0, withdrawn: 0 };
    const running = this.#running - held.waiting - held.withdrawn;
    return this.#stats.snapshot(this.#engine.threadIds?.() ?? [], this.#engine.workers, queued + held.waiting, running, this.#clock());
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

  /**
   * Jobs the engine may hold: one per worker, and behind it as many more (up to `depth` in
   * all) as fit in READ_AHEAD_MAX_MS at the recent job time.
   */
  #capacity(): number {
    const { workers } = this.#engine;
    if (this.#depth === 1) return workers;
    if (this.#readAheadMaxMs === Infinity) return workers * this.#depth;
    // recentMs is Infinity before the first answer (no read-ahead) and may be 0 (the whole depth).
    const behind = Math.min(this.#depth - 1, Math.floor(this.#readAheadMaxMs / this.#recentMs));
    return workers * (1 + behind);
  }

  /**
   * True when the engine may take one more job: below the capacity, or (read-ahead) a worker
   * has nothing to run while jobs held behind others keep the engine above a capacity that
   * fell since they were handed over (recent jobs got slower), within the engine's depth.
   * Only then: jobs no worker has taken yet (workers still starting) also wait in their slots,
   * and at the capacity they stay in this queue, not behind another job in a worker.
   */
  #hasRoom(): boolean {
    const capacity = this.#capacity();
    if (this.#running < capacity) return true;
    const { workers } = this.#engine;
    if (this.#running === capacity || this.#running >= workers * this.#depth) return false;
    const held = this.#engine.held!();
    return this.#running - held.waiting - held.withdrawn < workers;
  }

  #pump(): void {
    while (this.#queueHead < this.#queue.length && this.#hasRoom()) {
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
    entry.startedAt = this.#clock();
    this.#stats.started(entry.startedAt - entry.submittedAt, entry.startedAt);
    job.onStart?.();
    let signal = job.signal;
    if (this.#depth > 1 && signal !== undefined) {
      // The engine gets no signal (it would stop the whole worker for a job that waits in it): see #abortHeld.
      const aborted = signal;
      entry.unsubscribe = onAbort(aborted, () => this.#abortHeld(entry, aborted.reason));
      signal = undefined;
    }
    const onPart = job.onPart === undefined ? undefined : (response: TaskResponse) => this.#part(entry, response);
    this.#engine.run(job.request, job.transferList, signal, onPart).then(
      (response) => this.#finished(entry, response, undefined, response === undefined),
      (failure: unknown) => this.#finished(entry, undefined, failure, false),
    );
  }

  /** A bundle part's answer, for its job (a job that ended for its caller hears no more). */
  #part(entry: LocalEntry, response: TaskResponse): void {
    if (entry.state !== 'running') return;
    try {
      entry.job.onPart!(response);
    } catch {
      // The job's listener must not break the engine's port.
    }
  }

  /**
   * An aborted job the engine holds fails now: withdrawn if it has not started, its worker
   * stopped if it runs. A bundle fails once the engine let go of it (#finished), so that the
   * answers of the parts that ended before the stop reach it first.
   */
  #abortHeld(entry: LocalEntry, reason: unknown): void {
    if (entry.state !== 'running' || entry.aborted !== undefined) return;
    entry.unsubscribe = undefined;
    const { request } = entry.job;
    if (!this.#engine.withdraw!(request)) this.#engine.stop!(request);
    if (request.bundle !== undefined) {
      entry.aborted = { reason };
      return;
    }
    entry.state = 'done';
    this.#stats.dropped(true);
    entry.job.onFailure(reason);
  }

  /** Read-ahead: a job its worker did not start goes back to the front of the queue, before anything else is dispatched. */
  #requeue(entry: LocalEntry): void {
    entry.state = 'queued';
    if (this.#queueHead > 0) this.#queue[--this.#queueHead] = entry;
    else this.#queue.unshift(entry);
  }

  #finished(entry: LocalEntry, response: TaskResponse | undefined, failure: unknown, notRun: boolean): void {
    this.#engine.release?.(entry.job.request);
    this.#running--;
    entry.unsubscribe?.();
    entry.unsubscribe = undefined;
    if (entry.state !== 'running') {
      // Withdrawn or aborted while the engine held it: its caller already knows.
      this.#pump();
      this.#checkIdle();
      return;
    }
    if (entry.aborted !== undefined) {
      entry.state = 'done';
      this.#stats.dropped(true);
      try {
        entry.job.onFailure(entry.aborted.reason);
      } finally {
        this.#pump();
        this.#checkIdle();
      }
      return;
    }
    if (notRun && !this.#broken && !this.#isTerminated) {
      this.#requeue(entry);
      this.#pump();
      return;
    }
    entry.state = 'done';
    const now = this.#clock();
    const ranMs = now - entry.startedAt;
    this.#recentMs = this.#recentMs === Infinity ? ranMs : this.#recentMs + (ranMs - this.#recentMs) * RECENT_WEIGHT;
    const failed = response === undefined || response.error !== undefined || response.broken !== undefined;
    this.#stats.ended(ranMs, failed, response?.threadId, now);
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
