/**
 * Reading a caller's options object without letting it throw through us: a
 * Proxy (revoked or with throwing traps) or a throwing getter gives
 * `ERR_INVALID_ARG`, never a raw `TypeError` from inside parapool.
 */
import { types } from 'node:util';
import { InvalidArgumentError } from '../errors';
import { invalidArg } from '../validate';

/**
 * The properties `keys` of the options object `value` (`undefined`: none set).
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `value` is not a plain options object or reading it throws.
 */
export function readOptions<K extends string>(name: string, value: unknown, keys: readonly K[]): Partial<Record<K, unknown>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalidArg(name, 'an options object', value);
  const options: Partial<Record<K, unknown>> = {};
  let key: K | undefined;
  try {
    if (Array.isArray(value)) throw invalidArg(name, 'an options object', value);
    for (key of keys) options[key] = (value as Record<K, unknown>)[key];
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    const what = key === undefined ? 'inspecting it' : `reading \`${key}\``;
    throw new InvalidArgumentError(`Expected \`${name}\` to be an options object, got one that throws on ${what}: ${messageOf(error)}`);
  }
  return options;
}

/** The most values read from an iterable of unknown length (a generator, a Set): what a fixed-length object built from one may hold. */
export const MAX_ITERATED = 2 ** 20;

/**
 * `iterable`'s items, at most `limit` of them (and at most `MAX_ITERATED` when
 * it is not an Array or a typed array, whose length is known up front).
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when it has more (an endless one included) or iterating it throws.
 */
export function readBounded(name: string, iterable: Iterable<unknown>, limit: number): unknown[] {
  const known = !types.isProxy(iterable) && (Array.isArray(iterable) || ArrayBuffer.isView(iterable));
  if (known && (iterable as ArrayLike<unknown>).length > limit) {
    throw new InvalidArgumentError(`Expected \`${name}\` to hold at most ${limit} values, got ${(iterable as ArrayLike<unknown>).length}`);
  }
  if (!known && limit > MAX_ITERATED) limit = MAX_ITERATED;
  const items: unknown[] = [];
  try {
    for (const item of iterable) {
      if (items.length === limit) {
        throw new InvalidArgumentError(
          `Expected \`${name}\` to hold at most ${limit} values, got an iterable with more${known ? '' : ' (from an iterable of unknown length, at most 2^20 are read: pass an array, or create by size and fill `view`)'}`,
        );
      }
      items.push(item);
    }
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`Expected \`${name}\` to be an iterable of values, got one that throws while read: ${messageOf(error)}`);
  }
  return items;
}

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an error that cannot be shown';
  }
}
