import { types } from 'node:util';
import { InvalidArgumentError, InvalidStateError } from './errors';

/** Shows a value the way validation messages quote it: `0` (number), `'x'` (string). */
export function describeValue(value: unknown): string {
  // A Proxy (perhaps revoked) is never inspected: its traps could throw or lie.
  if (types.isProxy(value)) return 'a Proxy';
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  switch (typeof value) {
    case 'string':
      return `\`${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}\` (string)`;
    case 'number':
    case 'boolean':
      return `\`${String(value)}\` (${typeof value})`;
    case 'bigint':
      return `\`${String(value)}n\` (bigint)`;
    case 'symbol':
      return `\`${String(value)}\` (symbol)`;
    case 'function':
      return `a function${value.name ? ` \`${value.name}\`` : ''}`;
    default: {
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      const ctor = (value as object).constructor?.name;
      return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
    }
  }
}

/**
 * The error for a bad argument: ``Expected `chunksize` to be an integer from 1 and up, got `0` (number)``.
 */
export function invalidArg(name: string, expected: string, got: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected \`${name}\` to be ${expected}, got ${describeValue(got)}`);
}

export function checkInteger(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} and up` : `from ${min} to ${max}`;
    throw invalidArg(name, `an integer ${range}`, value);
  }
  return value;
}

/**
 * A timeout in milliseconds, as API.md §8 defines it: `undefined` (or `null`)
 * and `Infinity` mean no limit; `0` or a negative number means "do not wait"
 * (returned as 0, like Python's `join(-1)`); NaN and non-numbers are
 * `ERR_INVALID_ARG`. Wait with `setLongTimeout` from lib/timers.ts: any finite
 * value is honoured exactly, also past 2^31 ms.
 */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw invalidArg(name, 'a number of milliseconds (≤ 0: do not wait; Infinity: no limit)', value);
  }
  return value < 0 ? 0 : value;
}

export function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArg(name, 'a function', value);
}

export function checkOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw invalidArg(name, 'a function', value);
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArg(name, 'an AbortSignal', value);
  return value;
}

/** Options objects: `undefined` or a plain object. */
export function checkOptions<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArg(name, 'an options object', value);
  }
  return value;
}

export function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidArg(name, 'a boolean', value);
  return value;
}

/**
 * The one idiom for objects users must not construct (Future, AsyncResult,
 * Connection, ...): the constructor's first parameter is `token: typeof
 * INTERNAL`. The symbol is not exported from the package, so the published
 * types admit no `new` from outside, and `checkInternal` makes a JavaScript
 * caller's `new` fail loudly.
 */
export const INTERNAL: unique symbol = Symbol('parapool.internal');

/** Throws `ERR_INVALID_STATE` unless `token` is `INTERNAL`: ``Future objects are made by `Executor.submit()` ``. */
export function checkInternal(token: unknown, what: string, madeBy: string): void {
  if (token !== INTERNAL) throw new InvalidStateError(`${what} objects are made by ${madeBy}, not with \`new\``);
}
