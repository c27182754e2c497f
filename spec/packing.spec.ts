import { PackedKind, packNumbers, packResults, unpackResults } from '../lib/packing';

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('packed chunks', () => {
  it('packs integer chunks as Int32Array and other numbers as Float64Array, exactly', () => {
    expect(packNumbers(range(100))).toBeInstanceOf(Int32Array);
    const doubles = [...range(99), 0.5];
    expect(packNumbers(doubles)).toBeInstanceOf(Float64Array);
    const special = [...range(96), -0, NaN, Infinity, 2 ** 40];
    const packed = packNumbers(special)!;
    expect(packed).toBeInstanceOf(Float64Array);
    expect(Object.is(packed[96], -0)).toBe(true);
    expect(packed[97]).toBeNaN();
    expect(packed[99]).toBe(2 ** 40);
  });

  it('leaves small or mixed chunks alone', () => {
    expect(packNumbers(range(10))).toBeUndefined();
    expect(packNumbers([...range(99), '1'])).toBeUndefined();
    expect(packResults([...range(99), true])).toBeUndefined();
    expect(packResults(range(99).map(() => ({})))).toBeUndefined();
  });

  it('round-trips number and boolean results', () => {
    const flags = range(200).map((n) => n % 3 === 0);
    const packedFlags = packResults(flags)!;
    expect(packedFlags.kind).toBe(PackedKind.Boolean);
    expect(unpackResults(packedFlags.packed, packedFlags.kind)).toEqual(flags);
    const numbers = range(200).map((n) => n / 7);
    const packedNumbers = packResults(numbers)!;
    expect(packedNumbers.kind).toBe(PackedKind.Float64);
    expect(unpackResults(packedNumbers.packed, packedNumbers.kind)).toEqual(numbers);
    const ints = packResults(range(200, -100))!;
    expect(ints.kind).toBe(PackedKind.Int32);
    expect(unpackResults(ints.packed, ints.kind)).toEqual(range(200, -100));
  });
});
