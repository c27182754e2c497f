import * as path from 'node:path';
import { Executor, InvalidStateError, Pool, tasks } from '../../lib';
import { DISPATCHER_FACTORY } from '../../lib/runtime/runtime';
import { StatsRecorder } from '../../lib/runtime/stats';
import { FakeDispatcher } from './fake-dispatcher';

const fixture = path.join(__dirname, '../fixtures', 'pool-tasks.ts');
const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('StatsRecorder', () => {
  it('counts, percentiles in ms, per-worker utilization of live threads only', () => {
    const stats = new StatsRecorder();
    expect(stats.snapshot([], 2, 0, 0, 0)).toMatchObject({ completed: 0, failed: 0, utilization: 0, runTime: { count: 0, p50: 0 } });
    for (let i = 1; i <= 100; i++) {
      stats.started(1, 0);
      stats.ended(i, false, i % 2 === 0 ? 10 : 11, 1000);
    }
    stats.started(1, 0);
    stats.ended(5, true, 12, 1000);
    stats.dropped(true);
    stats.dropped(false);
    const snapshot = stats.snapshot([10, 11, 13], 2, 4, 1, 1000);
    expect(snapshot).toMatchObject({ completed: 100, failed: 2, queued: 4, running: 1 });
    expect(snapshot.runTime.count).toBe(101);
    expect(snapshot.runTime.p50).toBeCloseTo(50, 0);
    expect(snapshot.runTime.p90).toBeCloseTo(90, 0);
    expect(snapshot.runTime.p99).toBeCloseTo(99, 0);
    expect(snapshot.runTime.max).toBeCloseTo(100, 0);
    expect(snapshot.waitTime).toMatchObject({ p50: 1, p99: 1, count: 101 });
    // Thread 12 is gone; 13 has not run anything yet.
    expect(snapshot.workers.map((worker) => [worker.threadId, worker.completed])).toEqual([
      [10, 50],
      [11, 50],
      [13, 0],
    ]);
    for (const worker of snapshot.workers) {
      expect(worker.utilization).toBeGreaterThanOrEqual(0);
      expect(worker.utilization).toBeLessThanOrEqual(1);
    }
    expect(snapshot.utilization).toBeLessThanOrEqual(1);
  });
});

describe('Pool.stats() and Executor.stats()', () => {
  it('counts every task of a pool: completed, failed, queue depth, per-worker tasks', async () => {
    await using pool = new Pool({ workers: 2 });
    await Promise.all(range(200).map((i) => pool.apply(t.add, [i, 1])));
    await expect(pool.apply(t.fail, ['on purpose'])).rejects.toThrow('on purpose');
    let stats = pool.stats();
    expect(stats).toMatchObject({ completed: 200, failed: 1, queued: 0, running: 0 });
    expect(stats.runTime.count).toBe(201);
    expect(stats.waitTime.count).toBe(201);
    expect(stats.runTime.p50).toBeLessThanOrEqual(stats.runTime.p90);
    expect(stats.runTime.p90).toBeLessThanOrEqual(stats.runTime.p99);
    expect(stats.runTime.p99).toBeLessThanOrEqual(stats.runTime.max);
    expect(stats.workers).toHaveLength(2);
    expect(stats.workers.reduce((sum, worker) => sum + worker.completed, 0)).toBe(201);
    for (const worker of [...stats.workers, stats]) {
      expect(worker.utilization).toBeGreaterThan(0);
      expect(worker.utilization).toBeLessThanOrEqual(1);
    }

    const flags = new Int32Array(new SharedArrayBuffer(4));
    const blocked = range(20).map(() => pool.apply(t.waitForFlag, [flags]));
    stats = pool.stats();
    expect(stats).toMatchObject({ queued: 18, running: 2 });
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await Promise.all(blocked);
    // A self-scheduled map is one task per worker; a chunked one, one task per chunk.
    await pool.map(t.square, range(1000));
    await pool.map(t.square, range(1000), { chunksize: 100 });
    expect(pool.stats()).toMatchObject({ completed: 220 + 2 + 10, queued: 0, running: 0 });
  });

  it('an executor reports the same way; a pool on a backend refuses with ERR_INVALID_STATE', async () => {
    await using executor = new Executor({ maxWorkers: 1 });
    await Promise.all(range(10).map((i) => executor.submit(t.add, i, i)));
    expect(executor.stats()).toMatchObject({ completed: 10, failed: 0 });
    expect(executor.stats().workers).toHaveLength(1);

    const remote = new Pool({ [DISPATCHER_FACTORY]: () => new FakeDispatcher(1) } as never);
    expect(() => remote.stats()).toThrow(InvalidStateError);
    await remote.terminate();
  });
});
