/**
 * parapool: Python's multiprocessing and concurrent.futures for Node.js worker threads.
 * The one public barrel: every export is named here. The build makes its CommonJS form
 * lazy (scripts/build.mjs: each module loads on first use of one of its exports), so
 * that a program or a task module loads only what it uses; a shared object that
 * arrives before its class was used loads its type through the shared-type loader.
 */
import './entry/shared-type-loader';

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
  KeyNotFoundError,
  AuthenticationError,
  ManagerGoneError,
  TaskVersionError,
  BackendError,
  isParapoolError,
} from './errors';
export type { ErrorCode } from './errors';

// The codec (lib/codec/)
export { transfer } from './codec/codec';
export type { TransferableValue } from './codec/codec';

// Tasks and Pool (lib/tasks/, lib/pool/)
export { tasks, task, isTaskRef } from './tasks/task-ref';
export type { TaskRef, Task, TaskModule, AnyFunction } from './tasks/task-ref';
export { Pool } from './pool/pool';
export { defaultChunksize } from './runtime/map-call';
export type { PoolOptions, MapOptions, ApplyOptions } from './pool/pool';
export type { PoolStats, TimeSummary, WorkerStats } from './runtime/stats';
export { AsyncResult } from './pool/async-result';
export type { AsyncResultCallbacks } from './pool/async-result';

// Executor, Future, Process (lib/futures/, lib/process/)
export { Executor } from './futures/executor';
export type { ExecutorOptions, ExecutorMapOptions, ShutdownOptions, Zippable } from './futures/executor';
export { Future } from './futures/future';
export type { FutureWaitOptions, DoneCallback } from './futures/future';
export { asCompleted, wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED } from './futures/wait';
export type { AsCompletedOptions, FuturesWaitOptions, ReturnWhen, DoneAndNotDone, DoneFuture, FutureCollection } from './futures/wait';
export { Process, activeChildren } from './process/process';
export type { ProcessOptions, JoinOptions } from './process/process';
export { cpuCount, currentProcess } from './process/process-info';
export type { ProcessInfo } from './process/process-info';

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
export type { AcquireOptions, WaitOptions, Placement } from './atomics/futex';

// Queues and pipes (lib/ipc/)
export { Queue } from './ipc/queue';
export type { QueueOptions, QueueWaitOptions } from './ipc/queue';
export { JoinableQueue } from './ipc/joinable-queue';
export { SimpleQueue } from './ipc/simple-queue';
export { Pipe } from './ipc/pipe';
export type { PipeOptions } from './ipc/pipe';
export { Connection } from './ipc/connection';

// Manager (lib/manager/)
export { Manager, classRef } from './manager/manager';
export type {
  ClassRef,
  ClassFactory,
  ManagerClass,
  RegisteredManager,
  ManagerStartOptions,
  ManagerConnectOptions,
  ManagedQueueOptions,
  RemoteFactories,
  ConnectedManager,
  RegisteredConnectedManager,
} from './manager/manager';
export type { ManagerStats } from './manager/protocol';
export type {
  Proxied,
  ProxyBrand,
  DeepReadonly,
  AsyncMethods,
  SyncMethods,
  ManagedDict,
  ManagedList,
  ManagedSet,
  ManagedNamespace,
  DictMethods,
  ListMethods,
  SetMethods,
  NamespaceMethods,
  FactoryOptions,
  Remote,
  RemoteWaitOptions,
  RemoteLockMethods,
  RemoteSemaphoreMethods,
  RemoteCondition,
  RemoteConditionMethods,
  RemoteEventMethods,
  RemoteBarrierMethods,
  RemoteQueueMethods,
  RemoteJoinableQueueMethods,
  RemoteValueMethods,
  RemoteArrayMethods,
} from './manager/types';
