/**
 * Touching whatever a task threw, without ever throwing: a hostile value (a
 * throwing `message` getter, a revoked Proxy) must not kill the thread that
 * reports it. Encoding it is `encodeError`'s job, which never throws either.
 */
import { types } from 'node:util';

/** `error.message += hint` when it is a ReferenceError for a name: reading it must not throw either. */
export function withUndefinedNameHint(error: unknown, hint: string): void {
  try {
    if (!types.isProxy(error) && error instanceof ReferenceError && / is not defined$/.test(error.message)) error.message += hint;
  } catch {
    // A hostile error stays as it is.
  }
}
