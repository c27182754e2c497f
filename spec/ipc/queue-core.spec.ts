/**
 * The queue engine's limits (lib/ipc/queue-core.ts): memory that grows with
 * what a queue holds, not with its limit, and an unbounded queue at its most
 * items that refuses a put at once instead of freezing the thread.
 */
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Queue } from '../../lib/ipc/queue';
import { MAX_QUEUE_ITEMS } from '../../lib/ipc/queue-core';
import { SimpleQueue } from '../../lib/ipc/simple-queue';
import { startTsWorker } from '../helpers/worker';

const FILL = path.join(__dirname, '../fixtures/ipc-fill-worker.ts');

/** The worker's report, or a failure when it has not reported within `ms` (a frozen put). */
function reportWithin(worker: Worker, ms: number): Promise<{ count: number; code?: string; first?: number }> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no report within ${ms} ms: a put froze`)), ms);
    worker.once('message', (message) => {
      clearTimeout(guard);
      resolve(message);
    });
    worker.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
  });
}

describe('queue engine limits', () => {
  it.each(['Queue', 'SimpleQueue'])(
    'an unbounded %s past its most items fails with ERR_QUEUE_FULL at once (put, putSync), and takes puts again after a get',
    async (kind) => {
      const worker = startTsWorker(FILL, { kind });
      try {
        const report = await reportWithin(worker, 18_000);
        expect(report).toEqual({
          count: MAX_QUEUE_ITEMS,
          code: 'ERR_QUEUE_FULL',
          asyncCode: kind === 'Queue' ? 'ERR_QUEUE_FULL' : undefined,
          first: 0,
        });
      } finally {
        await worker.terminate();
      }
    },
    20_000,
  );

  it('1,000 unbounded queues cost little memory (each used to touch 0.5 MB)', () => {
    const before = process.memoryUsage().rss;
    const queues: (Queue<number> | SimpleQueue<number>)[] = [];
    for (let i = 0; i < 500; i++) queues.push(new Queue<number>(), new SimpleQueue<number>());
    for (const q of queues) q.put(1);
    const grown = process.memoryUsage().rss - before;
    // Was about 540 MB; a generous bound that no noise reaches.
    expect(grown).toBeLessThan(150 * 1024 * 1024);
    for (const q of queues) q.close();
  });

  it('a queue grows to hold many and big items, and keeps them in order', () => {
    const q = new Queue<{ n: number; pad: string }>();
    const pad = 'p'.repeat(300);
    for (let n = 0; n < 2_000; n++) q.putSync({ n, pad });
    for (let n = 0; n < 2_000; n++) expect(q.getSync().n).toBe(n);
    const big = 'B'.repeat(100_000);
    const bounded = new Queue<string>({ maxsize: 3 });
    for (let i = 0; i < 3; i++) bounded.putNowait(big + i);
    expect(bounded.full()).toBe(true);
    for (let i = 0; i < 3; i++) expect(bounded.getNowait()).toBe(big + i);
    q.close();
    bounded.close();
  });

  it('a bounded queue with a huge maxsize is as cheap as a small one', () => {
    const before = process.memoryUsage().rss;
    const queues = Array.from({ length: 300 }, () => new Queue<number>({ maxsize: 100_000 }));
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    for (const q of queues) {
      expect(q.full()).toBe(false);
      q.close();
    }
  });
});
