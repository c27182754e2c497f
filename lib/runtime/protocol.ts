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

/** Main → worker: one job (piscina task, or remote job). Structured-cloneable. */
export interface TaskRequest {
  readonly file: string;
  readonly name: string;
  readonly kind: CallKind;
  readonly input: TaskInput;
}

/** Worker → main: the outcome of one piscina task. */
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
}

/** An error, made cloneable: everything needed to rebuild it on the other side. */
export interface EncodedError {
  /** False when a non-Error value was thrown; then `value` holds it. */
  readonly isError: boolean;
  readonly value?: unknown;
  /** The built-in constructor to rebuild with ('Error', 'TypeError', ...), if any. */
  readonly builtin?: string;
  readonly name?: string;
  readonly message?: string;
  readonly stack?: string;
  /** The `code` of a parapool error, to rebuild its class. */
  readonly parapoolCode?: string;
  /** Own enumerable data properties (code, errno, custom fields), encoded. */
  readonly props?: Record<string, unknown>;
  readonly cause?: EncodedError;
  readonly hasCause?: boolean;
  /** AggregateError's errors. */
  readonly errors?: EncodedError[];
}

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
}

/** Task module extensions that need the TypeScript loader. */
export const TYPESCRIPT_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts'];
