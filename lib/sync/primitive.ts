/**
 * What every primitive of lib/sync shares: how its memory reaches its
 * constructor (new, or revived by `attach`), the shells of `acquire` /
 * `acquireSync` / `withLock`, and the hooks a Condition uses on its lock.
 */
import {
  acquireDeadline,
  type AcquireOptions,
  attachRegion,
  checkCallback,
  createRegion,
  type PrimitiveName,
  type Region,
  runAsync,
  runSync,
  seal,
  type Steps,
} from '../atomics/futex';

// ---------------------------------------------------------------- memory

let revived: Region | undefined;

/**
 * Runs `construct` (a `new` of a public constructor) so that it adopts the
 * existing memory `region` instead of creating new memory: how `attach` and
 * the codec revive a primitive without a constructor overload that the
 * published types would show. Only `regionFor`, called first thing by that
 * constructor, takes the region.
 */
export function revive<T>(kind: PrimitiveName, size: number, buffer: unknown, byteOffset: unknown, construct: (region: Region) => T): T {
  const region = attachRegion(kind, size, buffer, byteOffset);
  revived = region;
  try {
    return construct(region);
  } finally {
    revived = undefined;
  }
}

/**
 * The memory of a primitive being constructed: the region `revive` handed
 * over, or a new one (in a fresh buffer or at the user's placement) that
 * `init` fills before the type tag seals it.
 */
export function regionFor(
  kind: PrimitiveName,
  size: number,
  placement: unknown,
  init?: (words: Int32Array) => void,
): { region: Region; isNew: boolean } {
  const adopted = revived;
  revived = undefined;
  if (adopted !== undefined) return { region: adopted, isNew: false };
  const region = createRegion(kind, size, placement as never);
  init?.(region.words);
  seal(kind, region);
  return { region, isNew: true };
}

// ---------------------------------------------------------------- acquire shells

/** How one primitive is taken: a try that never waits, and the steps of a wait until `deadline`. */
export interface Take {
  tryTake(): boolean;
  takeSteps(deadline: number): Steps<boolean>;
  /** `takeSteps`, blocking, without the generator (the contended path of `acquireSync`). */
  takeBlocking?(deadline: number): boolean;
}

/** `acquire(options)`: validation, the try, then the async wait; every failure is a rejection. */
export function acquireAsync(options: AcquireOptions | undefined, take: Take): Promise<boolean> {
  try {
    const deadline = acquireDeadline(options);
    if (take.tryTake()) return Promise.resolve(true);
    if (deadline === undefined) return Promise.resolve(false);
    return runAsync(take.takeSteps(deadline));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `acquireSync(options)`: validation, the try, then the blocking wait; failures throw. */
export function acquireBlocking(options: AcquireOptions | undefined, take: Take): boolean {
  const deadline = acquireDeadline(options);
  if (take.tryTake()) return true;
  if (deadline === undefined) return false;
  return take.takeBlocking === undefined ? runSync(take.takeSteps(deadline)) : take.takeBlocking(deadline);
}

/** `withLock(fn)`: runs `fn` between `acquire()` and `release()`, also when it throws. */
export async function withHeld<R>(acquire: () => Promise<boolean>, release: () => void, fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
  checkCallback('fn', fn);
  await acquire();
  try {
    return await fn();
  } finally {
    release();
  }
}

// ---------------------------------------------------------------- Condition ↔ lock

/** What `Condition.wait` saves when it lets go of its lock, to take it back as it was. */
export interface SavedOwnership {
  readonly depth: number;
  readonly chain: number;
}

/**
 * The hooks a Condition uses on its lock (Python's `_is_owned`,
 * `_release_save`, `_acquire_restore`). Kept in a registry rather than as
 * methods, so that they are no part of the public classes.
 */
export interface ConditionLock {
  isOwned(): boolean;
  /** Releases the lock completely; returns what `acquireRestore` needs to take it back. */
  releaseSave(): SavedOwnership;
  acquireRestore(saved: SavedOwnership): Steps<void>;
}

const conditionLocks = new WeakMap<object, ConditionLock>();

export function registerConditionLock(lock: object, hooks: ConditionLock): void {
  conditionLocks.set(lock, hooks);
}

/** The hooks of a Lock or RLock; `undefined` for anything else (a Proxy of a lock included). */
export function conditionLockOf(lock: unknown): ConditionLock | undefined {
  return typeof lock === 'object' && lock !== null ? conditionLocks.get(lock) : undefined;
}
