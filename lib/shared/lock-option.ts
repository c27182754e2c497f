/**
 * The `lock` option of Value and Array, as in Python's `multiprocessing.Value`:
 * `true` (or Python's `None`: `null`) creates a new RLock, `false` none, and a
 * Lock or RLock is used as given.
 */
import { Lock } from '../sync/lock';
import { RLock } from '../sync/rlock';
import { InvalidStateError } from '../errors';
import { invalidArg } from '../validate';

/** What `{ lock }` accepts. */
export type LockOption = boolean | null | Lock | RLock;

/** The lock a synchronized Value or Array carries. */
export type SharedLock = Lock | RLock;

/** Whether the `lock` option asks for a new lock of the object's own. */
export function wantsOwnLock(option: unknown): boolean {
  return option === undefined || option === null || option === true;
}

/**
 * Turns the `lock` option into a lock, or `undefined` for none; a new RLock
 * goes at `placement` when one is given (a Value keeps its own lock next to
 * its element, so that a locked update touches one cache line, not two).
 */
export function resolveLock(option: unknown, placement?: { buffer: SharedArrayBuffer; byteOffset: number }): SharedLock | undefined {
  if (wantsOwnLock(option)) return new RLock(placement);
  if (option === false) return undefined;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw invalidArg('lock', 'true, false, a Lock or an RLock', option);
}

/** `getLock()` on an object created without one. */
export function noLockError(kind: string): InvalidStateError {
  return new InvalidStateError(
    `This ${kind} has no lock: it was created with \`lock: false\` (or as a Raw${kind}); pass \`lock: true\` or a Lock`,
  );
}
