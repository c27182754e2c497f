/**
 * Element reads, writes and lock-free atomic operations over the typed array
 * under a shared Value or Array. Integer elements are read and written with
 * `Atomics` (never torn, sequentially consistent); `f`/`d` elements with plain
 * loads and stores, as `Atomics` has no floating-point operations.
 */
import { InvalidStateError } from '../errors';
import { checkElement, type SharedTypedArray, type TypecodeInfo } from './typecodes';

/** The operations `Atomics` offers, by the names parapool exposes. */
export type AtomicOp = 'add' | 'sub' | 'exchange';

// Atomics' typings accept one array type per overload; the element kind is
// checked before every call, so the view is passed as the integer array it is.
type IntegerView = Int32Array;

function requireInteger(info: TypecodeInfo, op: string): void {
  if (info.kind === 'float') {
    throw new InvalidStateError(
      `${op}() is an atomic integer operation; typecode '${info.letter}' holds floating-point numbers, which have none. ` +
        'Use the lock (getLock().withLock(...)) to update it.',
    );
  }
}

/** Reads one element. */
export function loadElement(info: TypecodeInfo, view: SharedTypedArray, index: number): number | bigint {
  return info.kind === 'float' ? view[index]! : Atomics.load(view as IntegerView, index);
}

/** Writes one element after checking its type; out-of-range integers wrap like C. */
export function storeElement(info: TypecodeInfo, view: SharedTypedArray, index: number, value: unknown, name: string): void {
  checkElement(info, value, name);
  if (info.kind === 'float') view[index] = value as number;
  else Atomics.store(view as IntegerView, index, value as number);
}

/**
 * `Atomics[op]` on one element: returns the element's previous value.
 * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` elements.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an operand of the wrong type.
 */
export function atomicUpdate(info: TypecodeInfo, view: SharedTypedArray, index: number, op: AtomicOp, operand: unknown): number | bigint {
  requireInteger(info, op);
  checkElement(info, operand, op === 'exchange' ? 'value' : 'operand');
  return Atomics[op](view as IntegerView, index, operand as number);
}

/**
 * Stores `replacement` if the element equals `expected` (after wrapping `expected`
 * to the element type); returns the previous value either way.
 * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` elements.
 */
export function atomicCompareExchange(
  info: TypecodeInfo,
  view: SharedTypedArray,
  index: number,
  expected: unknown,
  replacement: unknown,
): number | bigint {
  requireInteger(info, 'compareExchange');
  checkElement(info, expected, 'expected');
  checkElement(info, replacement, 'replacement');
  return Atomics.compareExchange(view as IntegerView, index, expected as number, replacement as number);
}

/**
 * `Atomics.load` on an integer element.
 * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` elements.
 */
export function atomicLoad(info: TypecodeInfo, view: SharedTypedArray, index: number): number | bigint {
  requireInteger(info, 'load');
  return Atomics.load(view as IntegerView, index);
}

/**
 * `Atomics.store` on an integer element.
 * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` elements.
 */
export function atomicStore(info: TypecodeInfo, view: SharedTypedArray, index: number, value: unknown): void {
  requireInteger(info, 'store');
  checkElement(info, value, 'value');
  Atomics.store(view as IntegerView, index, value as number);
}
