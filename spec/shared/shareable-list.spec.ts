import { encode } from '../../lib/codec/codec';
import { ShareableList } from '../../lib/shared/shareable-list';
import { SharedMemory } from '../../lib/shared/shared-memory';
import { startValuesWorker, type ValuesWorker } from './values-worker';

const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
const lists: ShareableList[] = [];
function track<T extends ShareableList>(list: T): T {
  lists.push(list);
  return list;
}
afterEach(() => {
  for (const list of lists.splice(0)) if (!list.shm.unlinked) list.shm.unlink();
});

describe('ShareableList (CPython test_shared_memory_ShareableList_basics)', () => {
  test('get, set, length, index, count, type changes, capacity, copies, a second handle by name, empty', () => {
    const sl = track(ShareableList(['howdy', 'HoWdY', -273.154, 100, null, true, 42]));
    expect(String(sl)).toContain(sl.shm.name);
    expect(String(sl)).toBe(`ShareableList(['howdy', 'HoWdY', -273.154, 100, null, true, 42], name='${sl.shm.name}')`);
    expect(() => sl.get(7)).toThrow(RangeError);
    expect(() => sl.set(7, 2)).toThrow(RangeError);
    expect(() => sl.get(-8)).toThrow(RangeError);
    sl.set(0, 'howdy');
    expect(sl.length).toBe(7);
    expect(() => sl.index('100')).toThrow(invalidArg);
    expect(sl.index(100)).toBe(3);
    expect(sl.get(0)).toBe('howdy');
    expect(sl.get(-2)).toBe(true);
    expect([...sl]).toEqual(['howdy', 'HoWdY', -273.154, 100, null, true, 42]);

    sl.set(3, 42);
    expect(sl.get(3)).toBe(42);
    sl.set(4, 'some'); // change of type at a position
    expect(sl.get(4)).toBe('some');
    expect(() => sl.set(4, 'far too many')).toThrow(/fit slot 4 \(8 bytes of UTF-8\), got a string of 12 bytes/);
    expect(sl.get(4)).toBe('some');
    sl.set(0, 'encodés'); // exactly 8 bytes of UTF-8
    expect(sl.get(0)).toBe('encodés');
    expect(sl.get(1)).toBe('HoWdY'); // no spillage
    expect(() => sl.set(0, 'encodées')).toThrow(invalidArg); // 9 bytes
    expect(sl.get(1)).toBe('HoWdY');
    expect(sl.count(42)).toBe(2);
    expect(sl.count('HoWdY')).toBe(1);
    expect(sl.count('adios')).toBe(0);

    const copyName = `test03_duplicate_${process.pid}`;
    const copy = track(ShareableList(sl, { name: copyName }));
    expect(copy.shm.name).toBe(copyName);
    expect(copy.toArray()).toEqual(sl.toArray());
    copy.set(-1, 77);
    expect(copy.get(-1)).toBe(77);
    expect(sl.get(-1)).not.toBe(77);

    const tethered = ShareableList({ name: sl.shm.name });
    expect(tethered.shm.name).toBe(sl.shm.name);
    tethered.set(-1, 880);
    expect(sl.get(-1)).toBe(880);
    expect(new ShareableList(null, { name: sl.shm.name }).get(-1)).toBe(880);

    const empty = track(ShareableList());
    expect(empty.length).toBe(0);
    expect(empty.count('any')).toBe(0);
    expect(() => empty.index(null)).toThrow(invalidArg);
    expect(empty.toArray()).toEqual([]);
  });

  test('bigints, booleans, numbers and null in any slot; strings keep their capacity', () => {
    const list = track(
      new ShareableList<number | bigint | boolean | string | null>([2n ** 62n, false, 'a much longer string, 31 bytes', NaN]),
    );
    expect(list.toArray()).toEqual([2n ** 62n, false, 'a much longer string, 31 bytes', NaN]);
    list.set(2, -(2n ** 63n));
    expect(list.get(2)).toBe(-(2n ** 63n));
    list.set(2, 'x'.repeat(32)); // 31 bytes round up to 32
    expect(list.get(2)).toBe('x'.repeat(32));
    expect(() => list.set(2, 'x'.repeat(33))).toThrow(invalidArg);
    list.set(0, 'ünï');
    expect(list.get(0)).toBe('ünï');
    list.set(1, null);
    expect(list.get(1)).toBeNull();
    list.set(3, -0.5);
    expect(list.get(3)).toBe(-0.5);
    list.set(0, '');
    expect(list.get(0)).toBe('');
  });

  test('validation → ERR_INVALID_ARG; names → ERR_SHM_EXISTS / ERR_SHM_NOT_FOUND', () => {
    for (const bad of [[undefined], [{}], [[1]], [() => 1], [Symbol('s')], [2n ** 63n], [-(2n ** 63n) - 1n]]) {
      expect(() => ShareableList(bad as never)).toThrow(invalidArg);
    }
    expect(() => ShareableList([undefined] as never)).toThrow(/`values\[0\]` to be a number, bigint, boolean, string or null/);
    expect(() => ShareableList('abc' as never)).toThrow(invalidArg);
    expect(() => ShareableList(42 as never)).toThrow(invalidArg);
    expect(() => ShareableList([1], 'name' as never)).toThrow(invalidArg);
    const list = track(ShareableList([1, 2]));
    expect(() => list.set(0, undefined as never)).toThrow(invalidArg);
    expect(() => list.set(0.5, 1)).toThrow(invalidArg);
    expect(() => ShareableList([1], { name: list.shm.name })).toThrow(expect.objectContaining({ code: 'ERR_SHM_EXISTS' }));
    expect(() => ShareableList({ name: 'no_such_list' })).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND' }));
    const notAList = new SharedMemory({ create: true, size: 64 });
    try {
      expect(() => ShareableList({ name: notAList.name })).toThrow(/does not hold a ShareableList/);
    } finally {
      notAList.unlink();
    }
  });

  test('callable with or without new; instanceof works either way', () => {
    const a = track(ShareableList([1]));
    const b = track(new ShareableList([1]));
    expect(a).toBeInstanceOf(ShareableList);
    expect(b).toBeInstanceOf(ShareableList);
    expect(a.constructor.name).toBe('ShareableList');
  });
});

describe('ShareableList across threads', () => {
  let worker: ValuesWorker;
  beforeAll(async () => {
    worker = await startValuesWorker();
  });
  afterAll(async () => {
    await worker.worker.terminate();
  });

  test('the codec: a worker writes through the list it received; one created there comes back', async () => {
    const list = track(ShareableList([1, 'two', null]));
    expect(encode([list], 'args').shared).toBe(true);
    expect(await worker.run('writeList', { list, index: 2, value: 'three' })).toEqual([1, 'two', 'three']);
    expect(list.get(2)).toBe('three');
    const made = await worker.run<{ list: ShareableList }>('createAndReturn', {});
    track(made.list);
    expect(made.list).toBeInstanceOf(ShareableList);
    expect(made.list.toArray()).toEqual([1, 'two', null]);
  });

  test("attach by name in a worker (Python's ShareableList(name=...))", async () => {
    const list = track(ShareableList(['placeholder for a long string', 2]));
    expect(await worker.run('attachList', { name: list.shm.name })).toEqual(['from worker', 2]);
    expect(list.get(0)).toBe('from worker');
  });
});
