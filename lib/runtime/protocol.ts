import type { EncodedError } from '../codec/error-codec';
import type { MessagePort } from 'node:worker_threads';
import type { PackedKind } from '../codec/packing';

/**
 * The messages between the main thread and pool workers. Both sides import
 * this module and nothing else of each other's.
 */

/** What a worker should run: a task module export, or an inline function's source. */
export interface TaskSpec {
  /** The task module's file URL, or '' for an inline function. */
  readonly file: string;
  /** The export name, or the inline function's source text when `file` is ''. */
  readonly name: string;
}

export const CallKind = {
  /** `args` is one argument list: `fn(...args)`. */
  Apply: 0,
  /** `args` is a chunk of items: `fn(item)` for each. */
  Map: 1,
  /** `args` is a chunk of argument tuples: `fn(...tuple)` for each. */
  Starmap: 2,
} as const;
export type CallKind = (typeof CallKind)[keyof typeof CallKind];

/**
 * What a request carries as its arguments, decided once per call: codec-encoded
 * values, a chunk of numbers packed in a typed array, or a range of a whole
 * input packed once in shared memory (see lib/codec/packing.ts).
 */
export type TaskInput =
  | {
      readonly kind: 'encoded';
      /** Apply: one argument list. Map/Starmap: the chunk's items (or argument tuples). */
      readonly args: unknown[];
      /** True when `args` holds shared-object descriptors that the worker must decode. */
      readonly shared: boolean;
    }
  | { readonly kind: 'packed'; readonly packed: Int32Array | Float64Array }
  | { readonly kind: 'packed-range'; readonly packed: Int32Array | Float64Array; readonly from: number; readonly to: number };

/**
 * The words of a self-scheduled map's control block (an Int32Array over a
 * SharedArrayBuffer, see lib/runtime/range-run.ts). Workers claim ranges with
 * `Atomics.add(control, Next, size)`, only while `Stop` is 0 and the range
 * starts below `Failed`; a claimed range runs to its end, as a chunk does.
 */
export const RangeWord = {
  /** The first item of the next unclaimed range. */
  Next: 0,
  /** Items of finished ranges (onProgress reads it). */
  Done: 1,
  /** The lowest index whose item threw (compare-and-swap minimum); the item count while none did. */
  Failed: 2,
  /** Non-zero: the map is over (abort, timeout, terminate, a dead worker); claim nothing more. */
  Stop: 3,
} as const;
export const RANGE_CONTROL_WORDS = 4;

/** How a finished range left its results, in `RangeJob.kinds`: in place in `output`, or in the job's response. */
export const RangeResults = {
  /** Not finished (or failed). */
  Pending: 0,
  /** Numbers, in `output`. */
  Numbers: 1,
  /** Booleans, as 1 and 0 in `output`. */
  Booleans: 2,
  /** Finished; its results travel in the job's response (`[from, values][]`). */
  Message: 3,
} as const;

/**
 * A self-scheduled map over a `packed` input (the request's input): one job
 * per worker; each claims ranges of `size` items until none is left.
 */
export interface RangeJob {
  readonly control: Int32Array;
  /** One slot per item: number and boolean results are written here in place. */
  readonly output: Float64Array;
  /** One byte per range (index `from / size`): a RangeResults value, stored once the range is finished. */
  readonly kinds: Uint8Array;
  readonly size: number;
}

/** Main → worker: one job (piscina task, or remote job). Structured-cloneable. */
export interface TaskRequest {
  readonly file: string;
  readonly name: string;
  readonly kind: CallKind;
  readonly input: TaskInput;
  /** Set for a self-scheduled map (local workers only): `input` is the whole packed input. */
  readonly ranges?: RangeJob;
  /**
   * Set when the worker may hold this job behind another one (read-ahead): its
   * entry in the pool's slot words (`PoolWorkerData.slots`, see SlotWord). The
   * worker runs the job only if it moves the entry from QUEUED to STARTED.
   */
  slot?: number;
  /**
   * Set for a bundle (the port path only, see `WorkerEngine.bundles`): the parts of a remote job,
   * run one after the other by one worker, each answered as it ends (a TaskResponse with `part`),
   * so that a worker that dies loses only the part it was running. The request's own fields name
   * the first part (for messages); its `input` is not used.
   */
  readonly bundle?: BundleJob;
}

/** The parts of a bundle, and a state word for each (PartState; an Int32Array over a SharedArrayBuffer). */
export interface BundleJob {
  readonly parts: readonly TaskRequest[];
  readonly states: Int32Array;
}

/**
 * A bundle part's life, in its word of `BundleJob.states`: the main thread may move it
 * QUEUED → CANCELLED (it never runs; the worker answers it "not run"); the worker moves it
 * QUEUED → STARTED (compare-and-swap) before the task's first instruction, and to DONE once
 * its answer is posted, so that a part STARTED when its worker died was running then.
 */
export const PartState = {
  Queued: 0,
  Started: 1,
  Done: 2,
  Cancelled: 3,
} as const;

/**
 * A read-ahead job's life, in its slot's state word (`slots[SLOT_WORDS × slot]`;
 * the word after it holds the thread id of its worker). The main thread stores
 * QUEUED before it posts the job, or HANDED when it gives the job to an idle
 * worker (nothing runs before it there: it counts as running from then on, as
 * any job given to an idle worker does), and may move QUEUED → CANCELLED (a
 * cancel that is exact: the job never runs), or HANDED → CANCELLED (an abort or
 * timeout that stops a job its worker has not reached yet). The worker moves
 * QUEUED or HANDED → STARTED (compare-and-swap) before the task's first
 * instruction, and STARTED → DONE after its last.
 */
export const SlotState = {
  Free: 0,
  Queued: 1,
  Handed: 2,
  Started: 3,
  Cancelled: 4,
  Done: 5,
} as const;
/** Int32 words per slot: the state, then the thread id of the worker that started it. */
export const SLOT_WORDS = 2;

/**
 * Main → worker, the port path (no `maxTasksPerChild`, no `idleTimeout`): the one piscina job
 * each worker gets, once it has booted. It brings the worker its end of a MessageChannel, on
 * which the main thread then posts the worker's jobs (TaskRequest, with a slot) and the
 * worker posts back one TaskResponse per job, in the order the jobs came. The job itself
 * never settles while the worker lives: piscina sees the worker busy, gives it nothing
 * else, and reports its death by rejecting this job.
 */
export interface PortAttachRequest {
  readonly port: MessagePort;
}

/** Worker → main: the outcome of one job (a piscina task, or a job of the port path). */
export interface TaskResponse {
  /** Apply: the return value. Map/Starmap: the results in order (up to the failing item, on error). */
  readonly result: unknown;
  /** True when `result` (or `error`) holds shared-object descriptors. */
  readonly shared: boolean;
  /** Set when the task (or, for a chunk, one of its items) threw. */
  readonly error?: EncodedError;
  /** Set when the worker's initializer failed: the pool is broken. */
  readonly broken?: EncodedError;
  /** Set when `result` is a typed array of chunk results (see packing.ts). */
  readonly packed?: PackedKind;
  /** Range jobs: the input index of the item whose error `error` is. */
  readonly failedAt?: number;
  /** The thread that answered (local pool workers; for stats()). */
  readonly threadId?: number;
  /** Set when the worker did not run a read-ahead job (or a bundle part) because it was cancelled first (its slot read CANCELLED). */
  readonly notRun?: true;
  /** A bundle part's answer: the part's index in the bundle. */
  readonly part?: number;
  /** A bundle part's answer: how long the worker thread worked on it (ms), the task's own run time. */
  readonly ms?: number;
}

export type { EncodedError } from '../codec/error-codec';

/** Pool worker → main, through piscina's `'message'` event: this worker's initializer has settled. */
export interface WorkerInitializedMessage {
  readonly type: 'parapool.pool.initialized';
  readonly threadId: number;
}

/** `workerData` of every pool worker. */
export interface PoolWorkerData {
  readonly initializer?: TaskSpec;
  readonly initargs?: unknown[];
  readonly initargsShared?: boolean;
  /** The slot words of read-ahead jobs (an Int32Array over a SharedArrayBuffer, see SlotState); absent without read-ahead. */
  readonly slots?: Int32Array;
}

/** Task module extensions that need the TypeScript loader. */
export const TYPESCRIPT_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts'];
