/**
 * Queues and pipes with parapool's own carriers: Pool tasks and Process
 * targets (the seeds' producer/consumer with a sentinel, and the squares pipe).
 */
import * as path from 'node:path';
import { Pipe } from '../../lib/ipc/pipe';
import { Queue } from '../../lib/ipc/queue';
import { Pool } from '../../lib/pool/pool';
import { Process } from '../../lib/process/process';
import { Lock } from '../../lib/sync/lock';
import { tasks } from '../../lib/tasks/task-ref';
import type * as Fixtures from '../fixtures/ipc-tasks';

const t = tasks<typeof Fixtures>(path.join(__dirname, '../fixtures/ipc-tasks.ts'));
type Item = { id: number; value: number } | null;

describe('Queue with Pool and Process', () => {
  it('Pool tasks consume a queue that the main thread fills (3 rounds)', async () => {
    const pool = new Pool({ workers: 2 });
    try {
      for (let round = 0; round < 3; round++) {
        const q = new Queue<Item>({ maxsize: round === 0 ? 0 : 10 });
        const consumers = [pool.apply(t.consume, [q]), pool.apply(t.consume, [q])];
        let expected = 0;
        for (let i = 0; i < 5_000; i++) {
          await q.put({ id: i, value: i % 100 });
          expected += (i % 100) ** 2;
        }
        await q.put(null);
        const results = (await Promise.all(consumers)) as { count: number; sum: number }[];
        expect(results[0]!.count + results[1]!.count).toBe(5_000);
        expect(results[0]!.sum + results[1]!.sum).toBe(expected);
        expect(q.getNowait()).toBeNull(); // the sentinel, passed on by the last consumer
        expect(q.empty()).toBe(true);
      }
      // Filled before the task starts, read with async get in the worker.
      const q = new Queue<Item>();
      for (let i = 0; i < 1_000; i++) q.putSync({ id: i, value: 1 });
      expect(await pool.apply(t.consumeAsync, [q, 1_000])).toBe(1_000);
      // Items holding shared objects, put the moment the task is submitted.
      const shared = new Queue<{ counter: Int32Array; lock: Lock } | null>();
      const lock = new Lock();
      const counter = new Int32Array(new SharedArrayBuffer(4));
      const counted = pool.apply(t.incrementAll, [shared]);
      for (let i = 0; i < 200; i++) shared.putSync({ counter, lock });
      shared.putSync(null);
      expect(await counted).toBe(200);
      expect(counter[0]).toBe(200);
    } finally {
      await pool.terminate();
    }
  });

  it("runs the seed's producer/consumer: one producer Process, two consumer Processes, a sentinel", async () => {
    const q = new Queue<Item>({ maxsize: 10 });
    const producer = new Process({ target: t.produce, args: [q, 2_000] });
    const consumers = [new Process({ target: t.consume, args: [q] }), new Process({ target: t.consume, args: [q] })];
    producer.start();
    for (const consumer of consumers) consumer.start();
    await producer.join();
    for (const consumer of consumers) await consumer.join();
    expect([producer.exitCode, ...consumers.map((c) => c.exitCode)]).toEqual([0, 0, 0]);
    expect(q.getNowait()).toBeNull();
    expect(q.empty()).toBe(true);
  });

  it("runs the seed's squares pipe with the child end in a Process", async () => {
    const [parentConn, childConn] = Pipe<number | null>();
    const p = new Process({ target: t.squares, args: [childConn] });
    p.start();
    childConn.close(); // the parent's copy: it moved to the Process
    const results: number[] = [];
    for (const n of [3, 7, 12, 25]) {
      parentConn.send(n);
      results.push((await parentConn.recv()) as number);
    }
    parentConn.send(null);
    await p.join();
    expect(results).toEqual([9, 49, 144, 625]);
    expect(p.exitCode).toBe(0);
    await expect(parentConn.recv()).rejects.toMatchObject({ code: 'ERR_EOF' });
    parentConn.close();
  });

  it('300 unbounded queues passed to tasks cost little memory while idle workers still hold them', async () => {
    const pool = new Pool({ workers: 2 });
    try {
      await pool.apply(t.produce, [new Queue<Item>(), 0]); // workers started before measuring
      const before = process.memoryUsage().rss;
      const queues: Queue<Item>[] = [];
      for (let i = 0; i < 300; i++) {
        const q = new Queue<Item>();
        queues.push(q);
        await pool.apply(t.produce, [q, 3]);
        expect(q.qsize()).toBe(4);
      }
      // Each used to reserve 10 MB and touch 0.5 MB, in every thread that held it (about 3 GB reserved).
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
      for (const q of queues) q.close();
    } finally {
      await pool.terminate();
    }
  }, 20_000);
});
