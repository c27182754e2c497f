/**
 * The queue item codec against in-memory buffers: every value kind it writes
 * round-trips exactly, and every value it cannot carry exactly is refused
 * (`writeItem` → undefined, so the queue falls back to v8.serialize).
 */
import { readItem, writeItem } from '../../lib/ipc/item-codec';

/** Writes `value`, copies the bytes into a fresh buffer at `offset`, reads it back. */
function roundTrip(value: unknown, offset = 0): unknown {
  const bytes = writeItem(value);
  if (bytes === undefined) throw new Error('refused');
  const memory = new Uint8Array(offset + bytes.length);
  memory.set(bytes, offset);
  return readItem(memory, new DataView(memory.buffer), offset);
}

describe('item codec', () => {
  it('round-trips every kind it writes', () => {
    const values: unknown[] = [
      undefined,
      null,
      true,
      false,
      0,
      1,
      -1,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      1.5,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Infinity,
      -Infinity,
      '',
      'ascii',
      'é ü 漢字 🎉',
      'x'.repeat(64),
      'x'.repeat(65),
      'y'.repeat(10_000),
      [],
      [1, 'a', null, undefined, [2, [3]]],
      {},
      { id: 1, value: 2.5, name: 'n', nested: { deep: [{ k: 'v' }] } },
      { 'key with spaces': 1, ключ: 2, '': 3 },
    ];
    for (const value of values) expect(roundTrip(value)).toEqual(value);
  });

  it('keeps -0 and NaN exactly', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(Object.is(roundTrip(0), 0)).toBe(true);
    expect(Number.isNaN(roundTrip(Number.NaN))).toBe(true);
    expect(Object.is((roundTrip([-0]) as number[])[0], -0)).toBe(true);
  });

  it('keeps key order, null-prototype objects as plain ones, and __proto__ as an own key', () => {
    const record = roundTrip({ b: 1, a: 2, 10: 'ten', 2: 'two' }) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['2', '10', 'b', 'a']);
    const bare = Object.assign(Object.create(null) as object, { x: 1 });
    expect(roundTrip(bare)).toEqual({ x: 1 });
    const tricky = JSON.parse('{"__proto__": {"polluted": true}}') as object;
    const back = roundTrip(tricky) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads items at any offset, across the 56-byte block boundary of the queue', () => {
    for (const size of [0, 1, 50, 54, 55, 56, 57, 111, 112, 113, 1000]) {
      const text = 'b'.repeat(size);
      for (const offset of [0, 1, 7, 63]) expect(roundTrip({ text, n: size }, offset)).toEqual({ text, n: size });
    }
  });

  it('refuses what it cannot carry exactly: bigint, holes, named array properties, lone surrogates, cycles, Proxies, class instances', () => {
    const named = Object.assign([1, 2], { tag: 'x' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const shared = { n: 1 };
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    const sparse = [1, 2, 3];
    delete sparse[1];
    const refused: unknown[] = [
      10n,
      { big: 2n ** 70n },
      sparse,
      new Array(3),
      named,
      [named],
      '\ud800',
      'a\udfffb',
      { '\ud800': 1 },
      cyclic,
      [shared, shared],
      proxy,
      { inner: new Proxy({}, {}) },
      new Map([[1, 2]]),
      new Date(0),
      new Uint8Array(2),
      Symbol('s'),
      () => 1,
    ];
    for (const value of refused) expect(writeItem(value)).toBeUndefined();
    revoke();
    expect(writeItem(proxy)).toBeUndefined();
  });

  it('reuses its scratch buffer and gives a huge item’s memory back', () => {
    const first = writeItem({ a: 1 })!.slice();
    const big = writeItem('z'.repeat(3 << 20))!;
    expect(big.length).toBeGreaterThan(3 << 20);
    const again = writeItem({ a: 1 })!;
    expect(again.buffer.byteLength).toBeLessThan(1 << 20);
    expect([...again]).toEqual([...first]);
  });

  it('fails loudly on corrupt bytes', () => {
    const memory = new Uint8Array([99]);
    expect(() => readItem(memory, new DataView(memory.buffer), 0)).toThrow(/Corrupt queue item/);
  });
});
