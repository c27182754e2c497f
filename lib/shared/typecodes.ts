/**
 * Typecodes: the element types of shared Values and Arrays, named the way
 * Python's `multiprocessing` names them (the `array` module letters and the
 * `ctypes` type names), mapped onto typed arrays.
 *
 * Sizes follow CPython on 64-bit Linux (LP64): `l`/`L`/`c_long`/`c_ulong` are
 * 64-bit like `q`/`Q`, so they hold `bigint`s. Every other integer code holds
 * `number`s; `f` and `d` hold floating-point numbers.
 */
import { invalidArg } from '../validate';

/** The Python `array`-module letters parapool accepts. */
export type TypecodeLetter = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

/** The `ctypes` names parapool accepts (`c_int`, `c_double`, ...), plus the fixed-width ones. */
export type CtypesName =
  | 'c_byte'
  | 'c_ubyte'
  | 'c_short'
  | 'c_ushort'
  | 'c_int'
  | 'c_uint'
  | 'c_long'
  | 'c_ulong'
  | 'c_longlong'
  | 'c_ulonglong'
  | 'c_float'
  | 'c_double'
  | 'c_int8'
  | 'c_uint8'
  | 'c_int16'
  | 'c_uint16'
  | 'c_int32'
  | 'c_uint32'
  | 'c_int64'
  | 'c_uint64'
  | 'c_size_t'
  | 'c_ssize_t';

/**
 * Every accepted typecode: a Python letter or a ctypes name.
 *
 * @example
 * Value('i', 0); Value('c_int', 0);          // the same: a 32-bit signed integer
 * Value('q', 0n); Array('c_double', 10);     // 64-bit codes hold bigints
 */
export type Typecode = TypecodeLetter | CtypesName;

/** The typecodes whose elements are 64-bit integers, read and written as `bigint`. */
export type BigIntTypecode =
  | 'l'
  | 'L'
  | 'q'
  | 'Q'
  | 'c_long'
  | 'c_ulong'
  | 'c_longlong'
  | 'c_ulonglong'
  | 'c_int64'
  | 'c_uint64'
  | 'c_size_t'
  | 'c_ssize_t';

/** The floating-point typecodes (no atomic operations on these). */
export type FloatTypecode = 'f' | 'd' | 'c_float' | 'c_double';

/** The typecodes with lock-free atomic operations (`add`, `exchange`, ...): every integer code. */
export type IntegerTypecode = Exclude<Typecode, FloatTypecode>;

/** The JavaScript type of one element: `bigint` for 64-bit integer codes, else `number`. */
export type ElementOf<C extends Typecode> = C extends BigIntTypecode ? bigint : number;

/** Typed arrays that can sit under a shared Value or Array. */
export type SharedTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** The typed array for each element kind. */
export type TypedArrayOf<C extends Typecode> = C extends BigIntTypecode
  ? BigInt64Array | BigUint64Array
  : C extends FloatTypecode
    ? Float32Array | Float64Array
    : Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): SharedTypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** What parapool knows about one element type. */
export interface TypecodeInfo {
  /** The canonical Python letter (`'i'` for `'c_int'`). */
  readonly letter: TypecodeLetter;
  /** The typed array class. */
  readonly ctor: TypedArrayConstructor;
  /** Bytes per element. */
  readonly size: number;
  /** `'bigint'` for 64-bit integers, `'int'` for smaller integers, `'float'` for `f`/`d`. */
  readonly kind: 'bigint' | 'int' | 'float';
}

const LETTERS: Record<TypecodeLetter, TypecodeInfo> = {
  b: { letter: 'b', ctor: Int8Array, size: 1, kind: 'int' },
  B: { letter: 'B', ctor: Uint8Array, size: 1, kind: 'int' },
  h: { letter: 'h', ctor: Int16Array, size: 2, kind: 'int' },
  H: { letter: 'H', ctor: Uint16Array, size: 2, kind: 'int' },
  i: { letter: 'i', ctor: Int32Array, size: 4, kind: 'int' },
  I: { letter: 'I', ctor: Uint32Array, size: 4, kind: 'int' },
  l: { letter: 'l', ctor: BigInt64Array, size: 8, kind: 'bigint' },
  L: { letter: 'L', ctor: BigUint64Array, size: 8, kind: 'bigint' },
  q: { letter: 'q', ctor: BigInt64Array, size: 8, kind: 'bigint' },
  Q: { letter: 'Q', ctor: BigUint64Array, size: 8, kind: 'bigint' },
  f: { letter: 'f', ctor: Float32Array, size: 4, kind: 'float' },
  d: { letter: 'd', ctor: Float64Array, size: 8, kind: 'float' },
};

const CTYPES: Record<CtypesName, TypecodeLetter> = {
  c_byte: 'b',
  c_ubyte: 'B',
  c_short: 'h',
  c_ushort: 'H',
  c_int: 'i',
  c_uint: 'I',
  c_long: 'l',
  c_ulong: 'L',
  c_longlong: 'q',
  c_ulonglong: 'Q',
  c_float: 'f',
  c_double: 'd',
  c_int8: 'b',
  c_uint8: 'B',
  c_int16: 'h',
  c_uint16: 'H',
  c_int32: 'i',
  c_uint32: 'I',
  c_int64: 'q',
  c_uint64: 'Q',
  c_size_t: 'Q',
  c_ssize_t: 'q',
};

/**
 * Every accepted typecode, letters first.
 * @example
 * TYPECODES.includes(userInput as Typecode);
 */
export const TYPECODES: readonly Typecode[] = [...(Object.keys(LETTERS) as TypecodeLetter[]), ...(Object.keys(CTYPES) as CtypesName[])];

const hasOwn = (object: object, key: string): boolean => Object.hasOwn(object, key);

/**
 * Looks up a typecode.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for anything that is not one of {@link TYPECODES}.
 */
export function typecodeInfo(typecode: unknown, name = 'typecode'): TypecodeInfo {
  if (typeof typecode === 'string') {
    if (hasOwn(LETTERS, typecode)) return LETTERS[typecode as TypecodeLetter];
    if (hasOwn(CTYPES, typecode)) return LETTERS[CTYPES[typecode as CtypesName]];
  }
  throw invalidArg(name, `a typecode (one of ${Object.keys(LETTERS).join(' ')} or a ctypes name such as 'c_int', 'c_double')`, typecode);
}

/**
 * Checks one element before it is stored: `bigint` for 64-bit codes, an integer
 * `number` for the other integer codes, any `number` for `f`/`d`. Values out of
 * the type's range are accepted and wrap like C when stored.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) on the wrong JavaScript type.
 */
export function checkElement(info: TypecodeInfo, value: unknown, name: string): void {
  switch (info.kind) {
    case 'bigint':
      if (typeof value !== 'bigint') throw invalidArg(name, `a bigint (typecode '${info.letter}' is 64-bit)`, value);
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw invalidArg(name, `an integer number (typecode '${info.letter}')`, value);
      }
      return;
    default:
      if (typeof value !== 'number') throw invalidArg(name, `a number (typecode '${info.letter}')`, value);
  }
}

/** The zero of an element type: `0n` or `0`. */
export function zeroOf(info: TypecodeInfo): number | bigint {
  return info.kind === 'bigint' ? 0n : 0;
}
