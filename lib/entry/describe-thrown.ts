/**
 * Encoding whatever a task threw, without ever throwing: a hostile value (a
 * throwing `message` getter, a Symbol `name`, a revoked Proxy) must not kill the
 * thread that reports it. When the error codec cannot describe it, the caller
 * gets a plain Error that says what was thrown.
 */
import { types } from 'node:util';
import { encodeError } from '../codec/error-codec';
import type { EncodedError } from '../runtime/protocol';

export function encodeThrown(thrown: unknown): { error: EncodedError; shared: boolean } {
  try {
    if (!types.isProxy(thrown)) return encodeError(thrown);
  } catch {
    // Described below.
  }
  return { error: { isError: true, builtin: 'Error', name: 'Error', message: describeThrown(thrown) }, shared: false };
}

function describeThrown(thrown: unknown): string {
  if (types.isProxy(thrown)) return 'The task threw a Proxy, which cannot be described';
  let kind: string;
  try {
    kind = Object.prototype.toString.call(thrown);
  } catch {
    kind = typeof thrown;
  }
  return `The task threw a value that cannot be described (${kind}): reading it failed`;
}

/** `error.message += hint` when it is a ReferenceError for a name: reading it must not throw either. */
export function withUndefinedNameHint(error: unknown, hint: string): void {
  try {
    if (!types.isProxy(error) && error instanceof ReferenceError && / is not defined$/.test(error.message)) error.message += hint;
  } catch {
    // A hostile error stays as it is.
  }
}
