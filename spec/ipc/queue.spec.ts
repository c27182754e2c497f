/**
 * Queue in one thread: CPython's _TestQueue (test_put, test_get, test_fork's
 * qsize, test_timeout, closed-queue errors), every blocking/timeout
 * combination, and items of every kind (fast path, fallback, side channel).
 */
import { decode, encode } from '../../lib/codec/codec';
import { Queue } from '../../lib/ipc/queue';
import { Lock } from '../../lib/sync/lock';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};
const asyncCodeOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('Queue (one thread)', () => {
  it('put with every blocking/timeout combination, then Full (CPython test_put)', async () => {
    const q = new Queue<number>({ maxsize: 6 });
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(false);
    await q.put(1);
    await q.put(2, { blocking: true });
    q.putSync(3, { blocking: true, timeout: undefined });
    await q.put(4, { blocking: false });
    q.putSync(5, { blocking: false, timeout: 1000 });
    q.putNowait(6);
    expect(q.qsize()).toBe(6);
    expect(q.full()).toBe(true);
    expect(codeOf(() => q.putNowait(7))).toBe('ERR_QUEUE_FULL');
    expect(codeOf(() => q.putSync(7, { blocking: false }))).toBe('ERR_QUEUE_FULL');
    expect(await asyncCodeOf(q.put(7, { blocking: false }))).toBe('ERR_QUEUE_FULL');
    const start = performance.now();
    expect(codeOf(() => q.putSync(7, { timeout: 50 }))).toBe('ERR_QUEUE_FULL');
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);
    expect(await asyncCodeOf(q.put(7, { timeout: 30 }))).toBe('ERR_QUEUE_FULL');
    expect(q.qsize()).toBe(6);
    const got: number[] = [];
    while (!q.empty()) got.push(q.getNowait());
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(q.full()).toBe(false);
  });

  it('get with every blocking/timeout combination, then Empty (CPython test_get)', async () => {
    const q = new Queue<number>();
    for (let i = 1; i <= 6; i++) q.putSync(i);
    expect(await q.get()).toBe(1);
    expect(await q.get({ blocking: true })).toBe(2);
    expect(q.getSync({ blocking: true, timeout: 1000 })).toBe(3);
    expect(await q.get({ blocking: false })).toBe(4);
    expect(q.getSync({ blocking: false, timeout: 1000 })).toBe(5);
    expect(q.getNowait()).toBe(6);
    expect(q.empty()).toBe(true);
    expect(codeOf(() => q.getNowait())).toBe('ERR_QUEUE_EMPTY');
    expect(codeOf(() => q.getSync({ blocking: false }))).toBe('ERR_QUEUE_EMPTY');
    expect(await asyncCodeOf(q.get({ blocking: false }))).toBe('ERR_QUEUE_EMPTY');
    const start = performance.now();
    expect(codeOf(() => q.getSync({ timeout: 50 }))).toBe('ERR_QUEUE_EMPTY');
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);
    expect(await asyncCodeOf(q.get({ timeout: 30 }))).toBe('ERR_QUEUE_EMPTY');
    expect(await asyncCodeOf(q.get({ timeout: 0 }))).toBe('ERR_QUEUE_EMPTY');
  });

  it('an async get waits for a later put, and an async put for a later get', async () => {
    const q = new Queue<string>({ maxsize: 1 });
    const pending = q.get();
    setTimeout(() => q.putSync('late'), 20);
    expect(await pending).toBe('late');
    q.putSync('a');
    const blocked = q.put('b');
    setTimeout(() => expect(q.getSync()).toBe('a'), 20);
    await blocked;
    expect(q.getSync()).toBe('b');
  });

  it('is FIFO and counts exactly (qsize) over many wraps of its ring', () => {
    const q = new Queue<number>({ maxsize: 3 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 6_000; round++) {
      while (!q.full()) q.putNowait(next++);
      expect(q.qsize()).toBe(3);
      expect(q.getNowait()).toBe(expected++);
      expect(q.getNowait()).toBe(expected++);
    }
    while (!q.empty()) expect(q.getNowait()).toBe(expected++);
    expect(expected).toBe(next);
  });

  it('carries every structured-cloneable kind of item, as copies', () => {
    const q = new Queue<unknown>();
    const shared = { k: 1 };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const items: unknown[] = [
      0,
      -0,
      1.5,
      -7,
      2 ** 40,
      NaN,
      Infinity,
      'ascii',
      'ünïcödé ✓ 🎉',
      '',
      'x'.repeat(300),
      true,
      false,
      null,
      undefined,
      'a'.repeat(64),
      'b'.repeat(65),
      `${'c'.repeat(63)}é`,
      'lone \ud800 surrogate',
      { 'k\udc00': 1 },
      2 ** 31,
      -(2 ** 31),
      [1, 'two', [3], { four: 4 }],
      { a: 1, b: { c: [null, undefined] }, ['__proto__']: 5 },
      Object.create(null),
      new Date(86_400_000),
      new Map([[1, 'a']]),
      new Set(['s']),
      /re/g,
      10n,
      new Uint8Array([1, 2, 3]),
      { twice: [shared, shared] },
      cyclic,
      // biome-ignore lint/suspicious/noSparseArray: a hole must survive the queue (structured-clone fidelity)
      [1, , 3],
      new Error('boom'),
    ];
    for (const item of items) q.putSync(item);
    for (const item of items) {
      const got = q.getSync();
      expect(got).toEqual(item);
      if (typeof item === 'object' && item !== null) expect(got).not.toBe(item);
    }
    expect(Object.is(items[1], -0)).toBe(true);
    const again = new Queue<unknown>();
    again.putSync(-0);
    again.putSync({ twice: [shared, shared] });
    again.putSync(cyclic);
    expect(Object.is(again.getSync(), -0)).toBe(true);
    const twice = again.getSync() as { twice: object[] };
    expect(twice.twice[0]).toBe(twice.twice[1]);
    const cycle = again.getSync() as Record<string, unknown>;
    expect(cycle.self).toBe(cycle);
    again.putSync({ ['__proto__']: 5 });
    const proto = again.getSync() as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value).toBe(5);
  });

  it('carries large items (chained blocks, and beyond the free blocks) and shared objects', () => {
    const q = new Queue<unknown>({ maxsize: 4 });
    const medium = { text: 'm'.repeat(5_000), list: Array.from({ length: 500 }, (_, i) => i) };
    const huge = new Float64Array(1 << 20).fill(2.5);
    const lock = new Lock();
    const counter = new Int32Array(new SharedArrayBuffer(4));
    q.putSync(medium);
    q.putSync(huge);
    q.putSync({ lock, counter });
    q.putSync('after');
    expect(q.getSync()).toEqual(medium);
    const gotHuge = q.getSync() as Float64Array;
    expect(gotHuge.length).toBe(1 << 20);
    expect(gotHuge[12345]).toBe(2.5);
    const got = q.getSync() as { lock: Lock; counter: Int32Array };
    expect(got.lock).toBeInstanceOf(Lock);
    got.lock.acquireSync();
    expect(lock.locked()).toBe(true);
    got.lock.release();
    got.counter[0] = 42;
    expect(counter[0]).toBe(42);
    expect(q.getSync()).toBe('after');
  });

  it('validates its arguments', async () => {
    expect(codeOf(() => new Queue({ maxsize: -1 }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => new Queue({ maxsize: 1.5 }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => new Queue({ maxsize: '3' as unknown as number }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => new Queue(5 as unknown as object))).toBe('ERR_INVALID_ARG');
    expect(() => new Queue({ maxsize: -1 })).toThrow('Expected `maxsize` to be an integer from 0 and up, or Infinity, got `-1` (number)');
    expect(new Queue({ maxsize: Infinity }).maxsize).toBe(0);
    const q = new Queue<unknown>();
    expect(codeOf(() => q.getSync({ timeout: NaN }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => q.putSync(1, { blocking: 'yes' as unknown as boolean }))).toBe('ERR_INVALID_ARG');
    expect(await asyncCodeOf(q.get({ timeout: NaN }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => q.putSync({ cb: () => 1 }))).toBe('ERR_UNCLONEABLE');
    expect(() => q.putSync([1, { cb: () => 1 }])).toThrow('item[1].cb is a function');
    expect(q.empty()).toBe(true);
  });

  it('fails with ERR_QUEUE_CLOSED after close(), on that handle only', async () => {
    const q = new Queue<number>();
    q.putSync(1);
    const other = decode(encode(q).value) as Queue<number>;
    q.close();
    q.close();
    expect(q.closed).toBe(true);
    expect(codeOf(() => q.putSync(2))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.putNowait(2))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.getSync())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.getNowait())).toBe('ERR_QUEUE_CLOSED');
    expect(await asyncCodeOf(q.put(2))).toBe('ERR_QUEUE_CLOSED');
    expect(await asyncCodeOf(q.get())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => encode(q))).toBe('ERR_QUEUE_CLOSED');
    expect(other.closed).toBe(false);
    expect(other.getSync()).toBe(1);
    other.putSync(3);
    expect(other.getNowait()).toBe(3);
    other.close();
  });
});
