/**
 * What the main thread and a Process worker share: the worker's `workerData`,
 * its messages, and where a thread records which process it is. Both sides
 * import this module and nothing else of each other's.
 */
import type { EncodedError, TaskSpec } from '../runtime/protocol';

/** `workerData` of a Process worker. */
export interface ProcessWorkerData {
  readonly target: TaskSpec;
  readonly args: unknown[];
  /** True when `args` holds shared-object descriptors to decode. */
  readonly shared: boolean;
  readonly name: string;
  /** Python's `_identity`: the position among its parent's children, at every level (`[1, 2]` is `Process-1:2`). */
  readonly identity: readonly number[];
  readonly daemon: boolean;
}

/** Worker → main: the target threw (or an error went uncaught); the worker then exits with code 1. */
export interface ProcessFailedMessage {
  readonly type: 'parapool.process.failed';
  readonly error: EncodedError;
  readonly shared: boolean;
}

/** Worker → main: the target returned and the worker is exiting by itself with `exitCode`. */
export interface ProcessEndingMessage {
  readonly type: 'parapool.process.ending';
  readonly exitCode: number;
}

export type ProcessMessage = ProcessFailedMessage | ProcessEndingMessage;

/** What `currentProcess()` reports about the calling thread. */
export interface ProcessInfo {
  /** `'MainProcess'` in the main thread, the Process's `name` in its worker, `PoolWorker-<threadId>` in any other worker. */
  readonly name: string;
  /** The thread id (`worker_threads.threadId`): 0 in the main thread. */
  readonly pid: number;
  /** True in a daemon Process's worker. */
  readonly daemon: boolean;
}

/**
 * A Process worker records its ProcessInfo on the global object under this
 * registered symbol, so every copy of parapool loaded in that thread (source or
 * build, ESM or CommonJS) reads the same one.
 */
export const CURRENT_PROCESS = Symbol.for('parapool.currentProcess');

/** Where a Process worker records its Python `_identity` (to name its own children), beside CURRENT_PROCESS. */
export const CURRENT_IDENTITY = Symbol.for('parapool.currentProcessIdentity');
