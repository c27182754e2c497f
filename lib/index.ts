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
export { Pool, defaultChunksize } from './pool';
export type { PoolOptions, MapOptions, ApplyOptions } from './pool';
export { AsyncResult } from './async-result';
export type { AsyncResultCallbacks } from './async-result';

// Executor, Future, Process (lib/executor.ts, lib/future.ts, lib/process.ts)

// Shared memory (lib/shared/)

// Synchronization (lib/sync/)
export { Lock } from './sync/lock';
export { RLock } from './sync/rlock';
export type { AcquireOptions, WaitOptions, Placement } from './sync/futex';

// Queues and pipes (lib/ipc/)
