import { threadId } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { Lock } from '../../lib/sync/lock';
import { Value } from '../../lib/shared/value';
import { RLock } from '../../lib/sync/rlock';
import { startTsWorker } from '../helpers/worker';
import { callInWorker } from './call-in-worker';
import { counterWorkers } from './counter-workers';

const ROUNDS = 20;
const ITERATIONS = 100_000;
const invalidState = expect.objectContaining({ code: 'ERR_INVALID_STATE' });
const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });

describe('RLock', () => {
  it('is recursive: free once released as many times as acquired', async () => {
    const rlock = new RLock();
    expect(rlock.locked()).toBe(false);
    expect(rlock.ownerThreadId).toBeUndefined();
    expect(rlock.acquireSync()).toBe(true);
    expect(await rlock.acquire()).toBe(true);
    expect(rlock.acquireSync({ blocking: false })).toBe(true);
    expect(rlock.ownerThreadId).toBe(threadId);
    rlock.release();
    rlock.release();
    expect(rlock.locked()).toBe(true);
    rlock.release();
    expect(rlock.locked()).toBe(false);
    expect(rlock.ownerThreadId).toBeUndefined();
    expect(() => rlock.release()).toThrow(invalidState);
  });

  it('another thread cannot take it while it is held, and cannot release it', async () => {
    const rlock = new RLock();
    rlock.acquireSync();
    expect(await callInWorker(rlock, 'acquireSync', [{ blocking: false }])).toMatchObject({ value: false });
    expect(await callInWorker(rlock, 'acquireSync', [{ timeout: 30 }])).toMatchObject({ value: false });
    expect(await callInWorker(rlock, 'acquire', [{ timeout: 30 }], { awaitResult: true })).toMatchObject({ value: false });
    const release = await callInWorker(rlock, 'release');
    expect(release.code).toBe('ERR_INVALID_STATE');
    expect(release.message).toBe(`Cannot release an RLock owned by thread ${threadId} from thread ${release.threadId}`);
    expect(rlock.locked()).toBe(true);
    rlock.release();
    const taken = await callInWorker(rlock, 'acquireSync', [{ blocking: false }]);
    expect(taken.value).toBe(true);
    // The worker exited holding it: it stays its owner until the next acquirer takes it over.
    expect(rlock.ownerThreadId).toBe(taken.threadId);
    expect(() => rlock.release()).toThrow(invalidState);
  });

  it('returns false when the timeout passes', async () => {
    const rlock = new RLock();
    // A live holder: a holder that exited would hand the lock on (robust locks, below).
    const holder = startTsWorker(`${__dirname}/../fixtures/sync-hold.ts`, encode({ lock: rlock }).value);
    try {
      expect(await new Promise((resolve) => holder.once('message', resolve))).toBe('held');
      expect(rlock.acquireSync({ timeout: 0 })).toBe(false);
      expect(rlock.acquireSync({ timeout: 20 })).toBe(false);
      expect(await rlock.acquire({ timeout: 20 })).toBe(false);
      expect(await rlock.acquire({ blocking: false })).toBe(false);
    } finally {
      await holder.terminate();
    }
  });

  it('treats async callers on one thread as one owner (per-thread ownership, as in Python)', async () => {
    const rlock = new RLock();
    const order: string[] = [];
    await rlock.withLock(async () => {
      order.push('outer in');
      await Promise.all([
        rlock.withLock(async () => {
          order.push('inner in');
          await new Promise((resolve) => setTimeout(resolve, 1));
          order.push('inner out');
        }),
      ]);
      order.push('outer out');
    });
    expect(order).toEqual(['outer in', 'inner in', 'inner out', 'outer out']);
    expect(rlock.locked()).toBe(false);
  });

  it('withLock releases on throw and validates fn', async () => {
    const rlock = new RLock();
    await expect(
      rlock.withLock(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(rlock.locked()).toBe(false);
    await expect(rlock.withLock(null as unknown as () => void)).rejects.toEqual(invalidArg);
    expect(await rlock.withLock(() => 'x')).toBe('x');
  });

  it('refuses a recursion deeper than 2³¹−1 (ERR_INVALID_STATE)', async () => {
    const rlock = new RLock();
    rlock.acquireSync();
    // Word 2 holds the levels beyond the first: 2³¹−2 of them makes the depth 2³¹−1.
    const EXTRA_WORD = 2;
    Atomics.store(new Int32Array(rlock.buffer), EXTRA_WORD, 2 ** 31 - 2);
    expect(() => rlock.acquireSync()).toThrow(invalidState);
    await expect(rlock.acquire()).rejects.toEqual(invalidState);
    Atomics.store(new Int32Array(rlock.buffer), EXTRA_WORD, 0);
    rlock.release();
    expect(rlock.locked()).toBe(false);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    const rlock = new RLock();
    expect(() => rlock.acquireSync({ timeout: NaN })).toThrow(invalidArg);
    expect(() => rlock.acquireSync({ blocking: 'no' as unknown as boolean })).toThrow(invalidArg);
    expect(() => rlock.acquireSync({ blocking: false, timeout: 0 })).toThrow(invalidArg);
    await expect(rlock.acquire('x' as unknown as object)).rejects.toEqual(invalidArg);
    expect(rlock.locked()).toBe(false);
  });

  it('attaches by (buffer, byteOffset), checks the tag, crosses the codec', () => {
    const buffer = new SharedArrayBuffer(RLock.SIZE + 8);
    const rlock = new RLock({ buffer, byteOffset: 8 });
    const same = RLock.attach(buffer, 8);
    rlock.acquireSync();
    expect(same.ownerThreadId).toBe(threadId);
    same.release();
    expect(rlock.locked()).toBe(false);
    expect(() => RLock.attach(new Lock().buffer)).toThrow(invalidArg);
    expect(() => RLock.attach(buffer, 0)).toThrow(invalidArg);
    const revived = decode(structuredClone(encode([rlock]).value))[0]!;
    expect(revived).toBeInstanceOf(RLock);
    revived.acquireSync();
    expect(rlock.ownerThreadId).toBe(threadId);
    rlock.release();
  });

  it(`2 workers × ${ITERATIONS} nested (depth 2) locked increments = exactly ${2 * ITERATIONS}, ${ROUNDS} times`, async () => {
    const rlock = new RLock();
    const counter = new SharedArrayBuffer(8);
    const cell = new Int32Array(counter);
    const workers = await counterWorkers(rlock, counter, { count: 2, iterations: ITERATIONS, nested: true });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        cell[0] = 0;
        await workers.round();
        expect(cell[0]).toBe(2 * ITERATIONS);
        expect(rlock.locked()).toBe(false);
      }
    } finally {
      await workers.close();
    }
  });

  it('a worker (sync) and the main thread (async) exclude each other', async () => {
    const rlock = new RLock();
    const counter = new SharedArrayBuffer(8);
    const cell = new Int32Array(counter);
    const workers = await counterWorkers(rlock, counter, { count: 1, iterations: 20_000, nested: true });
    try {
      for (let round = 0; round < 5; round++) {
        cell[0] = 0;
        const worker = workers.round();
        for (let i = 0; i < 2_000; i++) {
          await rlock.withLock(async () => {
            const seen = cell[0]!;
            await Promise.resolve();
            cell[0] = seen + 1;
          });
        }
        await worker;
        expect(cell[0]).toBe(22_000);
      }
    } finally {
      await workers.close();
    }
  });
});

describe('RLock: async ownership per call chain', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('100 concurrent withLock(async read, await, write) on one thread give exactly 100, 10 times', async () => {
    for (let round = 0; round < 10; round++) {
      const rlock = new RLock();
      const cell = { value: 0 };
      await Promise.all(
        Array.from({ length: 100 }, () =>
          rlock.withLock(async () => {
            const seen = cell.value;
            await tick();
            cell.value = seen + 1;
          }),
        ),
      );
      expect(cell.value).toBe(100);
      expect(rlock.locked()).toBe(false);
    }
  });

  it("a Value's default lock (an RLock) excludes async callers of the main thread", async () => {
    const counter = Value('i', 0);
    await Promise.all(
      Array.from({ length: 100 }, () =>
        counter.getLock().withLock(async () => {
          const seen = counter.value;
          await tick();
          counter.value = seen + 1;
        }),
      ),
    );
    expect(counter.value).toBe(100);
  });

  it('recursion within one chain still works, across awaits and nested helpers', async () => {
    const rlock = new RLock();
    const helper = () =>
      rlock.withLock(async () => {
        await tick();
        return 'inner';
      });
    const result = await rlock.withLock(async () => {
      await tick();
      const first = await helper();
      expect(await rlock.acquire({ blocking: false })).toBe(true); // same chain: one level deeper
      rlock.release();
      const both = await Promise.all([helper(), helper()]); // forks of one chain hold it together
      return [first, ...both];
    });
    expect(result).toEqual(['inner', 'inner', 'inner']);
    expect(rlock.locked()).toBe(false);
  });

  it('bare acquire() calls of different async functions exclude each other; release() by the thread frees it', async () => {
    const rlock = new RLock();
    const cell = { value: 0 };
    const step = async () => {
      await rlock.acquire();
      try {
        const seen = cell.value;
        await tick();
        cell.value = seen + 1;
      } finally {
        rlock.release();
      }
    };
    await Promise.all(Array.from({ length: 50 }, step));
    expect(cell.value).toBe(50);
    // Another chain of this thread does not get in while one holds it; a timeout still applies.
    await rlock.acquire();
    expect(await rlock.acquire({ timeout: 20 })).toBe(false);
    expect(await rlock.acquire({ timeout: -1 })).toBe(false);
    rlock.release();
    expect(rlock.locked()).toBe(false);
  });

  it('the …Sync forms own per thread: a lock taken with acquireSync is re-entered by every chain of the thread', async () => {
    const rlock = new RLock();
    rlock.acquireSync();
    expect(await rlock.acquire({ blocking: false })).toBe(true);
    expect(await rlock.withLock(() => 'in')).toBe('in');
    let inner = false;
    await rlock.withLock(() => {
      inner = rlock.acquireSync({ blocking: false });
      rlock.release();
    });
    expect(inner).toBe(true);
    rlock.release();
    rlock.release();
    expect(rlock.locked()).toBe(false);
  });
});

describe('RLock: robust against a holder that dies', () => {
  it('a worker that exits holding it: the next acquirer gets it and ownerDied says so', async () => {
    const rlock = new RLock();
    const taken = await callInWorker(rlock, 'acquireSync', [], { repeat: 2 });
    expect(taken.value).toBe(true);
    expect(rlock.ownerThreadId).toBe(taken.threadId);
    expect(await rlock.acquire({ timeout: 10_000 })).toBe(true);
    expect(rlock.ownerDied).toBe(true);
    expect(rlock.ownerThreadId).toBe(threadId);
    rlock.release(); // depth 1: the dead thread's two levels are gone with it
    expect(rlock.locked()).toBe(false);
    expect(rlock.ownerDied).toBe(false);
    expect(rlock.acquireSync({ blocking: false })).toBe(true);
    expect(rlock.ownerDied).toBe(false);
    rlock.release();
  });

  it('acquireSync in another worker takes over from a terminated holder', async () => {
    const rlock = new RLock();
    const holder = startTsWorker(`${__dirname}/../fixtures/sync-hold.ts`, encode({ lock: rlock }).value);
    try {
      expect(await new Promise((resolve) => holder.once('message', resolve))).toBe('held');
    } finally {
      await holder.terminate();
    }
    const taker = await callInWorker(rlock, 'acquireSync', [{ timeout: 10_000 }]);
    expect(taker.value).toBe(true);
    expect(rlock.ownerThreadId).toBe(taker.threadId);
    expect(rlock.ownerDied).toBe(true);
  });
});
