// Recycling (`maxTasksPerChild`) in lib/runtime/piscina-adapter.ts: spares boot
// ahead of need (a worker halfway through its share reserves its replacement, up
// to `workers` spares at once), tasks go only to booted workers. Under contention
// (a chunked map and applies at once, in a loop), no worker ever runs more tasks
// than its limit, no task is lost, every worker (spares included) runs the
// initializer, and shutting down with spares still booting leaves no thread behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool, tasks } from '../../lib';
import { within } from '../helpers/within';

const plain = tasks<{ whoami(): number; recordThread(log: Int32Array): void }>(path.join(__dirname, '../fixtures', 'pool-plain-tasks.mjs'));

/** For the `recordThread` initializer: word 0 counts the workers that ran it; words 1… hold their thread ids. */
function initializedLog(capacity: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (capacity + 1)));
}

function initializedIds(log: Int32Array): Set<number> {
  const count = Math.min(Atomics.load(log, 0), log.length - 1);
  return new Set(Array.from({ length: count }, (_, i) => Atomics.load(log, i + 1)));
}

/** This process's OS threads (Linux): every worker thread is one. */
const TASKS_DIR = '/proc/self/task';
const threadCount = (): number => fs.readdirSync(TASKS_DIR).length;
const onLinux = fs.existsSync(TASKS_DIR) ? it : it.skip;

/** Resolves once this process has no more threads than `baseline` (bounded by the caller's guard). */
async function threadsBackTo(baseline: number): Promise<number> {
  while (threadCount() > baseline) await new Promise((resolve) => setImmediate(resolve));
  return threadCount();
}

describe('recycling workers (maxTasksPerChild)', () => {
  it.each([1, 3])(
    'limit %i: under contention, no worker runs past its limit, no task is lost, every worker ran the initializer',
    async (limit) => {
      const workers = 2;
      // A worker boot per `limit` tasks: fewer rounds for limit 1 keep the test short.
      for (let round = 0; round < (limit === 1 ? 2 : 3); round++) {
        const log = initializedLog(256);
        const pool = new Pool({ workers, maxTasksPerChild: limit, initializer: plain.recordThread, initargs: [log] });
        let ids: number[];
        const tasksInRound = 6 + round * 4;
        try {
          const [mapped, applied] = await Promise.all([
            pool.map(plain.whoami, new Array(tasksInRound).fill(0), { chunksize: 1 }),
            Promise.all(Array.from({ length: round + 2 }, () => pool.apply(plain.whoami))),
          ]);
          ids = [...mapped, ...applied];
        } finally {
          pool.close();
          await pool.join();
        }
        expect(ids).toHaveLength(tasksInRound + round + 2);
        expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
        const perWorker = new Map<number, number>();
        for (const id of ids) perWorker.set(id, (perWorker.get(id) ?? 0) + 1);
        expect(Math.max(...perWorker.values())).toBeLessThanOrEqual(limit);
        // Every worker that ran a task ran the initializer; join() let every spare's initializer finish too.
        const initialized = initializedIds(log);
        for (const id of perWorker.keys()) expect(initialized.has(id)).toBe(true);
        // Each worker that reached its limit was replaced; besides those, at most `workers` spares were started.
        const reachedLimit = [...perWorker.values()].filter((count) => count === limit).length;
        const started = Atomics.load(log, 0);
        expect(started).toBeGreaterThanOrEqual(workers + reachedLimit);
        expect(started).toBeLessThanOrEqual(2 * workers + reachedLimit);
      }
    },
  );

  it('a spare boots ahead of need, and runs the initializer even if it never gets a task', async () => {
    const log = initializedLog(8);
    const pool = new Pool({ workers: 1, maxTasksPerChild: 2, initializer: plain.recordThread, initargs: [log] });
    let first: number;
    try {
      // Half the share of 2: this task makes the worker reserve its replacement.
      first = await pool.apply(plain.whoami);
    } finally {
      pool.close();
      await pool.join();
    }
    const initialized = initializedIds(log);
    expect(initialized.size).toBe(2);
    expect(initialized.has(first)).toBe(true);
  });

  onLinux('close()/join() and terminate() with spares still booting end every thread, in a loop', async () => {
    // The baseline after one pool has come and gone (libuv's thread pool and the like start once).
    {
      await using warm = new Pool({ workers: 2, maxTasksPerChild: 1 });
      await warm.apply(plain.whoami);
    }
    const baseline = await within(threadsBackTo(Number.POSITIVE_INFINITY), 1000, 'the first count');
    for (let round = 0; round < 3; round++) {
      const closing = new Pool({ workers: 2, maxTasksPerChild: 1 });
      // Every task retires its worker: replacements are booting when close() is called.
      const results = await Promise.all(Array.from({ length: 3 }, () => closing.apply(plain.whoami)));
      expect(results).toHaveLength(3);
      closing.close();
      await within(closing.join(), 10_000, 'join() with spares booting');
      expect(await within(threadsBackTo(baseline), 5000, 'the threads after join()')).toBeLessThanOrEqual(baseline);

      const terminated = new Pool({ workers: 2, maxTasksPerChild: 1 });
      await terminated.apply(plain.whoami);
      // In flight while terminate() runs: each settles (a result or ERR_CANCELLED / a worker exit), none hangs.
      const inFlight = Array.from({ length: 4 }, () => terminated.apply(plain.whoami));
      await within(terminated.terminate(), 10_000, 'terminate() with spares booting');
      await within(Promise.allSettled(inFlight), 5000, 'the tasks in flight at terminate()');
      expect(await within(threadsBackTo(baseline), 5000, 'the threads after terminate()')).toBeLessThanOrEqual(baseline);
    }
  });

  it('idleTimeout still ends idle workers and spares, and the pool recycles on after it', async () => {
    await using pool = new Pool({ workers: 2, maxTasksPerChild: 2, idleTimeout: 10 });
    const before = await pool.map(plain.whoami, new Array(6).fill(0), { chunksize: 1 });
    expect(before).toHaveLength(6);
    // Every worker, spares included, is idle past the timeout: piscina ends them all.
    await within(
      (async () => {
        while (pool.stats().workers.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      10_000,
      'the idle workers ending',
    );
    const after = await pool.map(plain.whoami, new Array(6).fill(0), { chunksize: 1 });
    const perWorker = new Map<number, number>();
    for (const id of after) perWorker.set(id, (perWorker.get(id) ?? 0) + 1);
    expect(after).toHaveLength(6);
    expect(Math.max(...perWorker.values())).toBeLessThanOrEqual(2);
    for (const id of after) expect(before).not.toContain(id);
  });
});
