import { InvalidArgumentError } from './errors';

/** Shows a value the way validation messages quote it: `0` (number), `'x'` (string). */
export function describeValue(value: unknown): string {
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

/** A timeout in milliseconds: `undefined` (none), or a number ≥ 0 (`Infinity` allowed). */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw invalidArg(name, 'a number of milliseconds ≥ 0', value);
  }
  return value;
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
