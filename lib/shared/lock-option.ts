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

/** Turns the `lock` option into a lock, or `undefined` for none. */
export function resolveLock(option: unknown): SharedLock | undefined {
  if (option === undefined || option === null || option === true) return new RLock();
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
