/**
 * Queue, JoinableQueue and SimpleQueue against API.md §7–§8: use after close,
 * what goes in comes out, promise-returning calls that reject (never throw),
 * timeouts, junk arguments, and memory a producer does not keep.
 */
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encode } from '../../lib/codec/codec';
import { JoinableQueue } from '../../lib/ipc/joinable-queue';
import { Queue } from '../../lib/ipc/queue';
import { SimpleQueue } from '../../lib/ipc/simple-queue';
import { Value } from '../../lib/shared/value';
import { startTsWorker } from '../helpers/worker';
import { codeOf, rejectionCode, revoked, throwing } from '../helpers/contract';

const QUEUE_WORKER = path.join(__dirname, '../fixtures/ipc-queue-worker.ts');

describe('queues after close()', () => {
  it('Queue: empty, qsize, full and every other call fail with ERR_QUEUE_CLOSED (as Python)', async () => {
    const q = new Queue<number>({ maxsize: 2 });
    q.putSync(1);
    q.close();
    expect(codeOf(() => q.empty())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.qsize())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.full())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.putSync(1))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.putNowait(1))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.getSync())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.getNowait())).toBe('ERR_QUEUE_CLOSED');
    expect(await rejectionCode(() => q.put(1))).toBe('ERR_QUEUE_CLOSED');
    expect(await rejectionCode(() => q.get())).toBe('ERR_QUEUE_CLOSED');
    expect(q.closed).toBe(true);
    expect(q.maxsize).toBe(2);
    expect(() => q.close()).not.toThrow();
  });

  it('JoinableQueue: taskDone, join, joinSync and unfinishedTasks too', async () => {
    const q = new JoinableQueue<number>();
    q.putSync(1);
    q.close();
    expect(codeOf(() => q.taskDone())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.joinSync({ timeout: 0 }))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.unfinishedTasks)).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.empty())).toBe('ERR_QUEUE_CLOSED');
    expect(await rejectionCode(() => q.join())).toBe('ERR_QUEUE_CLOSED');
  });

  it('SimpleQueue: empty and every other call', async () => {
    const q = new SimpleQueue<number>();
    q.close();
    expect(codeOf(() => q.empty())).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.put(1))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => q.getSync())).toBe('ERR_QUEUE_CLOSED');
    expect(await rejectionCode(() => q.get())).toBe('ERR_QUEUE_CLOSED');
  });
});

describe('what goes in comes out (structured-clone fidelity)', () => {
  it('keeps named properties of array items, at any depth', async () => {
    const q = new Queue<unknown>();
    const tagged = Object.assign([1, 2, 3], { tag: 'x', n: 7 });
    await q.put(tagged);
    await q.put({ rows: [tagged] });
    const back = (await q.get()) as number[] & { tag: string; n: number };
    expect([...back]).toEqual([1, 2, 3]);
    expect(back.tag).toBe('x');
    expect(back.n).toBe(7);
    const nested = (await q.get()) as { rows: (number[] & { tag: string })[] };
    expect(nested.rows[0]!.tag).toBe('x');
    expect(structuredClone(tagged)).toEqual(back);
    q.close();
  });

  it('keeps -0, NaN, bigint, lone surrogates, sparse arrays, Map, Date', () => {
    const q = new Queue<unknown>();
    const sparseItem = [1, 2, 3];
    delete sparseItem[1];
    const items: unknown[] = [-0, Number.NaN, 2n ** 70n, '\ud800x', sparseItem, new Map([[1, { a: 1 }]]), new Date(5)];
    for (const item of items) q.putSync(item);
    for (const item of items) {
      const back = q.getSync();
      expect(Object.is(back, item) || JSON.stringify(structuredClone(item)) === JSON.stringify(back)).toBe(true);
      expect(back).toEqual(structuredClone(item));
    }
    const sparse = structuredClone(items[4]) as unknown[];
    q.putSync(sparse);
    expect(1 in (q.getSync() as unknown[])).toBe(false);
    q.close();
  });

  it('refuses a Proxy or a function item with ERR_UNCLONEABLE, and loses no slot doing so', async () => {
    const q = new Queue<unknown>({ maxsize: 1 });
    expect(codeOf(() => q.putSync(new Proxy({ a: 1 }, {})))).toBe('ERR_UNCLONEABLE');
    expect(codeOf(() => q.putSync(revoked()))).toBe('ERR_UNCLONEABLE');
    expect(codeOf(() => q.putSync({ f: () => 1 }))).toBe('ERR_UNCLONEABLE');
    expect(await rejectionCode(() => q.put(new Proxy([1], {})))).toBe('ERR_UNCLONEABLE');
    q.putNowait('still room');
    expect(q.getNowait()).toBe('still room');
    q.close();
  });
});

describe('§8: how queue calls report errors', () => {
  it('put/get/join reject on bad arguments (never throw); the …Sync/…Nowait forms throw', async () => {
    const q = new JoinableQueue<number>();
    for (const options of ['x', 5, Number.NaN, [], revoked(), throwing, { timeout: 'soon' }, { timeout: Number.NaN }, { blocking: 1 }]) {
      expect(await rejectionCode(() => q.put(1, options as never))).toBe('ERR_INVALID_ARG');
      expect(await rejectionCode(() => q.get(options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => q.putSync(1, options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => q.getSync(options as never))).toBe('ERR_INVALID_ARG');
    }
    for (const options of ['x', revoked(), throwing, { timeout: 'soon' }]) {
      expect(await rejectionCode(() => q.join(options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => q.joinSync(options as never))).toBe('ERR_INVALID_ARG');
    }
    expect(q.qsize()).toBe(0);
    q.close();
  });

  it('junk constructor options give ERR_INVALID_ARG', () => {
    for (const options of ['x', 3, [], revoked(), throwing, { maxsize: -1 }, { maxsize: 1.5 }, { maxsize: Number.NaN }, { maxsize: '3' }]) {
      expect(codeOf(() => new Queue(options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => new JoinableQueue(options as never))).toBe('ERR_INVALID_ARG');
    }
    expect(new Queue({ maxsize: 10 ** 12 }).maxsize).toBe(131_071);
  });

  it('a negative timeout means "do not wait"; one past 2^31 ms waits (no overflow to ~1 ms)', async () => {
    const q = new Queue<number>({ maxsize: 1 });
    expect(await rejectionCode(() => q.get({ timeout: -1 }))).toBe('ERR_QUEUE_EMPTY');
    expect(codeOf(() => q.getSync({ timeout: -5 }))).toBe('ERR_QUEUE_EMPTY');
    q.putSync(1);
    expect(await rejectionCode(() => q.put(2, { timeout: -1 }))).toBe('ERR_QUEUE_FULL');
    expect(q.getSync()).toBe(1);
    const waiting = q.get({ timeout: 2 ** 32 });
    let settled = false;
    void waiting.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    // An overflowing timer would fire within a few ms; give it far longer (and the event loop turns).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    q.putSync(9);
    await expect(waiting).resolves.toBe(9);
    q.close();
  });
});

describe('memory a queue does not keep', () => {
  it('a producer does not keep the side-channel items another thread took', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const q = new Queue<unknown>();
    const results = new Queue<unknown>();
    const encoded = encode({ mode: 'consume', q, results });
    const worker = startTsWorker(QUEUE_WORKER, encoded.value, { transferList: encoded.transferList });
    try {
      const shared = Value('i', 0, { lock: false });
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let n = 0; n < 400; n++) {
        // A shared object sends the item on the side channel; each carries 100 KB of text.
        await q.put({ n, v: shared, blob: `${n}`.padEnd(100_000, 'x') });
      }
      await q.put(null);
      expect(await results.get({ timeout: 18_000 })).toEqual({ count: 400, sum: 79_800, damaged: 0 });
      // Sweeps run as entries pile up; the last few may stay until the next one.
      await q.put({ n: -1, v: shared, blob: '' });
      gc();
      // 400 kept items would hold 40 MB.
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(25 * 1024 * 1024);
    } finally {
      await worker.terminate();
      q.close();
      results.close();
    }
  }, 20_000);
});
