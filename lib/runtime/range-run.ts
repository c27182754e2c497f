/**
 * A self-scheduled map (Pool.map over an input packed in shared memory, on
 * local workers): instead of one job per chunk, each a round trip through
 * the main thread's event loop, it submits one job per worker, and the
 * workers take ranges of the input themselves off an atomic counter in a
 * shared control block (lib/entry/pool-worker.ts, `runRanges`). Numbers and
 * booleans are written in place into a shared output; the main thread hears
 * once per worker, at the end. Small ranges keep uneven items balanced, since
 * a claim costs an atomic add, not a round trip.
 *
 * Semantics kept from the chunked path (API.md §2):
 * - Results in input order; a task error rejects the map with the error of the
 *   lowest failing index (every range below it was claimed and runs to its
 *   end; no range above it is claimed afterwards), as soon as every range
 *   below it has finished; the jobs still running end before it settles.
 * - A dying worker fails this map and nothing else: a range job occupies its
 *   worker exclusively, like any job.
 * - An abort, a timeout, terminate() or a failure sets the stop word (workers
 *   claim no further range); the signal also reaches the jobs, so that a
 *   worker stuck in one item is stopped as any running job is. The run counts
 *   as settled (join()) only when every started job has ended.
 */
import type { CallRun } from './chunk-run';
import { onAbort } from './call-signal';
import type { Dispatcher, JobEntry } from './dispatch';
import { CallKind, RANGE_CONTROL_WORDS, type RangeJob, RangeResults, RangeWord, type TaskResponse, type TaskSpec } from './protocol';
import { openResponse } from './response';
import { giveBackShared, takeShared } from './spare-buffers';

/** Claims per worker the default range size aims at: small enough for a balanced tail, large enough that claims stay rare. */
const CLAIMS_PER_WORKER = 128;
/** How often onProgress is told the items done, while a self-scheduled map runs. */
const PROGRESS_INTERVAL_MS = 20;

/** The default range size of a self-scheduled map over `itemCount` items on `workers` workers. */
export function rangeSize(itemCount: number, workers: number): number {
  return Math.max(1, Math.ceil(itemCount / (Math.max(1, workers) * CLAIMS_PER_WORKER)));
}

/**
 * True when a map of `itemCount` items with ranges of `size` fits the int32
 * control words: the claim counter overshoots the end by one range per job.
 */
export function rangesFit(itemCount: number, size: number, jobs: number): boolean {
  return itemCount + (jobs + 1) * size <= 0x7fffffff;
}

export interface RangeRunOptions {
  readonly spec: TaskSpec;
  readonly packed: Int32Array | Float64Array;
  readonly size: number;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number, total?: number) => void) | undefined;
  /** Called once when the run is over and none of its jobs is running any more. */
  readonly onSettled: () => void;
}

export interface RangeConsumer {
  done(results: unknown[]): void;
  failed(error: unknown): void;
}

export class RangeRun implements CallRun {
  readonly #dispatcher: Dispatcher;
  readonly #options: RangeRunOptions;
  readonly #consumer: RangeConsumer;
  readonly #job: RangeJob;
  readonly #length: number;
  readonly #entries = new Set<JobEntry>();
  /** Message results of ranges that were not all numbers or all booleans, by their first index. */
  readonly #messages = new Map<number, unknown[]>();
  /** The error of each failing index a job reported. */
  readonly #errors = new Map<number, unknown>();
  #inFlight = 0;
  /** False once a job ended without answering: its worker may still write to the output. */
  #outputReusable = true;
  #finished = false;
  #settled = false;
  #reported = 0;
  #progressTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * The array the map resolves with, allocated once the jobs are posted: a large array is a
   * costly allocation, which the main thread then makes while the workers run, not after them.
   */
  #resultArray: unknown[] | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(dispatcher: Dispatcher, options: RangeRunOptions, consumer: RangeConsumer) {
    this.#dispatcher = dispatcher;
    this.#options = options;
    this.#consumer = consumer;
    this.#length = options.packed.length;
    const control = new Int32Array(new SharedArrayBuffer(RANGE_CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT));
    control[RangeWord.Failed] = this.#length;
    this.#job = {
      control,
      output: new Float64Array(takeShared(this.#length * Float64Array.BYTES_PER_ELEMENT), 0, this.#length),
      kinds: new Uint8Array(new SharedArrayBuffer(Math.ceil(this.#length / options.size))),
      size: options.size,
    };
  }

  start(): void {
    const { signal, spec, packed, onProgress } = this.#options;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(signal.reason);
        return;
      }
      this.#unsubscribe = onAbort(signal, () => this.fail(signal.reason));
    }
    if (onProgress !== undefined) {
      this.#progressTimer = setInterval(() => this.#progress(), PROGRESS_INTERVAL_MS);
      this.#progressTimer.unref();
    }
    const jobs = Math.min(Math.max(1, this.#dispatcher.workers), Math.ceil(this.#length / this.#options.size));
    for (let i = 0; i < jobs && !this.#finished; i++) {
      let ended = false;
      let entry: JobEntry | undefined;
      const end = (): boolean => {
        if (ended) return false;
        ended = true;
        this.#inFlight--;
        if (entry !== undefined) this.#entries.delete(entry);
        return true;
      };
      this.#inFlight++;
      entry = this.#dispatcher.submit({
        request: { file: spec.file, name: spec.name, kind: CallKind.Map, input: { kind: 'packed', packed }, ranges: this.#job },
        signal,
        onResponse: (response) => {
          if (!end()) return;
          this.#answered(response);
          this.#jobEnded();
        },
        onFailure: (error) => {
          if (!end()) return;
          this.#outputReusable = false;
          this.fail(error);
          this.#jobEnded();
        },
      });
      if (!ended) this.#entries.add(entry);
    }
    if (!this.#finished) this.#resultArray = new Array(this.#length);
  }

  /** Everything is submitted up front: nothing to read on. */
  drain(): void {}

  /** Fails the map now (abort, timeout, terminate, a dead worker): the workers claim no further range. */
  fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    Atomics.store(this.#job.control, RangeWord.Stop, 1);
    this.#cleanup();
    this.#consumer.failed(error);
    this.#maybeSettle();
  }

  #cleanup(): void {
    this.#resultArray = undefined;
    this.#unsubscribe?.();
    if (this.#progressTimer !== undefined) clearInterval(this.#progressTimer);
    this.#withdrawQueued();
  }

  /** Jobs not started yet are not needed once every range is claimed (or the map is over). */
  #withdrawQueued(): void {
    for (const entry of this.#entries) {
      if (this.#dispatcher.cancel(entry)) {
        this.#entries.delete(entry);
        this.#inFlight--;
      }
    }
  }

  #answered(response: TaskResponse): void {
    if (this.#finished) return;
    const opened = openResponse(response);
    const failed = opened.failed;
    const error = opened.failed ? opened.error : undefined;
    if (!failed && response.result !== undefined) {
      for (const [from, values] of response.result as [number, unknown[]][]) this.#messages.set(from, values);
    }
    if (failed && response.failedAt === undefined) {
      // The task could not be loaded, or its results could not cross: the whole map fails, as a chunk would.
      this.fail(error);
      return;
    }
    // A job ends only when no range is left to claim (or the map failed): the queued ones would find none.
    this.#withdrawQueued();
    if (failed) {
      this.#errors.set(response.failedAt!, error);
      this.#failIfLowest();
    }
  }

  /**
   * Fails the map without waiting for the other jobs once the lowest failing
   * index so far cannot be undercut: every range before it finished without
   * an error (a slow item elsewhere does not hold the rejection back).
   */
  #failIfLowest(): void {
    const { control, kinds, size } = this.#job;
    const failedAt = Atomics.load(control, RangeWord.Failed);
    if (!this.#errors.has(failedAt)) return;
    const ranges = Math.floor(failedAt / size);
    for (let range = 0; range < ranges; range++) if (Atomics.load(kinds, range) === RangeResults.Pending) return;
    this.fail(this.#errors.get(failedAt));
  }

  #jobEnded(): void {
    if (this.#inFlight === 0 && !this.#finished) this.#finish();
    this.#maybeSettle();
  }

  #finish(): void {
    const { control } = this.#job;
    const failedAt = Atomics.load(control, RangeWord.Failed);
    if (failedAt < this.#length) {
      this.fail(this.#errors.get(failedAt));
      return;
    }
    let results: unknown[];
    try {
      results = this.#results();
      if (this.#options.onProgress !== undefined && this.#reported !== this.#length) this.#options.onProgress(this.#length, this.#length);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.#finished = true;
    this.#cleanup();
    this.#consumer.done(results);
  }

  /** The output in input order: typed ranges read from shared memory, the others from the responses. */
  #results(): unknown[] {
    const { control, output, kinds, size } = this.#job;
    // Every job has answered; this load orders the reads below after the workers' last Atomics.add on Done.
    Atomics.load(control, RangeWord.Done);
    const length = this.#length;
    const results = this.#resultArray ?? new Array(length);
    for (let range = 0, from = 0; from < length; range++, from += size) {
      const to = Math.min(length, from + size);
      const kind = Atomics.load(kinds, range);
      if (kind === RangeResults.Booleans) {
        for (let i = from; i < to; i++) results[i] = output[i] === 1;
      } else if (kind === RangeResults.Numbers) {
        for (let i = from; i < to; i++) results[i] = output[i];
      } else {
        // RangeResults.Message: every job answered without an error, so every range finished.
        const values = this.#messages.get(from)!;
        for (let i = from; i < to; i++) results[i] = values[i - from];
      }
    }
    return results;
  }

  #progress(): void {
    const done = Atomics.load(this.#job.control, RangeWord.Done);
    if (this.#finished || done === this.#reported) return;
    this.#reported = done;
    try {
      this.#options.onProgress!(done, this.#length);
    } catch (error) {
      this.fail(error);
    }
  }

  #maybeSettle(): void {
    if (this.#settled || !this.#finished || this.#inFlight > 0) return;
    this.#settled = true;
    if (this.#outputReusable) {
      // No job can touch the output or the input any more: both serve the next map.
      giveBackShared(this.#job.output.buffer as SharedArrayBuffer);
      if (this.#options.packed.buffer instanceof SharedArrayBuffer) giveBackShared(this.#options.packed.buffer);
    }
    this.#options.onSettled();
  }
}
