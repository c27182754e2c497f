import { Lock } from '../../lib/sync/lock';
import { RLock } from '../../lib/sync/rlock';
import { Array as SharedArrayOf, RawArray, SharedArray } from '../../lib/shared/array';
import { TYPECODES } from '../../lib/shared/typecodes';
import { startValuesWorker, type ValuesWorker } from './values-worker';

const ROUNDS = 10;
const INCREMENTS = 100_000;
const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
const invalidState = expect.objectContaining({ code: 'ERR_INVALID_STATE' });

let workers: ValuesWorker[] = [];
beforeAll(async () => {
  workers = await Promise.all([startValuesWorker(), startValuesWorker()]);
});
afterAll(async () => {
  await Promise.all(workers.map(({ worker }) => worker.terminate()));
});

/** Python's prefix sum, CPython _TestArray.f. */
function prefixSum(seq: number[]): void {
  for (let i = 1; i < seq.length; i++) seq[i]! += seq[i - 1]!;
}

describe('Array (CPython _TestArray)', () => {
  test.each([false, true])("test_array (raw: %s): len, index, slices, slice assignment, a worker's prefix sum", async (raw) => {
    const seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
    const arr = raw ? RawArray('i', seq) : SharedArrayOf('i', seq);
    expect(arr.length).toBe(seq.length);
    expect(arr.get(3)).toBe(seq[3]);
    expect(arr.slice(2, 7)).toEqual(seq.slice(2, 7));
    arr.setSlice(4, 8, new Int32Array([1, 2, 3, 4]));
    seq.splice(4, 4, 1, 2, 3, 4);
    expect(arr.slice()).toEqual(seq);
    prefixSum(seq);
    await workers[0]!.run('prefixSum', { array: arr });
    expect(arr.toArray()).toEqual(seq);
  });

  test('test_array_from_size: zero-filled, then arr[:] = range(10)', () => {
    for (let repeat = 0; repeat < 3; repeat++) {
      const arr = SharedArrayOf('i', 10);
      expect(arr.length).toBe(10);
      expect([...arr]).toEqual(new Array(10).fill(0));
      arr.setSlice(null, null, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect([...arr]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    for (const code of TYPECODES) {
      const arr = SharedArrayOf(code, 5);
      expect(arr.toArray()).toEqual(new Array(5).fill(arr.view instanceof BigInt64Array || arr.view instanceof BigUint64Array ? 0n : 0));
    }
    expect(SharedArrayOf('d', 0).toArray()).toEqual([]);
  });

  test('test_getobj_getlock_obj', () => {
    const arr1 = SharedArrayOf('i', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(arr1.getLock()).toBeInstanceOf(RLock);
    const obj1 = arr1.getObj();
    expect(obj1.toArray()).toEqual(arr1.toArray());
    obj1.set(0, 42);
    expect(arr1.get(0)).toBe(42);
    expect(() => obj1.getLock()).toThrow(invalidState);

    expect(SharedArrayOf('i', 10, { lock: null }).getLock()).toBeInstanceOf(RLock);
    const lock = new Lock();
    expect(SharedArrayOf('i', 10, { lock }).getLock()).toBe(lock);
    expect(() => SharedArrayOf('i', 10, { lock: false }).getLock()).toThrow(invalidState);
    expect(() => SharedArrayOf('i', 10, { lock: 'notalock' as never })).toThrow(invalidArg);
    expect(() => RawArray('i', 10).getLock()).toThrow(invalidState);
  });

  test('get/set: negative indices, RangeError out of range, type checks, C-style wrapping', () => {
    const arr = SharedArrayOf('b', [1, 2, 3]);
    expect(arr.get(-1)).toBe(3);
    expect(arr.get(-3)).toBe(1);
    arr.set(-1, 300);
    expect(arr.get(2)).toBe(44);
    expect(arr.view).toBeInstanceOf(Int8Array);
    expect(arr.view[2]).toBe(44);
    for (const index of [3, -4, 100, Number.MAX_SAFE_INTEGER]) {
      expect(() => arr.get(index)).toThrow(RangeError);
      expect(() => arr.set(index, 0)).toThrow(RangeError);
      expect(() => arr.add(index, 1)).toThrow(RangeError);
    }
    expect(() => arr.get(3)).toThrow('Index 3 is out of range for an Array of length 3');
    for (const index of [1.5, NaN, '1', undefined, 1n]) {
      expect(() => arr.get(index as never)).toThrow(invalidArg);
    }
    expect(() => arr.set(0, 1.5)).toThrow(invalidArg);
    expect(() => arr.set(0, 1n as never)).toThrow(invalidArg);
    const big = SharedArrayOf('Q', [1n, 2n]);
    big.set(0, -1n);
    expect(big.get(0)).toBe(2n ** 64n - 1n);
    expect(() => big.set(0, 1 as never)).toThrow(/bigint/);
    const floats = SharedArrayOf('f', [0.1]);
    expect(floats.get(0)).toBe(Math.fround(0.1));
  });

  test('slice follows Python (negative bounds, clamping, steps)', () => {
    const seq = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const arr = SharedArrayOf('h', seq);
    const cases: [number | null | undefined, number | null | undefined, number | null | undefined, number[]][] = [
      [undefined, undefined, undefined, seq],
      [-3, undefined, undefined, [7, 8, 9]],
      [undefined, -3, undefined, [0, 1, 2, 3, 4, 5, 6]],
      [-100, 100, undefined, seq],
      [5, 2, undefined, []],
      [8, 100, undefined, [8, 9]],
      [null, null, 2, [0, 2, 4, 6, 8]],
      [1, null, 3, [1, 4, 7]],
      [null, null, -1, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
      [7, 2, -2, [7, 5, 3]],
      [-1, -4, -1, [9, 8, 7]],
      [100, -100, -3, [9, 6, 3, 0]],
      [2, 7, -1, []],
    ];
    for (const [start, stop, step, expected] of cases) expect(arr.slice(start, stop, step)).toEqual(expected);
    expect(() => arr.slice(0, 5, 0)).toThrow(invalidArg);
    expect(() => arr.slice(0.5)).toThrow(invalidArg);
    expect(() => arr.slice('1' as never)).toThrow(invalidArg);
  });

  test('setSlice: steps, same-length rule, nothing written when a value is bad', () => {
    const arr = SharedArrayOf('i', 6);
    arr.setSlice(null, null, [10, 20, 30], 2);
    expect(arr.toArray()).toEqual([10, 0, 20, 0, 30, 0]);
    arr.setSlice(null, null, [1, 2, 3, 4, 5, 6], -1);
    expect(arr.toArray()).toEqual([6, 5, 4, 3, 2, 1]);
    expect(() => arr.setSlice(0, 2, [1, 2, 3])).toThrow(/slice's length 2/);
    expect(() => arr.setSlice(0, 2, [1, 2.5])).toThrow(invalidArg);
    expect(() => arr.setSlice(0, 2, 5 as never)).toThrow(invalidArg);
    expect(arr.toArray()).toEqual([6, 5, 4, 3, 2, 1]);
  });

  test('creation validation → ERR_INVALID_ARG', () => {
    expect(() => SharedArrayOf('z' as never, 3)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', -1)).toThrow(/Expected `sizeOrValues` to be an integer from 0/);
    expect(() => SharedArrayOf('i', 1.5)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', 2 ** 40)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', 'abc' as never)).toThrow(/an iterable of initial values/);
    expect(() => SharedArrayOf('i', {} as never)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', null as never)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', [1, 2, 2.5])).toThrow(/`sizeOrValues\[2\]`/);
    expect(() => SharedArrayOf('q', [1n, 2] as never)).toThrow(invalidArg);
    expect(() => SharedArrayOf('i', 3, 7 as never)).toThrow(invalidArg);
    // Any iterable works.
    expect(SharedArrayOf('d', new Set([1.5, 2.5])).toArray()).toEqual([1.5, 2.5]);
    expect(SharedArrayOf('c_uint8', new Uint8Array([1, 2])).view).toBeInstanceOf(Uint8Array);
  });

  test('atomics per element; ERR_INVALID_STATE on f/d', () => {
    const arr = SharedArrayOf('I', [0, 10]);
    expect(arr.add(1, 5)).toBe(10);
    expect(arr.sub(0, 1)).toBe(0);
    expect(arr.get(0)).toBe(2 ** 32 - 1);
    expect(arr.exchange(-1, 7)).toBe(15);
    expect(arr.compareExchange(1, 7, 8)).toBe(7);
    expect(arr.load(1)).toBe(8);
    arr.store(1, 9);
    expect(arr.get(1)).toBe(9);
    const doubles = SharedArrayOf('d', 2);
    expect(() => doubles.add(0, 1)).toThrow(invalidState);
    expect(() => doubles.load(0)).toThrow(invalidState);
    expect(() => doubles.compareExchange(0, 0, 1)).toThrow(invalidState);
  });

  test('toString reads like Python', () => {
    expect(String(SharedArrayOf('i', [1, 2]))).toBe("Array('i', [1, 2])");
    expect(String(RawArray('q', [3n]))).toBe("RawArray('q', [3n])");
  });
});

describe('Array across threads', () => {
  test('the codec: nested at any depth, the lock comes along; created in a worker and returned', async () => {
    const arr = SharedArrayOf('d', [1.5, 2.5]);
    const [described] = await workers[0]!.run<{ kind: string; text: string; lockKind: string }[]>('describe', {
      items: [{ a: { b: [arr] } }.a.b[0]],
    });
    expect(described).toEqual({ kind: 'SharedArray', text: "Array('d', [1.5, 2.5])", lockKind: 'RLock' });
    const made = await workers[1]!.run<{ array: SharedArray<'h'> }>('createAndReturn', {});
    expect(made.array).toBeInstanceOf(SharedArray);
    expect(made.array.toArray()).toEqual([1, 2, 3]);
    expect(made.array.getLock()).toBeInstanceOf(RLock);
  });

  test(`2 workers × ${INCREMENTS} lock-free add on a 'q' Array = exact totals, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const arr = RawArray('q', 4);
      await Promise.all(workers.map((w) => w.run('incrementArrayAtomic', { array: arr, n: INCREMENTS })));
      expect(arr.toArray()).toEqual([50_000n, 50_000n, 50_000n, 50_000n]);
    }
  });
});
