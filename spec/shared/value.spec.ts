import { encode } from '../../lib/codec/codec';
import { Lock } from '../../lib/sync/lock';
import { RLock } from '../../lib/sync/rlock';
import { RawValue, SharedValue, Value } from '../../lib/shared/value';
import { TYPECODES, type Typecode } from '../../lib/shared/typecodes';
import { startValuesWorker, type ValuesWorker } from './values-worker';

const ROUNDS = 10;
const INCREMENTS = 100_000;

const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });

// CPython _TestValue.codes_values, with bigints for the 64-bit code ('c' is not supported).
const codesValues: [Typecode, number | bigint, number | bigint][] = [
  ['i', 4343, 24234],
  ['d', 3.625, -4.25],
  ['h', -232, 234],
  ['q', 2n ** 33n, 2n ** 34n],
];

let workers: ValuesWorker[] = [];
beforeAll(async () => {
  workers = await Promise.all([startValuesWorker(), startValuesWorker()]);
});
afterAll(async () => {
  await Promise.all(workers.map(({ worker }) => worker.terminate()));
});

describe('Value (CPython _TestValue)', () => {
  test.each([false, true])('values set in a worker are seen here (raw: %s)', async (raw) => {
    const values = codesValues.map(([code, init]) => (raw ? RawValue(code, init as never) : Value(code, init as never)));
    values.forEach((value, i) => {
      expect(value.value).toBe(codesValues[i]![1]);
    });
    await workers[0]!.run('setValues', { values, next: codesValues.map(([, , next]) => next) });
    values.forEach((value, i) => {
      expect(value.value).toBe(codesValues[i]![2]);
    });
  });

  test('getLock / getObj (test_getobj_getlock)', () => {
    const val1 = Value('i', 5);
    expect(val1.getLock()).toBeInstanceOf(RLock);
    const obj1 = val1.getObj();
    expect(obj1.value).toBe(5);
    obj1.value = 6;
    expect(val1.value).toBe(6);
    expect(() => obj1.getLock()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));

    const val2 = Value('i', 5, { lock: null });
    expect(val2.getLock()).toBeInstanceOf(RLock);
    expect(val2.getLock()).not.toBe(val1.getLock());

    const lock = new Lock();
    const val3 = Value('i', 5, { lock });
    expect(val3.getLock()).toBe(lock);
    const rlock = new RLock();
    expect(Value('i', 5, { lock: rlock }).getLock()).toBe(rlock);

    const val4 = Value('i', 5, { lock: false });
    expect(() => val4.getLock()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => val4.getLock()).toThrow(/no lock/);
    expect(() => Value('i', 5, { lock: 'navalue' as never })).toThrow(invalidArg);
    expect(() => Value('i', 5, { lock: 'navalue' as never })).toThrow(
      /Expected `lock` to be true, false, a Lock or an RLock, got `"navalue"` \(string\)/,
    );

    const val5 = RawValue('i', 5);
    expect(() => val5.getLock()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });

  test('every typecode: default zero, view type, round trip, C-style wrapping', () => {
    for (const code of TYPECODES) {
      const value = Value(code);
      const big = typeof value.value === 'bigint';
      expect(value.value).toBe(big ? 0n : 0);
      expect(value.view.length).toBe(1);
      expect(value.typecode).toBe(code);
      value.value = (big ? 5n : 5) as never;
      expect(value.view[0]).toBe(big ? 5n : 5);
    }
    const cases: [Typecode, number | bigint, number | bigint][] = [
      ['b', 200, -56],
      ['B', -1, 255],
      ['B', 256, 0],
      ['h', 40000, -25536],
      ['H', -1, 65535],
      ['i', 2 ** 31, -(2 ** 31)],
      ['I', -1, 2 ** 32 - 1],
      ['c_int8', 128, -128],
      ['c_uint16', 65536, 0],
      ['q', 2n ** 63n, -(2n ** 63n)],
      ['Q', -1n, 2n ** 64n - 1n],
      ['l', 2n ** 64n + 3n, 3n],
      ['c_ulong', -2n, 2n ** 64n - 2n],
      ['f', 0.1, Math.fround(0.1)],
      ['d', 0.1, 0.1],
      ['c_double', -0, -0],
    ];
    for (const [code, written, read] of cases) {
      expect(Value(code, written as never).value).toBe(read);
      const value = RawValue(code);
      value.value = written as never;
      expect(value.value).toBe(read);
    }
    expect(Value('d', NaN).value).toBeNaN();
    expect(Value('f', Infinity).value).toBe(Infinity);
  });

  test('ctypes names are the same types as the letters', () => {
    expect(Value('c_int', 1).view).toBeInstanceOf(Int32Array);
    expect(Value('c_uint', 1).view).toBeInstanceOf(Uint32Array);
    expect(Value('c_double', 1).view).toBeInstanceOf(Float64Array);
    expect(Value('c_float', 1).view).toBeInstanceOf(Float32Array);
    expect(Value('c_longlong', 1n).view).toBeInstanceOf(BigInt64Array);
    expect(Value('c_ulonglong', 1n).view).toBeInstanceOf(BigUint64Array);
    expect(Value('c_byte', 1).view).toBeInstanceOf(Int8Array);
    expect(Value('c_ubyte', 1).view).toBeInstanceOf(Uint8Array);
    expect(Value('c_short', 1).view).toBeInstanceOf(Int16Array);
    expect(Value('c_ushort', 1).view).toBeInstanceOf(Uint16Array);
    expect(Value('c_long', 1n).view).toBeInstanceOf(BigInt64Array);
    expect(Value('c_ulong', 1n).view).toBeInstanceOf(BigUint64Array);
    expect(Value('c_uint64', 1n).view).toBeInstanceOf(BigUint64Array);
  });

  test('validation: unknown typecodes and init of the wrong type → ERR_INVALID_ARG', () => {
    for (const bad of ['x', 'c', 'u', 'I ', '', 'c_char', 'int', 'toString', '__proto__', 3, null, undefined, {}]) {
      expect(() => (Value as (...args: unknown[]) => unknown)(bad, 0)).toThrow(invalidArg);
    }
    expect(() => Value('x' as never, 0 as never)).toThrow(/Expected `typecode` to be a typecode/);
    expect(() => Value('i', 1.5)).toThrow(/Expected `init` to be an integer number \(typecode 'i'\), got `1.5` \(number\)/);
    expect(() => Value('i', 1n as never)).toThrow(invalidArg);
    expect(() => Value('i', NaN)).toThrow(invalidArg);
    expect(() => Value('q', 1 as never)).toThrow(/Expected `init` to be a bigint \(typecode 'q' is 64-bit\), got `1` \(number\)/);
    expect(() => Value('d', 1n as never)).toThrow(invalidArg);
    expect(() => Value('d', '1' as never)).toThrow(invalidArg);
    expect(() => Value('i', 0, 'lock' as never)).toThrow(/`options`/);
    const value = Value('i', 0);
    expect(() => {
      value.value = 2.5;
    }).toThrow(/Expected `value` to be an integer number/);
    expect(() => {
      value.value = '3' as never;
    }).toThrow(invalidArg);
    expect(value.value).toBe(0);
  });

  test('atomic operations on integer typecodes; ERR_INVALID_STATE on f/d', () => {
    const value = Value('i', 10);
    expect(value.add(5)).toBe(10);
    expect(value.sub(3)).toBe(15);
    expect(value.exchange(100)).toBe(12);
    expect(value.compareExchange(99, 1)).toBe(100);
    expect(value.value).toBe(100);
    expect(value.compareExchange(100, 1)).toBe(100);
    expect(value.load()).toBe(1);
    value.store(7);
    expect(value.value).toBe(7);

    const wraps = Value('B', 255);
    expect(wraps.add(1)).toBe(255);
    expect(wraps.value).toBe(0);
    const big = Value('Q', 2n ** 64n - 1n);
    expect(big.add(2n)).toBe(2n ** 64n - 1n);
    expect(big.value).toBe(1n);
    expect(() => big.add(1 as never)).toThrow(invalidArg);
    expect(() => value.add(0.5)).toThrow(invalidArg);
    expect(() => value.add(1n as never)).toThrow(invalidArg);

    for (const code of ['f', 'd', 'c_double'] as const) {
      const float = Value(code, 1.5);
      for (const call of [
        () => float.add(1),
        () => float.sub(1),
        () => float.exchange(1),
        () => float.compareExchange(1, 2),
        () => float.load(),
        () => float.store(1),
      ]) {
        expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
      }
      expect(() => float.add(1)).toThrow(/floating-point/);
      expect(float.value).toBe(1.5);
    }
  });

  test('the fast paths keep the full semantics: wrapping, typecode kinds, with the lock held and without', () => {
    const small = Value('b', 0);
    const lock = small.getLock() as RLock;
    lock.acquireSync();
    try {
      small.value = 200; // wraps like C
      expect(small.value).toBe(-56);
      small.value += 1;
      expect(small.value).toBe(-55);
    } finally {
      lock.release();
    }
    small.value = 127;
    expect(small.add(1)).toBe(127);
    expect(small.value).toBe(-128);
    expect(small.sub(1)).toBe(-128);
    expect(small.value).toBe(127);
    const unsigned = Value('I', 0);
    expect(unsigned.sub(1)).toBe(0); // the int32 fast path on an unsigned element
    expect(unsigned.value).toBe(2 ** 32 - 1);
    expect(unsigned.add(2 ** 31)).toBe(2 ** 32 - 1); // past int32: the checked path
    expect(unsigned.value).toBe(2 ** 31 - 1);
    unsigned.value = 2 ** 32 + 5;
    expect(unsigned.value).toBe(5);
    const wide = Value('q', 5n);
    expect(wide.add(2n)).toBe(5n);
    expect(wide.sub(10n)).toBe(7n);
    expect(wide.value).toBe(-3n);
    expect(() => wide.add(1 as never)).toThrow(invalidArg);
    expect(() => small.add(1n as never)).toThrow(invalidArg);
    expect(() => small.add(1.5 as never)).toThrow(invalidArg);
    expect(() => {
      small.value = '1' as never;
    }).toThrow(invalidArg);
    expect(() => Value('d', 0).add(1 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    const withLock = Value('i', 0, { lock: new Lock() });
    withLock.getLock().acquireSync();
    withLock.value = 3;
    withLock.getLock().release();
    expect(withLock.value).toBe(3);
  });

  test('toString reads like Python', () => {
    expect(String(Value('i', 3))).toBe("Value('i', 3)");
    expect(String(RawValue('q', 3n))).toBe("RawValue('q', 3n)");
  });
});

describe('Value across threads', () => {
  test('the codec: the same working object at any depth, lock included; created in a worker and returned', async () => {
    const lock = new Lock();
    const value = Value('i', 1, { lock });
    const raw = RawValue('d', 0.5);
    const described = await workers[0]!.run<{ kind: string; text: string; lockKind: string }[]>('describe', {
      items: [value, raw, { deep: [value] }.deep[0]],
    });
    expect(described).toEqual([
      { kind: 'SharedValue', text: "Value('i', 1)", lockKind: 'Lock' },
      { kind: 'SharedValue', text: "RawValue('d', 0.5)", lockKind: 'ERR_INVALID_STATE' },
      { kind: 'SharedValue', text: "Value('i', 1)", lockKind: 'Lock' },
    ]);
    expect(encode(value, 'args').shared).toBe(true);

    const made = await workers[1]!.run<{ value: SharedValue<'d'>; raw: SharedValue<'Q'>; sameLock: RLock[] }>('createAndReturn', {});
    expect(made.value).toBeInstanceOf(SharedValue);
    expect(made.value.value).toBe(2.5);
    expect(made.value.getLock()).toBeInstanceOf(RLock);
    expect(made.raw.value).toBe(7n);
    expect(() => made.raw.getLock()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    // Both revived locks are the same lock over the same memory.
    expect(made.sameLock[0]!.buffer).toBe(made.sameLock[1]!.buffer);
    // And the returned value is still shared with the worker's memory: a worker sees our write.
    made.value.value = 9.75;
    const again = await workers[0]!.run<{ text: string }[]>('describe', { items: [made.value] });
    expect(again[0]!.text).toBe("Value('d', 9.75)");
  });

  test(`2 workers × ${INCREMENTS} increments under the Value's lock = exactly ${2 * INCREMENTS}, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const counter = Value('i', 0);
      await Promise.all(workers.map((w) => w.run('incrementLocked', { counter, n: INCREMENTS })));
      expect(counter.value).toBe(2 * INCREMENTS);
      expect(counter.getLock().locked()).toBe(false);
    }
  });

  test(`2 workers × ${INCREMENTS} increments under a Lock instead of the RLock = exactly ${2 * INCREMENTS}, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const counter = Value('i', 0, { lock: new Lock() });
      await Promise.all(workers.map((w) => w.run('incrementLocked', { counter, n: INCREMENTS })));
      expect(counter.value).toBe(2 * INCREMENTS);
    }
  });

  test(`2 workers × ${INCREMENTS} lock-free add(1) = exactly ${2 * INCREMENTS}, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const counter = RawValue('i', 0);
      await Promise.all(workers.map((w) => w.run('incrementAtomic', { counter, n: INCREMENTS })));
      expect(counter.value).toBe(2 * INCREMENTS);
    }
  });
});
