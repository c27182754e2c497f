import {
  decodeCompact,
  decodeCompactValues,
  encodeCompact,
  encodeCompactInto,
  encodeCompactValues,
  MAX_DEPTH,
} from '../../lib/manager/compact';

const roundTrip = (value: unknown, noProto = false): unknown => {
  const bytes = encodeCompact(value, 0, 1 << 20);
  if (bytes === undefined) throw new Error('not compact');
  return decodeCompact(bytes, 0, bytes.length, noProto);
};

describe('compact form', () => {
  test('plain data round-trips with its types', () => {
    const values: unknown[] = [
      undefined,
      null,
      true,
      false,
      0,
      -0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31),
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '',
      'héllo ✓ 𝄞',
      'x'.repeat(10_000),
      0n,
      -(2n ** 100n),
      2n ** 64n + 1n,
      [1, 'a', [null, undefined]],
      { a: 1, b: { c: [2] } },
      new Map<unknown, unknown>([
        ['k', 1],
        [2, { x: 1 }],
      ]),
      new Set([1, 'a']),
      new Date(1_700_000_000_000),
      Object.assign(Object.create(null), { z: 1 }),
    ];
    for (const value of values) expect(roundTrip(value)).toEqual(value);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  test('gives up on what it does not carry, so the general path keeps its meaning', () => {
    class Point {
      x = 1;
    }
    const shared = { a: 1 };
    const cycle: unknown[] = [];
    cycle.push(cycle);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 1; i++) deep = [deep];
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    for (const value of [new Point(), new Uint8Array(2), /x/, () => 1, Symbol('s'), [shared, shared], cycle, deep, [1, , 3]]) {
      expect(encodeCompact(value, 0, 1 << 20)).toBeUndefined();
    }
    const small = Buffer.alloc(8);
    expect(encodeCompactInto('a long string', small, 0)).toBe(-1);
  });

  test('values one after another; short strings, ASCII or not; an object reached twice gives up across values too', () => {
    const values = ['set', 'é', 'ab✓', `${'x'.repeat(31)}é`, ['k', { a: 'b' }], 'z'.repeat(40)];
    const bytes = encodeCompactValues(values, 3, 1 << 20);
    expect(bytes).toBeDefined();
    expect(decodeCompactValues(bytes!, 3, bytes!.length, values.length, true)).toEqual(values);
    const shared = { a: 1 };
    expect(encodeCompactValues([shared, shared], 0, 1 << 20)).toBeUndefined();
    expect(encodeCompactValues([[shared], [shared]], 0, 1 << 20)).toBeUndefined();
    expect(encodeCompact([[1], [2], { b: [3] }], 0, 1 << 20)).toBeDefined();
    expect(() => decodeCompactValues(bytes!, 3, bytes!.length, values.length - 1, true)).toThrow(RangeError);
  });

  test('a __proto__ key: an own property locally, refused from the network', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => roundTrip(value, true)).toThrow(TypeError);
  });

  test('malformed bytes throw, never allocate past what they hold, never hang', () => {
    const bad = [
      Buffer.from([99]),
      Buffer.from([6, 255, 255, 255, 255]),
      Buffer.from([8, 255, 255, 255, 127]),
      Buffer.from([9, 1, 0, 0, 0, 4, 0, 0, 0, 0]),
      Buffer.from([7, 2, 0, 0, 0, 0x7a, 0x7a]),
      Buffer.from([3, 3]),
      Buffer.alloc(0),
    ];
    for (const bytes of bad) expect(() => decodeCompact(bytes, 0, bytes.length, true)).toThrow();
    const nested = Buffer.alloc((MAX_DEPTH + 2) * 5);
    for (let i = 0; i < MAX_DEPTH + 2; i++) nested.set([8, 1, 0, 0, 0], i * 5);
    expect(() => decodeCompact(nested, 0, nested.length, true)).toThrow(RangeError);
    for (let i = 0; i < 2_000; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 256)));
      try {
        decodeCompact(bytes, 0, bytes.length, true);
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
      }
    }
  });
});
