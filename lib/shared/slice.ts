/**
 * Python's slice semantics for `Array.slice` and `Array.setSlice`: `start`,
 * `stop` and `step` may be negative (counted from the end) or omitted
 * (`undefined`/`null`, Python's `None`), and are clamped to the sequence.
 * The algorithm is CPython's `PySlice_Unpack` + `PySlice_AdjustIndices`
 * (Objects/sliceobject.c).
 */
import { InvalidArgumentError } from '../errors';
import { invalidArg } from '../validate';

/** The element positions a slice selects: `start`, `start + step`, ... (`count` of them). */
export interface SliceRange {
  readonly start: number;
  readonly step: number;
  readonly count: number;
}

function checkBound(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArg(name, 'an integer, undefined or null', value);
  return value;
}

/**
 * Resolves a Python slice against a sequence of `length` elements.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for non-integer bounds or `step` 0.
 */
export function sliceRange(length: number, start?: number | null, stop?: number | null, step?: number | null): SliceRange {
  const by = checkBound('step', step) ?? 1;
  if (by === 0) throw new InvalidArgumentError('Expected `step` to be a non-zero integer, got `0` (number)');
  const clamp = (name: string, value: unknown, whenOmitted: number): number => {
    const bound = checkBound(name, value);
    if (bound === undefined) return whenOmitted;
    if (bound < 0) {
      const fromEnd = bound + length;
      return fromEnd < 0 ? (by < 0 ? -1 : 0) : fromEnd;
    }
    return bound >= length ? (by < 0 ? length - 1 : length) : bound;
  };
  const first = clamp('start', start, by < 0 ? length - 1 : 0);
  const end = clamp('stop', stop, by < 0 ? -1 : length);
  let count = 0;
  if (by < 0) {
    if (end < first) count = Math.floor((first - end - 1) / -by) + 1;
  } else if (first < end) {
    count = Math.floor((end - first - 1) / by) + 1;
  }
  return { start: first, step: by, count };
}
