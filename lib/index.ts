/**
 * parapool: Python's multiprocessing and concurrent.futures for Node.js worker threads.
 * The one public barrel: every export is named here.
 */

// Errors (lib/errors.ts)
export {
  ParapoolError,
  InvalidArgumentError,
  InvalidStateError,
  TaskNotFoundError,
  UncloneableError,
  PoolClosedError,
  PoolBrokenError,
  TimeoutError,
  CancelledError,
  WorkerExitedError,
  QueueFullError,
  QueueEmptyError,
  QueueClosedError,
  EOFError,
  BrokenBarrierError,
  SharedMemoryExistsError,
  SharedMemoryNotFoundError,
  isParapoolError,
} from './errors';
export type { ErrorCode } from './errors';

// The codec (lib/codec.ts)
export { transfer } from './codec';
export type { TransferableValue } from './codec';

// Tasks and Pool (lib/task-ref.ts, lib/pool.ts)
export { tasks, task, isTaskRef } from './task-ref';
export type { TaskRef, Task, TaskModule, AnyFunction } from './task-ref';
export { Pool } from './pool';
export { defaultChunksize } from './map-call';
export type { PoolOptions, MapOptions, ApplyOptions } from './pool';
export { AsyncResult } from './async-result';
export type { AsyncResultCallbacks } from './async-result';

// Executor, Future, Process (lib/executor.ts, lib/future.ts, lib/process.ts)
export { Executor } from './executor';
export type { ExecutorOptions, ExecutorMapOptions, ShutdownOptions, Zippable } from './executor';
export { Future } from './future';
export type { FutureWaitOptions, DoneCallback } from './future';
export { asCompleted, wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED } from './futures-wait';
export type { AsCompletedOptions, FuturesWaitOptions, ReturnWhen, DoneAndNotDone, DoneFuture, FutureCollection } from './futures-wait';
export { Process, activeChildren } from './process';
export type { ProcessOptions, JoinOptions } from './process';
export { cpuCount, currentProcess } from './process-info';
export type { ProcessInfo } from './process-info';

// Shared memory (lib/shared/)
export { Value, RawValue, SharedValue } from './shared/value';
export type { ValueOptions } from './shared/value';
export { Array, RawArray, SharedArray } from './shared/array';
export type { ArrayOptions } from './shared/array';
export { SharedMemory } from './shared/shared-memory';
export type { SharedMemoryOptions } from './shared/shared-memory';
export { ShareableList } from './shared/shareable-list';
export type { ShareableItem, ShareableListOptions, ShareableListConstructor } from './shared/shareable-list';
export { TYPECODES } from './shared/typecodes';
export type {
  Typecode,
  TypecodeLetter,
  CtypesName,
  BigIntTypecode,
  FloatTypecode,
  IntegerTypecode,
  ElementOf,
  TypedArrayOf,
  SharedTypedArray,
} from './shared/typecodes';
export type { LockOption, SharedLock } from './shared/lock-option';

// Synchronization (lib/sync/)
export { Lock } from './sync/lock';
export { RLock } from './sync/rlock';
export { Semaphore, BoundedSemaphore } from './sync/semaphore';
export { Condition } from './sync/condition';
export { Event } from './sync/event';
export { Barrier } from './sync/barrier';
export type { BarrierOptions } from './sync/barrier';
export type { AcquireOptions, WaitOptions, Placement } from './sync/futex';

// Queues and pipes (lib/ipc/)
export { Queue } from './ipc/queue';
export type { QueueOptions, QueueWaitOptions } from './ipc/queue';
export { JoinableQueue } from './ipc/joinable-queue';
export { SimpleQueue } from './ipc/simple-queue';
export { Pipe } from './ipc/pipe';
export type { PipeOptions } from './ipc/pipe';
export { Connection } from './ipc/connection';
