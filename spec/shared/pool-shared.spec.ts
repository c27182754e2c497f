import * as path from 'node:path';
import { SharedMemory } from '../../lib/shared/shared-memory';
import { Array as SharedArrayOf, SharedArray } from '../../lib/shared/array';
import { SharedValue, Value } from '../../lib/shared/value';
import { Pool } from '../../lib/pool/pool';
import { tasks } from '../../lib/tasks/task-ref';

const t = tasks<typeof import('../fixtures/shared-pool-tasks')>(path.join(__dirname, '..', 'fixtures', 'shared-pool-tasks.ts'));

describe('shared memory through a Pool', () => {
  test('the race: new Pool(), then a block, then attach by name in a worker that was still starting', async () => {
    for (let round = 0; round < 3; round++) {
      const pool = new Pool({ workers: 2 });
      try {
        const shm = new SharedMemory({ create: true, size: 64 });
        try {
          const sizes = await Promise.all([pool.apply(t.attachByName, [shm.name]), pool.apply(t.attachByName, [shm.name])]);
          expect(sizes).toEqual([64, 64]);
          expect(shm.buf[0]).toBe(2);
        } finally {
          shm.unlink();
        }
      } finally {
        pool.close();
        await pool.join();
      }
    }
  });

  test('idle workers parked between tasks attach to a block created while they slept', async () => {
    const pool = new Pool({ workers: 2 });
    try {
      const warmUp = [0, 1, 2, 3].map(() => new SharedMemory({ create: true, size: 1 }));
      await Promise.all(warmUp.map((shm) => pool.apply(t.attachByName, [shm.name])));
      for (const shm of warmUp) shm.unlink();
      for (let round = 0; round < 5; round++) {
        const shm = new SharedMemory({ create: true, size: 8 });
        expect(await pool.apply(t.attachByName, [shm.name])).toBe(8);
        expect(shm.buf[0]).toBe(1);
        shm.unlink();
        await expect(pool.apply(t.attachByName, [shm.name])).rejects.toMatchObject({ code: 'ERR_SHM_NOT_FOUND' });
      }
    } finally {
      pool.close();
      await pool.join();
    }
  });

  test("the seeds' counter: 2 tasks × 100,000 increments, locked and lock-free, exact every round", async () => {
    const pool = new Pool({ workers: 2 });
    try {
      for (let round = 0; round < 5; round++) {
        const locked = Value('i', 0);
        const free = Value('i', 0, { lock: false });
        await Promise.all([pool.apply(t.incrementLocked, [locked, 100_000]), pool.apply(t.incrementLocked, [locked, 100_000])]);
        await Promise.all([pool.apply(t.incrementAtomic, [free, 100_000]), pool.apply(t.incrementAtomic, [free, 100_000])]);
        expect(locked.value).toBe(200_000);
        expect(free.value).toBe(200_000);
      }
      // The seeds' shared array, filled in slices by several tasks.
      const array = SharedArrayOf('d', 10);
      await Promise.all([pool.apply(t.fillSlice, [array, 0, 5, 100]), pool.apply(t.fillSlice, [array, 5, 10, 100])]);
      expect(array.toArray()).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
      // A task creates shared objects and returns them: same memory on this side.
      const made = await pool.apply(t.makeShared);
      expect(made.counter).toBeInstanceOf(SharedValue);
      expect(made.array).toBeInstanceOf(SharedArray);
      made.counter.add(1);
      expect(made.counter.value).toBe(42);
      await pool.apply(t.incrementAtomic, [made.counter, 8]);
      expect(made.counter.value).toBe(50);
    } finally {
      pool.close();
      await pool.join();
    }
  });
});
