// Recycling (`maxTasksPerChild`) in lib/runtime/piscina-adapter.ts: a worker's
// replacement starts when the worker is given its last task. Under contention (a
// chunked map and applies at once, in a loop), no worker ever runs more tasks than
// its limit, and exactly one replacement starts for each worker that reached it.
import * as path from 'node:path';
import { Pool, tasks } from '../../lib';

const plain = tasks<{ whoami(): number }>(path.join(__dirname, '../fixtures', 'pool-plain-tasks.mjs'));

describe('recycling workers (maxTasksPerChild)', () => {
  it('runs no task in a worker past its limit and starts exactly one replacement per worker that reached it', async () => {
    const limit = 3;
    const workers = 2;
    for (let round = 0; round < 4; round++) {
      // Every worker counts itself once, in its initializer, whether or not it ever gets a task.
      const started = new Int32Array(new SharedArrayBuffer(4));
      const pool = new Pool({
        workers,
        maxTasksPerChild: limit,
        initializer: (counter: Int32Array) => {
          Atomics.add(counter, 0, 1);
        },
        initargs: [started],
      });
      let ids: number[];
      try {
        const tasksInRound = 7 + round * 5;
        const [mapped, applied] = await Promise.all([
          pool.map(plain.whoami, new Array(tasksInRound).fill(0), { chunksize: 1 }),
          Promise.all(Array.from({ length: round + 1 }, () => pool.apply(plain.whoami))),
        ]);
        ids = [...mapped, ...applied];
        expect(ids).toHaveLength(tasksInRound + round + 1);
      } finally {
        pool.close();
        await pool.join();
      }
      const perWorker = new Map<number, number>();
      for (const id of ids) perWorker.set(id, (perWorker.get(id) ?? 0) + 1);
      expect(Math.max(...perWorker.values())).toBeLessThanOrEqual(limit);
      const reachedLimit = [...perWorker.values()].filter((count) => count === limit).length;
      expect(Atomics.load(started, 0)).toBe(workers + reachedLimit);
    }
  });
});
