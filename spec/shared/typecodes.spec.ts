import { Array as SharedArrayOf, RawArray } from '../../lib/shared/array';
import { checkElement, TYPECODES, typecodeInfo, type ElementOf, type Typecode } from '../../lib/shared/typecodes';
import { RawValue, Value } from '../../lib/shared/value';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(): T => true as T;

describe('typecodes', () => {
  test('every Python letter and ctypes name maps to its typed array and size', () => {
    const expected: Record<string, [abstract new (...args: never[]) => unknown, number]> = {
      b: [Int8Array, 1],
      B: [Uint8Array, 1],
      h: [Int16Array, 2],
      H: [Uint16Array, 2],
      i: [Int32Array, 4],
      I: [Uint32Array, 4],
      l: [BigInt64Array, 8],
      L: [BigUint64Array, 8],
      q: [BigInt64Array, 8],
      Q: [BigUint64Array, 8],
      f: [Float32Array, 4],
      d: [Float64Array, 8],
      c_byte: [Int8Array, 1],
      c_ubyte: [Uint8Array, 1],
      c_short: [Int16Array, 2],
      c_ushort: [Uint16Array, 2],
      c_int: [Int32Array, 4],
      c_uint: [Uint32Array, 4],
      c_long: [BigInt64Array, 8],
      c_ulong: [BigUint64Array, 8],
      c_longlong: [BigInt64Array, 8],
      c_ulonglong: [BigUint64Array, 8],
      c_float: [Float32Array, 4],
      c_double: [Float64Array, 8],
      c_int8: [Int8Array, 1],
      c_uint8: [Uint8Array, 1],
      c_int16: [Int16Array, 2],
      c_uint16: [Uint16Array, 2],
      c_int32: [Int32Array, 4],
      c_uint32: [Uint32Array, 4],
      c_int64: [BigInt64Array, 8],
      c_uint64: [BigUint64Array, 8],
      c_size_t: [BigUint64Array, 8],
      c_ssize_t: [BigInt64Array, 8],
    };
    expect([...TYPECODES].sort()).toEqual(Object.keys(expected).sort());
    for (const code of TYPECODES) {
      const info = typecodeInfo(code);
      expect([info.ctor, info.size]).toEqual(expected[code]);
      expect(info.ctor.BYTES_PER_ELEMENT).toBe(info.size);
    }
  });

  test('unknown typecodes → ERR_INVALID_ARG naming what is accepted', () => {
    for (const bad of ['c', 'u', 'x', 'ii', 'c_char', 'c_bool', 'constructor', 'hasOwnProperty', 4, undefined]) {
      expect(() => typecodeInfo(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
    expect(() => typecodeInfo('x')).toThrow(
      "Expected `typecode` to be a typecode (one of b B h H i I l L q Q f d or a ctypes name such as 'c_int', 'c_double'), got `\"x\"` (string)",
    );
  });

  test('checkElement: bigint for 64-bit, integer numbers for the rest, any number for floats', () => {
    expect(() => checkElement(typecodeInfo('q'), 1n, 'x')).not.toThrow();
    expect(() => checkElement(typecodeInfo('q'), 1, 'x')).toThrow(/bigint/);
    expect(() => checkElement(typecodeInfo('i'), 2 ** 40, 'x')).not.toThrow();
    expect(() => checkElement(typecodeInfo('i'), Infinity, 'x')).toThrow(/integer/);
    expect(() => checkElement(typecodeInfo('d'), Infinity, 'x')).not.toThrow();
    expect(() => checkElement(typecodeInfo('d'), null, 'x')).toThrow(/number/);
  });

  test('types: element types follow the typecode', () => {
    expectType<Equal<ElementOf<'q'>, bigint>>();
    expectType<Equal<ElementOf<'c_ulong'>, bigint>>();
    expectType<Equal<ElementOf<'i'>, number>>();
    expectType<Equal<ElementOf<'c_double'>, number>>();
    expectType<Equal<ElementOf<Typecode>, number | bigint>>();
    expectType<Equal<typeof Value extends (c: 'q', init?: bigint) => unknown ? true : false, true>>();
    const big: bigint = Value('q', 1n).value;
    const small: number = RawValue('h').value;
    const view: Float64Array | Float32Array = SharedArrayOf('d', 1).view;
    const items: bigint[] = RawArray('Q', [1n]).toArray();
    // @ts-expect-error a 64-bit typecode takes a bigint
    expect(() => Value('q', 1)).toThrow();
    // @ts-expect-error a 32-bit typecode takes a number
    expect(() => Value('i', 1n)).toThrow();
    // @ts-expect-error not a typecode
    expect(() => SharedArrayOf('z', 1)).toThrow();
    expect([big, small, view.length, items]).toEqual([1n, 0, 1, [1n]]);
  });
});
