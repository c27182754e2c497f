/**
 * Every error parapool raises on purpose: one base class, one subclass per
 * failure, each with a stable `code` that is never renamed. Branch on `err.code`;
 * `instanceof` works too, also across two copies of the package (ESM and CJS
 * builds, or a worker that loaded its own copy): parapool's own classes match by
 * a registered symbol and the code, not by prototype identity. A class of yours
 * that extends one of them matches by prototype, as any class does.
 *
 * The classes are listed once, in `ERROR_CLASSES`; the `ErrorCode` union and the
 * code → class table are derived from it, and spec/errors.spec.ts checks the
 * barrel and docs/errors.md against it.
 */

const PARAPOOL_ERROR = Symbol.for('parapool.error');
/** Marks parapool's own concrete classes (an own static property, so a user subclass does not inherit it). */
const OWN_CLASS = Symbol.for('parapool.error.class');

/**
 * Base class of every parapool error. It carries no code of its own: every
 * error parapool raises is an instance of one of its subclasses, whose `code`
 * is stable; `message` may change between versions.
 *
 * @example
 * try { await pool.map(fn, items, { timeout: 1000 }); }
 * catch (err) { if (err instanceof ParapoolError && err.code === 'ERR_TIMEOUT') retry(); }
 */
export class ParapoolError extends Error {
  /** The stable machine-readable code, e.g. `'ERR_TIMEOUT'`. */
  declare readonly code: ErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    const ctor = new.target as { readonly code?: ErrorCode; readonly name: string };
    Object.defineProperty(this, 'code', { value: ctor.code, enumerable: true, writable: false, configurable: true });
    Object.defineProperty(this, 'name', { value: ctor.name, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(this, PARAPOOL_ERROR, { value: true });
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    // `this` is the class on the right of `instanceof` (a subclass, too), so it cannot be replaced by a name.
    // biome-ignore lint/complexity/noThisInStatic: see above
    const cls = this as { readonly code?: ErrorCode };
    if (!isParapoolError(instance)) return false;
    if (cls === ParapoolError) return true;
    // parapool's own classes match any copy's errors of their code; a user's subclass matches by prototype.
    if (Object.hasOwn(cls, OWN_CLASS)) return instance.code === cls.code;
    return Function.prototype[Symbol.hasInstance].call(cls, instance);
  }
}

/** A public function got an argument it cannot use. */
export class InvalidArgumentError extends ParapoolError {
  static readonly code = 'ERR_INVALID_ARG';
}

/** A call that the object's current state does not allow (join before close, start twice, ...). */
export class InvalidStateError extends ParapoolError {
  static readonly code = 'ERR_INVALID_STATE';
}

/** A task module file or one of its exports does not exist. */
export class TaskNotFoundError extends ParapoolError {
  static readonly code = 'ERR_TASK_NOT_FOUND';
}

/** A value cannot cross threads; the message gives its path, e.g. `args[1].cb is a function`. */
export class UncloneableError extends ParapoolError {
  static readonly code = 'ERR_UNCLONEABLE';
}

/** The pool or executor was closed, terminated or shut down. */
export class PoolClosedError extends ParapoolError {
  static readonly code = 'ERR_POOL_CLOSED';
}

/** A worker initializer failed, so no task can run; `cause` is the initializer's error. */
export class PoolBrokenError extends ParapoolError {
  static readonly code = 'ERR_POOL_BROKEN';
}

/** A timeout elapsed before the operation finished. */
export class TimeoutError extends ParapoolError {
  static readonly code = 'ERR_TIMEOUT';
}

/** The work was cancelled: an `AbortSignal` fired, `terminate()` ran, or a future was cancelled. */
export class CancelledError extends ParapoolError {
  static readonly code = 'ERR_CANCELLED';
}

/** The worker running the task exited; only its own tasks fail, the pool goes on. */
export class WorkerExitedError extends ParapoolError {
  static readonly code = 'ERR_WORKER_EXITED';
  /** The worker's exit code: 1 after an uncaught error, `n` after `process.exit(n)`. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode: number; cause?: unknown } = { exitCode: 1 }) {
    super(message, options);
    this.exitCode = options.exitCode;
  }
}

/** A bounded queue stayed full. */
export class QueueFullError extends ParapoolError {
  static readonly code = 'ERR_QUEUE_FULL';
}

/** A queue stayed empty. */
export class QueueEmptyError extends ParapoolError {
  static readonly code = 'ERR_QUEUE_EMPTY';
}

/** A queue was used after `close()`. */
export class QueueClosedError extends ParapoolError {
  static readonly code = 'ERR_QUEUE_CLOSED';
}

/** The peer of a connection closed and everything it sent has been received. */
export class EOFError extends ParapoolError {
  static readonly code = 'ERR_EOF';
}

/** A barrier was broken by a timeout, `abort()` or `reset()`. */
export class BrokenBarrierError extends ParapoolError {
  static readonly code = 'ERR_BROKEN_BARRIER';
}

/** A shared memory block with that name already exists. */
export class SharedMemoryExistsError extends ParapoolError {
  static readonly code = 'ERR_SHM_EXISTS';
}

/** No shared memory block with that name exists (or it was unlinked). */
export class SharedMemoryNotFoundError extends ParapoolError {
  static readonly code = 'ERR_SHM_NOT_FOUND';
}

/** A managed dict has no such key (`pop` without a default), like Python's `KeyError`. */
export class KeyNotFoundError extends ParapoolError {
  static readonly code = 'ERR_KEY_NOT_FOUND';
}

/** The other end did not prove it holds the same `authkey` (Manager connections, signed remote jobs). */
export class AuthenticationError extends ParapoolError {
  static readonly code = 'ERR_AUTH';
}

/** The Manager was shut down, or its thread or server died; no call can reach it any more. */
export class ManagerGoneError extends ParapoolError {
  static readonly code = 'ERR_MANAGER_GONE';
}

/** A remote worker's copy of the task module differs from the caller's (content hash). */
export class TaskVersionError extends ParapoolError {
  static readonly code = 'ERR_TASK_VERSION';
}

/** The remote backend (Redis) could not be reached within `backendTimeout`, or failed. */
export class BackendError extends ParapoolError {
  static readonly code = 'ERR_BACKEND';
}

/** Every concrete error class, once: the `ErrorCode` union and `errorClassesByCode` are derived from it. */
export const ERROR_CLASSES = [
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
] as const;

/** Every `code` parapool uses. */
export type ErrorCode = (typeof ERROR_CLASSES)[number]['code'];

for (const cls of ERROR_CLASSES) Object.defineProperty(cls, OWN_CLASS, { value: true });

/** Every error class by its code; used to revive errors that crossed threads. */
export const errorClassesByCode: ReadonlyMap<string, new (message: string, options?: { cause?: unknown }) => ParapoolError> = new Map(
  ERROR_CLASSES.map((cls) => [cls.code, cls as new (message: string, options?: { cause?: unknown }) => ParapoolError]),
);

/** True for errors made by any copy of parapool. */
export function isParapoolError(value: unknown): value is ParapoolError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PARAPOOL_ERROR] === true;
}
