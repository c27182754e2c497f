/**
 * Array and RawArray: Python's `multiprocessing.Array` / `RawArray`, a
 * fixed-length typed array in shared memory that crosses threads as the same
 * memory. The class is `SharedArray` so the library never shadows the global
 * `Array`; users import the factory as `Array` (or rename it).
 */
import { registerSharedType } from '../codec/codec';
import { InvalidArgumentError } from '../errors';
import { INTERNAL, checkInteger, describeValue, invalidArg } from '../validate';
import { atomicCompareExchange, atomicLoad, atomicStore, atomicUpdate, loadElement, storeElement } from './atomic-ops';
import { noLockError, resolveLock, type LockOption, type SharedLock } from './lock-option';
import { readBounded, readOptions } from './read-options';
import { sliceRange } from './slice';
import {
  checkElement,
  typecodeInfo,
  type ElementOf,
  type SharedTypedArray,
  type Typecode,
  type TypecodeInfo,
  type TypedArrayOf,
} from './typecodes';

/** Options of `Array(typecode, sizeOrValues, options)`. */
export interface ArrayOptions {
  /**
   * `true` creates a new RLock (`getLock()` returns it), `false` none; or pass
   * the Lock or RLock to use. `null` means the default, like Python's `None`.
   * @default true
   */
  readonly lock?: LockOption;
}

/** 2 GiB: far below V8's SharedArrayBuffer limit on 64-bit, and a clear message above it. */
const MAX_BYTES = 2 ** 31;

interface ArrayDescriptor {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  lock: SharedLock | null;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
  } catch {
    return false; // a revoked Proxy, or a throwing getter: not an iterable we can read
  }
}

/** The codec's view of an array (set by the class, which alone reaches its private state). */
let describeArray: (array: SharedArray) => ArrayDescriptor;

/** An array over existing memory (the codec, `getObj()`). */
function reviveArray<C extends Typecode>(descriptor: ArrayDescriptor): SharedArray<C> {
  return new (SharedArray as unknown as new (token: typeof INTERNAL, d: ArrayDescriptor) => SharedArray<C>)(INTERNAL, descriptor);
}

/**
 * A fixed-length array of numbers or bigints in shared memory. Create it with
 * `Array(...)` or {@link RawArray}; pass it to tasks, workers, queues (at any
 * depth) and it arrives as the same array over the same memory.
 *
 * Indices may be negative (counted from the end) as in Python; an index out of
 * range throws a `RangeError`. `view` is the typed array itself, for speed.
 * Element reads and writes are each indivisible; anything made of several
 * (`a.set(i, a.get(i) + 1)`) needs the lock or the atomic methods.
 */
export class SharedArray<C extends Typecode = Typecode> implements Iterable<ElementOf<C>> {
  /** The typecode it was created with. */
  readonly typecode: C;
  /** The number of elements (fixed). */
  readonly length: number;
  readonly #info: TypecodeInfo;
  readonly #view: SharedTypedArray;
  readonly #lock: SharedLock | undefined;

  /** Same as `Array(typecode, sizeOrValues, options)`. */
  constructor(typecode: C, sizeOrValues: number | Iterable<ElementOf<C>>, options?: ArrayOptions);
  constructor(typecode: C | typeof INTERNAL, sizeOrValues: number | Iterable<ElementOf<C>> | ArrayDescriptor, options?: ArrayOptions) {
    // The codec revives an array with the INTERNAL token (lib/validate.ts) and its memory.
    if (typecode === INTERNAL) {
      const descriptor = sizeOrValues as ArrayDescriptor;
      this.typecode = descriptor.typecode as C;
      this.#info = typecodeInfo(descriptor.typecode);
      this.length = descriptor.length;
      this.#view = new this.#info.ctor(descriptor.buffer, descriptor.byteOffset, descriptor.length);
      this.#lock = descriptor.lock ?? undefined;
      return;
    }
    const info = typecodeInfo(typecode);
    const { lock } = readOptions('options', options, ['lock']);
    const maxLength = Math.floor(MAX_BYTES / info.size);
    let values: unknown[] | undefined;
    if (typeof sizeOrValues === 'number') {
      checkInteger('sizeOrValues', sizeOrValues, 0, maxLength);
    } else if (isIterable(sizeOrValues) && typeof sizeOrValues !== 'string') {
      // An Array has a fixed length: read at most what fits, so an endless iterable fails instead of filling the heap.
      values = readBounded('sizeOrValues', sizeOrValues, maxLength);
      values.forEach((value, index) => {
        checkElement(info, value, `sizeOrValues[${index}]`);
      });
    } else {
      throw invalidArg('sizeOrValues', 'a length (an integer from 0 and up) or an iterable of initial values', sizeOrValues);
    }
    this.#info = info;
    this.typecode = typecode;
    this.#lock = resolveLock(lock as LockOption);
    this.length = values?.length ?? (sizeOrValues as number);
    this.#view = new info.ctor(new SharedArrayBuffer(this.length * info.size), 0, this.length);
    if (values !== undefined) this.#view.set(values as never);
  }

  /**
   * The typed array over the elements (`Int32Array` for `'i'`, ...): the fastest way in.
   * @example
   * arr.view.fill(1); arr.view.subarray(2, 5);
   */
  get view(): TypedArrayOf<C> {
    return this.#view as TypedArrayOf<C>;
  }

  /**
   * The element at `index` (negative counts from the end).
   * @throws RangeError when `index` is out of range.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `index` is not an integer.
   * @example
   * arr.get(0); arr.get(-1);   // first, last
   */
  get(index: number): ElementOf<C> {
    return loadElement(this.#info, this.#view, this.#index(index)) as ElementOf<C>;
  }

  /**
   * Stores `value` at `index` (negative counts from the end); out-of-range
   * integers wrap like C.
   * @throws RangeError when `index` is out of range.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a non-integer index or a value of the wrong type.
   * @example
   * arr.set(3, 1.5);
   */
  set(index: number, value: ElementOf<C>): void {
    storeElement(this.#info, this.#view, this.#index(index), value, 'value');
  }

  /**
   * The elements of a Python slice `[start:stop:step]` as a plain array (a copy).
   * Bounds may be negative or omitted (`undefined`/`null`) and are clamped.
   * @default start 0 (or the end, for a negative step)
   * @default stop length (or before the start, for a negative step)
   * @default step 1
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for non-integer bounds or `step` 0.
   * @example
   * arr.slice(2, 7); arr.slice(-3); arr.slice(null, null, -1);   // arr[2:7], arr[-3:], arr[::-1]
   */
  slice(start?: number | null, stop?: number | null, step?: number | null): ElementOf<C>[] {
    const range = sliceRange(this.length, start, stop, step);
    const result = new Array<ElementOf<C>>(range.count);
    for (let i = 0, at = range.start; i < range.count; i++, at += range.step) {
      result[i] = loadElement(this.#info, this.#view, at) as ElementOf<C>;
    }
    return result;
  }

  /**
   * Python's slice assignment `arr[start:stop:step] = values`: the slice and
   * `values` must have the same length (as for ctypes arrays). All values are
   * checked before any is written.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) on a length mismatch, bad bounds, or values of the wrong type.
   * @example
   * arr.setSlice(4, 8, [1, 2, 3, 4]);      // arr[4:8] = [1, 2, 3, 4]
   * arr.setSlice(null, null, range10);      // arr[:] = range(10)
   */
  setSlice(start: number | null | undefined, stop: number | null | undefined, values: Iterable<ElementOf<C>>, step?: number | null): void {
    const range = sliceRange(this.length, start, stop, step);
    if (!isIterable(values) || typeof values === 'string') throw invalidArg('values', 'an iterable of values', values);
    // One more than the slice holds is enough to tell a length mismatch (and stops an endless iterable).
    const items = readBounded('values', values, range.count + 1);
    if (items.length !== range.count) {
      throw new InvalidArgumentError(`Expected \`values\` to have the slice's length ${range.count}, got ${describeValue(items)}`);
    }
    items.forEach((value, index) => {
      checkElement(this.#info, value, `values[${index}]`);
    });
    for (let i = 0, at = range.start; i < range.count; i++, at += range.step) {
      storeElement(this.#info, this.#view, at, items[i], 'value');
    }
  }

  /**
   * A plain-array copy of every element (`list(arr)`).
   * @example
   * console.log(arr.toArray());   // [100, 101, ...]
   */
  toArray(): ElementOf<C>[] {
    return this.slice();
  }

  /** Iterates over the elements, so `[...arr]` and `for (const x of arr)` work. */
  *[Symbol.iterator](): Iterator<ElementOf<C>> {
    for (let i = 0; i < this.length; i++) yield loadElement(this.#info, this.#view, i) as ElementOf<C>;
  }

  /**
   * The lock that guards it (Python's `get_lock()`).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when created with `lock: false` or by `RawArray`.
   * @example
   * await arr.getLock().withLock(() => { arr.set(0, arr.get(0) + 1); });
   */
  getLock(): SharedLock {
    if (this.#lock === undefined) throw noLockError('Array');
    return this.#lock;
  }

  /**
   * The same memory without the lock (Python's `get_obj()`).
   * @example
   * const raw = arr.getObj();
   */
  getObj(): SharedArray<C> {
    return reviveArray({ ...describeArray(this), lock: null });
  }

  /**
   * Atomically adds `delta` to element `index`; returns its previous value. Lock-free.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a `delta` of the wrong type.
   * @example
   * const histogram = Array('I', 256);
   * for (const byte of chunk) histogram.add(byte, 1);   // from every worker at once
   */
  add(index: number, delta: ElementOf<C>): ElementOf<C> {
    return atomicUpdate(this.#info, this.#view, this.#index(index), 'add', delta) as ElementOf<C>;
  }

  /**
   * Atomically subtracts `delta` from element `index`; returns its previous value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @example
   * arr.sub(0, 1);
   */
  sub(index: number, delta: ElementOf<C>): ElementOf<C> {
    return atomicUpdate(this.#info, this.#view, this.#index(index), 'sub', delta) as ElementOf<C>;
  }

  /**
   * Atomically replaces element `index`; returns its previous value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @example
   * const previous = slots.exchange(3, 0);
   */
  exchange(index: number, value: ElementOf<C>): ElementOf<C> {
    return atomicUpdate(this.#info, this.#view, this.#index(index), 'exchange', value) as ElementOf<C>;
  }

  /**
   * Atomically sets element `index` to `replacement` if it equals `expected`;
   * returns its previous value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @example
   * if (slots.compareExchange(i, 0, myId) === 0) { claimed(i); }
   */
  compareExchange(index: number, expected: ElementOf<C>, replacement: ElementOf<C>): ElementOf<C> {
    return atomicCompareExchange(this.#info, this.#view, this.#index(index), expected, replacement) as ElementOf<C>;
  }

  /**
   * `Atomics.load` of element `index`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @example
   * const done = progress.load(workerIndex);
   */
  load(index: number): ElementOf<C> {
    return atomicLoad(this.#info, this.#view, this.#index(index)) as ElementOf<C>;
  }

  /**
   * `Atomics.store` into element `index`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws RangeError when `index` is out of range.
   * @example
   * progress.store(workerIndex, 100);
   */
  store(index: number, value: ElementOf<C>): void {
    atomicStore(this.#info, this.#view, this.#index(index), value);
  }

  /** Python's repr: `Array('i', [1, 2, 3])`. */
  toString(): string {
    const items = this.toArray().map((value) => (typeof value === 'bigint' ? `${value}n` : String(value)));
    return `${this.#lock === undefined ? 'RawArray' : 'Array'}('${this.typecode}', [${items.join(', ')}])`;
  }

  #index(index: number): number {
    if (typeof index !== 'number' || !Number.isInteger(index)) throw invalidArg('index', 'an integer', index);
    const at = index < 0 ? index + this.length : index;
    if (at < 0 || at >= this.length) throw new RangeError(`Index ${index} is out of range for an Array of length ${this.length}`);
    return at;
  }

  static {
    describeArray = (array) => {
      const view = array.#view;
      return {
        typecode: array.typecode,
        buffer: view.buffer as SharedArrayBuffer,
        byteOffset: view.byteOffset,
        length: array.length,
        lock: array.#lock ?? null,
      };
    };
  }
}

/**
 * A shared fixed-length array (Python's `multiprocessing.Array`), guarded by a
 * lock unless `lock: false`. Called without `new`, like Python. A size gives
 * that many zeros; an iterable gives its values.
 *
 * @param typecode a Python typecode (`'i'`, `'d'`, `'q'`, ...) or a ctypes name (`'c_int'`, `'c_double'`, ...).
 * @param sizeOrValues a length, or the initial values (`bigint`s for 64-bit typecodes, else `number`s).
 * @default options.lock true (a new RLock)
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an unknown typecode, a bad size, values of the wrong type,
 *   more values than 2 GiB of elements hold or than 2^20 from an iterable of unknown length (an endless one), or a bad `lock`.
 * @example
 * import { Array as SharedArrayOf } from 'parapool';   // or use it as `mp.Array`
 * const arr = SharedArrayOf('d', 10);                  // ten 0.0
 * await pool.apply(fill, [arr, 100]);                  // the task: arr.set(i, start + i)
 * console.log(arr.toArray());
 */
function createArray<C extends Typecode>(
  typecode: C,
  sizeOrValues: number | Iterable<ElementOf<C>>,
  options?: ArrayOptions,
): SharedArray<C> {
  return new SharedArray(typecode, sizeOrValues, options);
}

/**
 * A shared fixed-length array without a lock (Python's `multiprocessing.RawArray`); `getLock()` throws.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an unknown typecode, a bad size or values of the wrong type.
 * @example
 * const samples = RawArray('f', 1024);
 */
export function RawArray<C extends Typecode>(typecode: C, sizeOrValues: number | Iterable<ElementOf<C>>): SharedArray<C> {
  return new SharedArray(typecode, sizeOrValues, { lock: false });
}

// Exported under Python's name without shadowing the global `Array` in this module.
export { createArray as Array };

registerSharedType(SharedArray, 'parapool.Array', {
  encode: (array) => describeArray(array),
  decode: (descriptor: ArrayDescriptor) => reviveArray(descriptor),
});
