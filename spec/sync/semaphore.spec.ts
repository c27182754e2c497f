import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { BoundedSemaphore, Semaphore } from '../../lib/sync/semaphore';
import { startTsWorker } from '../helpers/worker';
import { callInWorker } from './call-in-worker';
import { counterWorkers } from './counter-workers';

const invalidState = expect.objectContaining({ code: 'ERR_INVALID_STATE' });
const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
const WAITERS_WORD = 2;

/** White-box: how many threads count themselves as waiting on `semaphore`. */
function waiters(semaphore: Semaphore): number {
  return Atomics.load(new Int32Array(semaphore.buffer, semaphore.byteOffset, 4), WAITERS_WORD);
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('Semaphore', () => {
  it('counts units (CPython _TestSemaphore.test_semaphore)', async () => {
    const sem = new Semaphore(2);
    expect(sem.getValue()).toBe(2);
    expect(sem.acquireSync()).toBe(true);
    expect(sem.getValue()).toBe(1);
    expect(await sem.acquire()).toBe(true);
    expect(sem.getValue()).toBe(0);
    expect(sem.locked()).toBe(true);
    expect(sem.acquireSync({ blocking: false })).toBe(false);
    expect(await sem.acquire({ blocking: false })).toBe(false);
    sem.release();
    expect(sem.getValue()).toBe(1);
    sem.release(2);
    expect(sem.getValue()).toBe(3);
    expect(new Semaphore().getValue()).toBe(1);
    expect(new Semaphore(0).getValue()).toBe(0);
  });

  it('returns false when the timeout passes (CPython test_timeout)', async () => {
    const sem = new Semaphore(0);
    expect(sem.acquireSync({ timeout: 0 })).toBe(false);
    expect(sem.acquireSync({ timeout: 20 })).toBe(false);
    expect(await sem.acquire({ timeout: 0 })).toBe(false);
    expect(await sem.acquire({ timeout: 20 })).toBe(false);
    expect(waiters(sem)).toBe(0);
    sem.release();
    expect(await sem.acquire({ timeout: 20 })).toBe(true);
  });

  it('wakes an async waiter on a release from another thread', async () => {
    const sem = new Semaphore(0);
    const waiter = sem.acquire();
    await until(() => waiters(sem) === 1);
    expect((await callInWorker(sem, 'release')).code).toBeUndefined();
    expect(await waiter).toBe(true);
    expect(sem.getValue()).toBe(0);
  });

  it('two waiting workers and two back-to-back releases: both wake, 20 times', async () => {
    const sem = new Semaphore(0);
    const data = encode({ semaphore: sem }).value;
    const workers: Worker[] = [
      startTsWorker(`${__dirname}/../fixtures/sync-semaphore-waiter.ts`, data),
      startTsWorker(`${__dirname}/../fixtures/sync-semaphore-waiter.ts`, data),
    ];
    try {
      for (let round = 0; round < 20; round++) {
        const acquired = workers.map((worker) => new Promise((resolve) => worker.once('message', resolve)));
        for (const worker of workers) worker.postMessage('go');
        await until(() => waiters(sem) === 2);
        sem.release();
        sem.release();
        expect(await Promise.all(acquired)).toEqual(['acquired', 'acquired']);
        expect(sem.getValue()).toBe(0);
      }
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });

  it('two async waiters and two back-to-back releases from a worker: both wake, 10 times', async () => {
    const sem = new Semaphore(0);
    for (let round = 0; round < 10; round++) {
      const both = Promise.all([sem.acquire(), sem.acquire()]);
      await until(() => waiters(sem) === 2);
      const outcome = await callInWorker(sem, 'release', [], { repeat: 2 });
      expect(outcome.code).toBeUndefined();
      expect(await both).toEqual([true, true]);
    }
  });

  it('as a mutex (value 1): 2 workers × 100,000 increments of a plain counter = exactly 200,000, 10 times', async () => {
    for (const sem of [new Semaphore(1), new BoundedSemaphore(1)]) {
      const counter = new SharedArrayBuffer(8);
      const cell = new Int32Array(counter);
      const workers = await counterWorkers(sem, counter, { count: 2, iterations: 100_000 });
      try {
        for (let round = 0; round < 10; round++) {
          cell[0] = 0;
          await workers.round();
          expect(cell[0]).toBe(200_000);
          expect(sem.getValue()).toBe(1);
          expect(waiters(sem)).toBe(0);
        }
      } finally {
        await workers.close();
      }
    }
  });

  it('withLock holds one unit and gives it back, also on throw', async () => {
    const sem = new Semaphore(2);
    expect(await sem.withLock(() => sem.getValue())).toBe(1);
    await expect(
      sem.withLock(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(sem.getValue()).toBe(2);
    await expect(sem.withLock(1 as unknown as () => void)).rejects.toEqual(invalidArg);
  });

  it('limits concurrency: never more than `value` holders at once', async () => {
    const sem = new Semaphore(3);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 30 }, () =>
        sem.withLock(async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside -= 1;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(sem.getValue()).toBe(3);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    expect(() => new Semaphore(-1)).toThrow(invalidArg);
    expect(() => new Semaphore(1.5)).toThrow(invalidArg);
    expect(() => new Semaphore('1' as unknown as number)).toThrow(invalidArg);
    expect(() => new Semaphore(2 ** 31)).toThrow(invalidArg);
    expect(() => new Semaphore(-1)).toThrow('Expected `value` to be an integer from 0 to 2147483647, got `-1` (number)');
    const sem = new Semaphore(1);
    expect(() => sem.release(0)).toThrow(invalidArg);
    expect(() => sem.release(-1)).toThrow(invalidArg);
    expect(() => sem.acquireSync({ timeout: NaN })).toThrow(invalidArg);
    expect(() => sem.acquireSync({ blocking: false, timeout: 1 })).toThrow(invalidArg);
    await expect(sem.acquire({ blocking: 'yes' as unknown as boolean })).rejects.toEqual(invalidArg);
    expect(sem.getValue()).toBe(1);
  });

  it('refuses to pass 2³¹−1 (ERR_INVALID_STATE)', () => {
    const sem = new Semaphore(2 ** 31 - 2);
    sem.release();
    expect(() => sem.release()).toThrow(invalidState);
    expect(sem.getValue()).toBe(2 ** 31 - 1);
  });

  it('attaches by (buffer, byteOffset), checks the tag, crosses the codec', async () => {
    const buffer = new SharedArrayBuffer(64);
    const sem = new Semaphore(5, { buffer, byteOffset: 32 });
    expect(Semaphore.attach(buffer, 32).getValue()).toBe(5);
    expect(() => Semaphore.attach(buffer, 0)).toThrow(invalidArg);
    expect(() => BoundedSemaphore.attach(buffer, 32)).toThrow(invalidArg);
    const revived = decode(structuredClone(encode({ sem }).value)).sem;
    expect(revived).toBeInstanceOf(Semaphore);
    revived.acquireSync();
    expect(sem.getValue()).toBe(4);
    expect((await callInWorker(sem, 'getValue')).value).toBe(4);
  });
});

describe('BoundedSemaphore', () => {
  it('refuses to be released above its initial value (ERR_INVALID_STATE)', async () => {
    const sem = new BoundedSemaphore(2);
    expect(() => sem.release()).toThrow(invalidState);
    expect(() => sem.release()).toThrow('BoundedSemaphore released too many times (its bound is 2)');
    sem.acquireSync();
    expect(() => sem.release(2)).toThrow(invalidState);
    sem.release();
    expect(sem.getValue()).toBe(2);
    expect(() => new BoundedSemaphore().release()).toThrow(invalidState);
  });

  it('keeps its bound across threads', async () => {
    const sem = new BoundedSemaphore(1);
    const outcome = await callInWorker(sem, 'release');
    expect(outcome.code).toBe('ERR_INVALID_STATE');
    const revived = decode(structuredClone(encode([sem]).value))[0]!;
    expect(revived).toBeInstanceOf(BoundedSemaphore);
    expect(() => revived.release()).toThrow(invalidState);
    expect(() => Semaphore.attach(sem.buffer)).toThrow(invalidArg);
  });
});

describe('Semaphore and BoundedSemaphore: arguments and timeouts as API.md §8 says', () => {
  it('junk arguments: async forms reject, sync forms and constructors throw (ERR_INVALID_ARG)', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    for (const junk of ['1', NaN, -1, 1.5, 2 ** 31, Number.POSITIVE_INFINITY, revoked.proxy, {}, null]) {
      expect(() => new Semaphore(junk as number)).toThrow(invalidArg);
      expect(() => new BoundedSemaphore(junk as number)).toThrow(invalidArg);
    }
    const sem = new Semaphore(1);
    for (const junk of ['x', revoked.proxy, { timeout: 'x' }, { timeout: revoked.proxy }, { blocking: 'no' }]) {
      await expect(sem.acquire(junk as object)).rejects.toEqual(invalidArg);
      expect(() => sem.acquireSync(junk as object)).toThrow(invalidArg);
    }
    for (const junk of ['1', NaN, 0, -1, 1.5, 2 ** 31, revoked.proxy]) expect(() => sem.release(junk as number)).toThrow(invalidArg);
    await expect(sem.withLock(revoked.proxy as () => void)).rejects.toEqual(invalidArg);
    expect(() => Semaphore.attach(revoked.proxy as SharedArrayBuffer)).toThrow(invalidArg);
    expect(sem.getValue()).toBe(1);
  });

  it('negative timeouts do not wait; a timeout past 2^31 ms is honoured', async () => {
    const sem = new Semaphore(0);
    expect(sem.acquireSync({ timeout: -1 })).toBe(false);
    expect(await sem.acquire({ timeout: -1 })).toBe(false);
    const long = sem.acquire({ timeout: 2 ** 31 + 10 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    sem.release();
    expect(await long).toBe(true);
    expect(waiters(sem)).toBe(0);
  });
});
