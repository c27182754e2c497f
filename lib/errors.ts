/**
 * Every error parapool raises on purpose: one base class, one subclass per
 * failure, each with a stable `code` that is never renamed. Branch on `err.code`;
 * `instanceof` works too, also across two copies of the package (ESM and CJS
 * builds, or a worker that loaded its own copy), because the check is by a
 * registered symbol and the code, not by prototype identity.
 */

const PARAPOOL_ERROR = Symbol.for('parapool.error');

/** Every `code` parapool uses. */
export type ErrorCode =
  | 'ERR_INVALID_ARG'
  | 'ERR_INVALID_STATE'
  | 'ERR_TASK_NOT_FOUND'
  | 'ERR_UNCLONEABLE'
  | 'ERR_POOL_CLOSED'
  | 'ERR_POOL_BROKEN'
  | 'ERR_TIMEOUT'
  | 'ERR_CANCELLED'
  | 'ERR_WORKER_EXITED'
  | 'ERR_QUEUE_FULL'
  | 'ERR_QUEUE_EMPTY'
  | 'ERR_QUEUE_CLOSED'
  | 'ERR_EOF'
  | 'ERR_BROKEN_BARRIER'
  | 'ERR_SHM_EXISTS'
  | 'ERR_SHM_NOT_FOUND';

/**
 * Base class of every parapool error. `code` is stable; `message` may change
 * between versions.
 *
 * @example
 * try { await pool.map(fn, items, { timeout: 1000 }); }
 * catch (err) { if (err instanceof ParapoolError && err.code === 'ERR_TIMEOUT') retry(); }
 */
export class ParapoolError extends Error {
  /** The stable machine-readable code, e.g. `'ERR_TIMEOUT'`. */
  declare readonly code: ErrorCode;
  /** The code every instance of this class carries. */
  static readonly code: ErrorCode = 'ERR_INVALID_STATE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    const ctor = new.target as typeof ParapoolError;
    Object.defineProperty(this, 'code', { value: ctor.code, enumerable: true, writable: false, configurable: true });
    Object.defineProperty(this, 'name', { value: ctor.name, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(this, PARAPOOL_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    if (typeof instance !== 'object' || instance === null) return false;
    if ((instance as Record<symbol, unknown>)[PARAPOOL_ERROR] !== true) return false;
    // The base class, or a concrete subclass matched by its code.
    return this === ParapoolError || (instance as ParapoolError).code === this.code;
  }
}

/** A public function got an argument it cannot use. */
export class InvalidArgumentError extends ParapoolError {
  static override readonly code = 'ERR_INVALID_ARG' as const;
}

/** A call that the object's current state does not allow (join before close, start twice, ...). */
export class InvalidStateError extends ParapoolError {
  static override readonly code = 'ERR_INVALID_STATE' as const;
}

/** A task module file or one of its exports does not exist. */
export class TaskNotFoundError extends ParapoolError {
  static override readonly code = 'ERR_TASK_NOT_FOUND' as const;
}

/** A value cannot cross threads; the message gives its path, e.g. `args[1].cb is a function`. */
export class UncloneableError extends ParapoolError {
  static override readonly code = 'ERR_UNCLONEABLE' as const;
}

/** The pool or executor was closed, terminated or shut down. */
export class PoolClosedError extends ParapoolError {
  static override readonly code = 'ERR_POOL_CLOSED' as const;
}

/** A worker initializer failed, so no task can run; `cause` is the initializer's error. */
export class PoolBrokenError extends ParapoolError {
  static override readonly code = 'ERR_POOL_BROKEN' as const;
}

/** A timeout elapsed before the operation finished. */
export class TimeoutError extends ParapoolError {
  static override readonly code = 'ERR_TIMEOUT' as const;
}

/** The work was cancelled: an `AbortSignal` fired, `terminate()` ran, or a future was cancelled. */
export class CancelledError extends ParapoolError {
  static override readonly code = 'ERR_CANCELLED' as const;
}

/** The worker running the task exited; only its own tasks fail, the pool goes on. */
export class WorkerExitedError extends ParapoolError {
  static override readonly code = 'ERR_WORKER_EXITED' as const;
  /** The worker's exit code: 1 after an uncaught error, `n` after `process.exit(n)`. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode: number; cause?: unknown } = { exitCode: 1 }) {
    super(message, options);
    this.exitCode = options.exitCode;
  }
}

/** A bounded queue stayed full. */
export class QueueFullError extends ParapoolError {
  static override readonly code = 'ERR_QUEUE_FULL' as const;
}

/** A queue stayed empty. */
export class QueueEmptyError extends ParapoolError {
  static override readonly code = 'ERR_QUEUE_EMPTY' as const;
}

/** A queue was used after `close()`. */
export class QueueClosedError extends ParapoolError {
  static override readonly code = 'ERR_QUEUE_CLOSED' as const;
}

/** The peer of a connection closed and everything it sent has been received. */
export class EOFError extends ParapoolError {
  static override readonly code = 'ERR_EOF' as const;
}

/** A barrier was broken by a timeout, `abort()` or `reset()`. */
export class BrokenBarrierError extends ParapoolError {
  static override readonly code = 'ERR_BROKEN_BARRIER' as const;
}

/** A shared memory block with that name already exists. */
export class SharedMemoryExistsError extends ParapoolError {
  static override readonly code = 'ERR_SHM_EXISTS' as const;
}

/** No shared memory block with that name exists (or it was unlinked). */
export class SharedMemoryNotFoundError extends ParapoolError {
  static override readonly code = 'ERR_SHM_NOT_FOUND' as const;
}

/** Every error class by its code; used to revive errors that crossed threads. */
export const errorClassesByCode: ReadonlyMap<ErrorCode, typeof ParapoolError> = new Map(
  [
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
  ].map((cls) => [cls.code, cls as typeof ParapoolError]),
);

/** True for errors made by any copy of parapool. */
export function isParapoolError(value: unknown): value is ParapoolError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PARAPOOL_ERROR] === true;
}
