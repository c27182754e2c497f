import { openSource } from '../../lib/runtime/chunk-source';
import { PackedKind, packNumbers, packNumbersShared, packResults, unpackResults } from '../../lib/codec/packing';

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

  it('packs a whole input of numbers once in shared memory, and hands out ranges of it', () => {
    const packed = packNumbersShared(range(100))!;
    expect(packed.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(packed)).toEqual(range(100));
    expect(packNumbersShared([...range(99), 'x'])).toBeUndefined();
    const source = openSource(range(100), 40, 'items', true);
    expect(source.allNumbers).toBe(true);
    const first = source.next() as { packed: Int32Array; from: number; to: number };
    expect([first.from, first.to]).toEqual([0, 40]);
    expect(source.next()).toMatchObject({ from: 40, to: 80 });
    expect(source.next()).toMatchObject({ from: 80, to: 100 });
    expect(source.next()).toBeUndefined();
    // starmap tuples and mixed inputs are sliced, not packed.
    expect(openSource(range(100), 40, 'items', false).next()).toEqual(range(40));
    expect(openSource([...range(99), {}], 40, 'items', true).allNumbers).toBe(false);
  });
});
