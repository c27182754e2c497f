import * as path from 'node:path';
import { classRef, Manager, Pool, Process, tasks, type RegisteredManager } from '../../lib/index';
import type * as taskMod from '../fixtures/manager-tasks';
import type { Counter as CounterClass, Registry as RegistryClass } from '../fixtures/manager-types';

const TYPES = path.join(__dirname, '..', 'fixtures', 'manager-types.ts');
const Counter = classRef<typeof CounterClass>(TYPES, 'Counter');
const Registry = classRef<typeof RegistryClass>(TYPES, 'Registry');
const MyManager = Manager.register({ Counter, Registry });
const work = tasks<typeof taskMod>(path.join(__dirname, '..', 'fixtures', 'manager-tasks.ts'));

/** Waits for `check` to hold, polling; fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Manager (local)', () => {
  let m: RegisteredManager<{ Counter: typeof Counter; Registry: typeof Registry }>;
  let pool: Pool | undefined;

  beforeAll(async () => {
    m = await MyManager.start();
  });
  afterAll(async () => {
    await pool?.terminate();
    await m.shutdown();
  });
  const getPool = () => {
    pool ??= new Pool({ workers: 2 });
    return pool;
  };

  test('dict: every method, with Python semantics', async () => {
    const d = await m.dict<string, number>([['a', 1]]);
    expect(await d.get('a')).toBe(1);
    expect(await d.get('zz')).toBeUndefined();
    expect(await d.get('zz', 5)).toBe(5);
    await d.set('b', 2);
    expect(await d.has('b')).toBe(true);
    expect(await d.size()).toBe(2);
    expect(await d.keys()).toEqual(['a', 'b']);
    expect(await d.values()).toEqual([1, 2]);
    expect(await d.entries()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    await d.update({ c: 3 });
    await d.update([['d', 4]]);
    await d.update(new Map([['e', 5]]));
    expect(await d.size()).toBe(5);
    expect(await d.pop('e')).toBe(5);
    expect(await d.pop('e', 9)).toBe(9);
    await expect(d.pop('e')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    expect(await d.setDefault('a', 100)).toBe(1);
    expect(await d.setDefault('f', 6)).toBe(6);
    expect(await d.delete('f')).toBe(true);
    expect(await d.delete('f')).toBe(false);
    expect(await d.copy()).toEqual(
      new Map([
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 4],
      ]),
    );
    expect(d.sync.get('c')).toBe(3);
    expect(() => d.sync.pop('nope')).toThrow(expect.objectContaining({ code: 'ERR_KEY_NOT_FOUND' }));
    await d.clear();
    expect(await d.size()).toBe(0);
    await expect(d.update(5 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('list: every method, negative indices, RangeError out of range', async () => {
    const l = await m.list<number>([3, 1, 2]);
    expect(await l.length()).toBe(3);
    expect(await l.get(-1)).toBe(2);
    await expect(l.get(3)).rejects.toBeInstanceOf(RangeError);
    await expect(l.get(-4)).rejects.toBeInstanceOf(RangeError);
    await l.set(-1, 20);
    await l.append(4);
    await l.extend([5, 6]);
    await l.insert(0, 0);
    await l.insert(-100, -1);
    await l.insert(100, 7);
    expect(await l.copy()).toEqual([-1, 0, 3, 1, 20, 4, 5, 6, 7]);
    expect(await l.pop()).toBe(7);
    expect(await l.pop(0)).toBe(-1);
    expect(await l.pop(-2)).toBe(5);
    await l.remove(20);
    await expect(l.remove(99)).rejects.toBeInstanceOf(RangeError);
    expect(await l.index(4)).toBe(3);
    await expect(l.index(99)).rejects.toBeInstanceOf(RangeError);
    await l.append(1);
    expect(await l.count(1)).toBe(2);
    expect(await l.slice(1, -1)).toEqual([3, 1, 4, 6]);
    expect(await l.slice(-2)).toEqual([6, 1]);
    await l.reverse();
    expect(await l.copy()).toEqual([1, 6, 4, 1, 3, 0]);
    await l.sort();
    expect(await l.copy()).toEqual([0, 1, 1, 3, 4, 6]);
    await l.sort({ reverse: true });
    expect(l.sync.copy()).toEqual([6, 4, 3, 1, 1, 0]);
    await l.clear();
    await expect(l.pop()).rejects.toBeInstanceOf(RangeError);
    const strings = await m.list(['b', 'a', 'C']);
    await strings.sort();
    expect(await strings.copy()).toEqual(['C', 'a', 'b']);
    const deep = await m.list([[1], { a: 1 }]);
    expect(await deep.index({ a: 1 })).toBe(1);
  });

  test('set and Namespace', async () => {
    const s = await m.set<string>(['a']);
    await s.add('b');
    await s.add('b');
    expect(await s.size()).toBe(2);
    expect(await s.has('a')).toBe(true);
    expect(await s.delete('a')).toBe(true);
    expect(await s.delete('a')).toBe(false);
    expect(await s.values()).toEqual(['b']);
    expect(await s.copy()).toEqual(new Set(['b']));
    await s.clear();
    expect(s.sync.size()).toBe(0);

    const ns = await m.Namespace({ x: 1, y: 'a' });
    expect(await ns.get('x')).toBe(1);
    await ns.set('x', 2);
    expect(ns.sync.get('x')).toBe(2);
    await ns.delete('y');
    await expect(ns.get('y')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    await expect(ns.delete('y')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    expect(await ns.copy()).toEqual({ x: 2 });
  });

  test('a registered class: async and sync methods, errors with their class, only public methods', async () => {
    const c = await m.Counter(5);
    expect(await c.increment()).toBe(6);
    expect(c.sync.increment(4)).toBe(10);
    expect(await c.later(3, 1)).toBe(3);
    expect(c.sync.later(4, 1)).toBe(4);
    await expect(c.fail('bad')).rejects.toBeInstanceOf(RangeError);
    expect(() => c.sync.fail('bad')).toThrow(RangeError);
    expect((c as unknown as Record<string, unknown>)._hidden).toBeUndefined();
    const r = await m.Registry();
    await r.put('k', { a: [1, 2] });
    expect(await r.take('k')).toEqual({ a: [1, 2] });
  });

  test('a proxy stored in a managed object is stored by reference', async () => {
    const d = await m.dict<string, unknown>();
    const inner = await m.list<number>([1]);
    await d.set('list', inner);
    const back = (await d.get('list')) as typeof inner;
    await back.append(2);
    expect(await inner.copy()).toEqual([1, 2]);
    const values = (await d.values()) as (typeof inner)[];
    expect(await values[0]!.length()).toBe(2);
  });

  test('named objects: the same name gives the same object; another type is refused', async () => {
    const a = await m.dict<string, number>(undefined, { name: 'shared' });
    await a.set('x', 1);
    const b = await m.dict<string, number>(undefined, { name: 'shared' });
    expect(await b.get('x')).toBe(1);
    await expect(m.list(undefined, { name: 'shared' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const l1 = await m.Lock({ name: 'lock' });
    const l2 = await m.Lock({ name: 'lock' });
    expect(await l1.acquire()).toBe(true);
    expect(l2.locked()).toBe(true);
    l2.release();
    const c1 = await m.Counter(1, { name: 'c' });
    const c2 = await m.Counter(100, { name: 'c' });
    await c1.increment();
    expect(await c2.get()).toBe(2);
  });

  test('locally, Lock … Array are parapool shared-memory objects', async () => {
    const lock = await m.Lock();
    expect(lock.acquireSync()).toBe(true);
    lock.release();
    const v = await m.Value('i', 5);
    expect(v.value).toBe(5);
    const arr = await m.Array('d', [1, 2]);
    expect(arr.toArray()).toEqual([1, 2]);
    const q = await m.Queue<number>({ maxsize: 2 });
    await q.put(1);
    expect(await q.get()).toBe(1);
    const e = await m.Event();
    e.set();
    expect(e.isSet()).toBe(true);
    const s = await m.Semaphore(2);
    expect(s.getValue()).toBe(2);
    expect((await m.Barrier(2)).parties).toBe(2);
    expect(await (await m.Condition()).acquire()).toBe(true);
    expect((await m.RLock()).locked()).toBe(false);
    await expect((await m.BoundedSemaphore(1)).acquire()).resolves.toBe(true);
    await (await m.JoinableQueue()).put(1);
  });

  test('bad arguments reject, never throw', async () => {
    await expect(m.dict(undefined, { name: 5 as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const d = await m.dict<string, () => void>();
    await expect(d.set('f', () => {})).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
    expect(() => Manager.register({ dict: Counter })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    await expect(Manager.start({ address: { host: '127.0.0.1', port: 0 } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('2 workers × sync increments of a registered counter: exact totals, in a loop', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await m.Counter(0);
      const done = await getPool().starmap(
        work.bumpSync,
        [
          [c, 500],
          [c, 500],
        ],
        { chunksize: 1 },
      );
      expect(done).toEqual([500, 500]);
      expect(await c.get()).toBe(1000);
      await getPool().starmap(
        work.bumpAsync,
        [
          [c, 300],
          [c, 300],
        ],
        { chunksize: 1 },
      );
      expect(await c.get()).toBe(1600);
    }
  });

  test('calls from one worker are applied in order, whatever path each takes (lane, port, async)', async () => {
    const d = await m.dict<string, unknown>();
    const reads = await getPool().apply(work.mixedOrder, [d, 200]);
    expect(reads).toEqual(Array.from({ length: 200 }, (_, i) => [i, i, i]).flat());
    // The main thread too: pipelined async calls, then a sync read.
    for (let round = 0; round < 20; round++) {
      const writes = Array.from({ length: 50 }, (_, i) => d.set('main', round * 50 + i));
      expect(d.sync.get('main')).toBe(round * 50 + 49);
      await Promise.all(writes);
    }
    // A sync call whose answer is a proxy comes on the port.
    const inner = await m.list<number>([1]);
    await d.set('inner', inner);
    const back = d.sync.get('inner') as typeof inner;
    expect(back.sync.length()).toBe(1);
  });

  test('proxies cross to tasks at any depth, and dict writes from 2 workers all land', async () => {
    const d = await m.dict<string, number>();
    expect(await getPool().apply(work.nested, [{ deep: [{ d }] }])).toBe(7);
    await getPool().starmap(
      work.fill,
      [
        [d, 0, 200],
        [d, 200, 400],
      ],
      { chunksize: 1 },
    );
    expect(await d.size()).toBe(401);
  });

  test('a worker that makes 1,000 proxies and exits: the object count is back to its baseline', async () => {
    const baseline = (await m.stats()).objects;
    const p = new Process({ target: work.makeMany, args: [m as never, 1000] });
    p.start();
    await p.join();
    expect(p.exitCode).toBe(0);
    // At most the baseline: proxies of earlier tests that V8 collects meanwhile release their objects too.
    await eventually(async () => (await m.stats()).objects <= baseline);
  });
});

describe('Manager gone', () => {
  test('after shutdown, every call fails with ERR_MANAGER_GONE (async and sync)', async () => {
    const m = await Manager.start();
    const d = await m.dict<string, number>();
    await m.shutdown();
    await m.shutdown();
    await expect(d.get('a')).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
    expect(() => d.sync.get('a')).toThrow(expect.objectContaining({ code: 'ERR_MANAGER_GONE' }));
    await expect(m.dict()).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
  });

  test('the manager thread crashing mid-call: every caller, in every thread, gets ERR_MANAGER_GONE promptly', async () => {
    const m = await MyManager.start();
    const pool = new Pool({ workers: 1 });
    try {
      const c = await m.Counter(0);
      const waiting = c.later(1, 60_000);
      const inWorker = pool.apply(work.waitSync, [c]);
      await eventually(async () => (await c.get()) === -1);
      const started = Date.now();
      await c.crash();
      await expect(waiting).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
      await expect(inWorker).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(c.get()).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
    } finally {
      await pool.terminate();
      await m.shutdown();
    }
  });
});
