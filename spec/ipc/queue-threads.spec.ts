/**
 * Queue across threads (raw workers): many producers and consumers with exact
 * counts and sums, a consumer that times out then succeeds, a producer killed
 * mid-stream, queues passed on from a worker, shared objects as items.
 */
import type { Worker } from 'node:worker_threads';
import { encode } from '../../lib/codec/codec';
import { Queue } from '../../lib/ipc/queue';
import { Lock } from '../../lib/sync/lock';
import { exited, startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/ipc-queue-worker.ts`;

/** Exit promises, attached at start: a worker may exit before the test awaits it. */
const exits = new WeakMap<Worker, Promise<number>>();

function start(data: Record<string, unknown>): Worker {
  const encoded = encode(data);
  const worker = startTsWorker(FIXTURE, encoded.value, { transferList: encoded.transferList });
  exits.set(worker, exited(worker));
  return worker;
}

const exitOf = (worker: Worker): Promise<number> => exits.get(worker)!;

type Item = { n: number } | null;

describe('Queue (threads)', () => {
  it('2 producers and 2 consumers in workers move 40,000 items: exact count and sum (3 rounds)', async () => {
    const TOTAL = 40_000;
    for (let round = 0; round < 3; round++) {
      const q = new Queue<Item>({ maxsize: round === 0 ? 0 : 50 });
      const results = new Queue<{ count: number; sum: number; damaged: number }>();
      const workers = [
        start({ mode: 'consume', q, results }),
        start({ mode: 'consume', q, results }),
        start({ mode: 'produce', q, from: 0, count: TOTAL / 2, sentinels: 1 }),
        start({ mode: 'produce', q, from: TOTAL / 2, count: TOTAL / 2, sentinels: 1 }),
      ];
      try {
        const a = await results.get();
        const b = await results.get();
        expect(a.count + b.count).toBe(TOTAL);
        expect(a.sum + b.sum).toBe((TOTAL * (TOTAL - 1)) / 2);
        expect(await Promise.all(workers.map(exitOf))).toEqual([0, 0, 0, 0]);
        expect(q.empty()).toBe(true);
      } finally {
        await Promise.all(workers.map((worker) => worker.terminate()));
      }
    }
  });

  it('2 producers and 2 consumers move 30,000 mixed items (one block, many blocks, v8 fallback) intact', async () => {
    const TOTAL = 30_000;
    const q = new Queue<Item>({ maxsize: 64 });
    const results = new Queue<{ count: number; sum: number; damaged: number }>();
    const workers = [
      start({ mode: 'consume', q, results }),
      start({ mode: 'consume', q, results }),
      start({ mode: 'produce-mixed', q, from: 0, count: TOTAL / 2, sentinels: 1 }),
      start({ mode: 'produce-mixed', q, from: TOTAL / 2, count: TOTAL / 2, sentinels: 1 }),
    ];
    try {
      const a = await results.get();
      const b = await results.get();
      expect(a.count + b.count).toBe(TOTAL);
      expect(a.sum + b.sum).toBe((TOTAL * (TOTAL - 1)) / 2);
      expect(a.damaged + b.damaged).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });

  it('the main thread produces with async put while workers consume', async () => {
    const q = new Queue<Item>({ maxsize: 8 });
    const results = new Queue<{ count: number; sum: number; damaged: number }>();
    const workers = [start({ mode: 'consume', q, results }), start({ mode: 'consume', q, results })];
    try {
      for (let i = 1; i <= 20_000; i++) await q.put({ n: i });
      await q.put(null);
      await q.put(null);
      const a = await results.get();
      const b = await results.get();
      expect(a.count + b.count).toBe(20_000);
      expect(a.sum + b.sum).toBe((20_000 * 20_001) / 2);
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });

  it('a consumer times out with ERR_QUEUE_EMPTY, then succeeds when an item comes', async () => {
    const q = new Queue<Item>();
    const results = new Queue<unknown>();
    const worker = start({ mode: 'consume-timeout', q, results, timeout: 30 });
    try {
      expect(await results.get()).toBe('ERR_QUEUE_EMPTY');
      await q.put({ n: 5 });
      expect(await results.get()).toEqual({ n: 5 });
      expect(await exitOf(worker)).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it.each([
    ['worker.terminate()', 0],
    ['process.exit()', 3_000],
  ])('a producer that dies mid-stream (%s): nothing it put is lost or doubled, the queue stays usable', async (_how, exitAfter) => {
    for (let round = 0; round < (exitAfter === 0 ? 8 : 2); round++) {
      const q = new Queue<Item>({ maxsize: 16 });
      const worker = start({ mode: 'produce-forever', q, exitAfter: exitAfter === 0 ? -1 : exitAfter });
      const exit = exitOf(worker);
      const received: number[] = [];
      try {
        // Take a few hundred items (the producer waits on the full queue half the time), then
        // kill it while this thread keeps consuming, so that it dies running flat out.
        while (received.length < 300 + round * 200) received.push((await q.get())!.n);
        if (exitAfter === 0) {
          const killed = worker.terminate();
          let stopped = false;
          void killed.then(() => (stopped = true));
          while (!stopped) {
            const item = await q.get({ timeout: 20 }).catch(() => undefined);
            if (item !== undefined) received.push(item!.n);
          }
          await exit;
        } else {
          while (received.length < exitAfter) received.push((await q.get())!.n);
          expect(await exit).toBe(7);
        }
      } finally {
        await worker.terminate();
      }
      for (;;) {
        try {
          received.push(q.getNowait()!.n);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_QUEUE_EMPTY');
          break;
        }
      }
      // One producer, FIFO: exactly 0 … k-1, each once.
      expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i));
      if (exitAfter !== 0) expect(received.length).toBe(exitAfter);
      // Still usable: at most the slot of the put that was cut short is gone.
      let room = 0;
      while (room < 16 && !q.full()) {
        q.putNowait({ n: room });
        room++;
      }
      expect(room).toBeGreaterThanOrEqual(15);
      for (let i = 0; i < room; i++) expect(q.getNowait()).toEqual({ n: i });
      expect(q.empty()).toBe(true);
    }
  });

  it('a consumer killed mid-stream loses at most the item it was taking; nothing is doubled (4 rounds)', async () => {
    for (let round = 0; round < 4; round++) {
      const q = new Queue<Item>({ maxsize: 16 });
      const marks = new Int32Array(new SharedArrayBuffer(4 * 20_000));
      const worker = start({ mode: 'consume-mark', q, marks });
      let put = 0;
      let killed: Promise<number> | undefined;
      try {
        for (;;) {
          if (put === 1_000 + round * 500) killed = worker.terminate();
          try {
            await q.put({ n: put }, { timeout: killed === undefined ? undefined : 50 });
          } catch (error) {
            expect((error as { code?: string }).code).toBe('ERR_QUEUE_FULL');
            break;
          }
          put++;
        }
        await killed;
      } finally {
        await worker.terminate();
      }
      const drained = new Set<number>();
      while (!q.empty()) drained.add(q.getNowait()!.n);
      let missing = 0;
      for (let n = 0; n < put; n++) {
        const taken = Atomics.load(marks, n) + (drained.has(n) ? 1 : 0);
        expect(taken).toBeLessThanOrEqual(1);
        if (taken === 0) missing++;
      }
      expect(missing).toBeLessThanOrEqual(1);
      // Still usable, less at most the killed get's slot.
      let room = 0;
      while (room < 16 && !q.full()) q.putNowait({ n: room++ });
      expect(room).toBeGreaterThanOrEqual(15);
      for (let i = 0; i < room; i++) expect(q.getNowait()).toEqual({ n: i });
    }
  });

  it('a queue passed to a worker can be passed on to another, and items put before arrive', async () => {
    const q = new Queue<Item>();
    const results = new Queue<{ count: number; sum: number; damaged: number }>();
    for (let i = 1; i <= 1000; i++) q.putSync({ n: i });
    q.putSync(null);
    const worker = start({ mode: 'forward', q, results });
    try {
      expect(await results.get()).toEqual({ count: 1000, sum: 500_500, damaged: 0 });
      expect(await exitOf(worker)).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it('items holding shared objects reach a worker as the same objects, put before, during and after its start (3 rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const q = new Queue<unknown>();
      const results = new Queue<unknown>();
      const lock = new Lock();
      const counter = new Int32Array(new SharedArrayBuffer(4));
      // Before the worker has the queue (the handle's snapshot), while the handle
      // travels (its courier), and once it listens (the broadcast).
      for (let i = 0; i < 50; i++) q.putSync({ counter, lock });
      const worker = start({ mode: 'shared-items', q, results });
      try {
        for (let i = 0; i < 50; i++) q.putSync({ counter, lock });
        expect(await results.get()).toBe('ready');
        for (let i = 0; i < 50; i++) await q.put({ counter, lock });
        await q.put(null);
        expect(await exitOf(worker)).toBe(0);
        expect(counter[0]).toBe(150);
        expect(lock.locked()).toBe(false);
      } finally {
        await worker.terminate();
      }
    }
  });

  it('a queue can travel inside another queue', async () => {
    const outer = new Queue<Queue<Item>>();
    const inner = new Queue<Item>();
    const results = new Queue<{ count: number; sum: number; damaged: number }>();
    outer.putSync(inner);
    const got = outer.getSync();
    expect(got).toBeInstanceOf(Queue);
    const worker = start({ mode: 'consume', q: got, results });
    try {
      for (let i = 1; i <= 100; i++) inner.putSync({ n: i });
      inner.putSync(null);
      expect(await results.get()).toEqual({ count: 100, sum: 5050, damaged: 0 });
    } finally {
      await worker.terminate();
    }
  });
});
