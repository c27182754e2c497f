import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { Condition } from '../../lib/sync/condition';
import { Lock } from '../../lib/sync/lock';
import { RLock } from '../../lib/sync/rlock';
import { startTsWorker } from '../helpers/worker';

const invalidState = expect.objectContaining({ code: 'ERR_INVALID_STATE' });
const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });

/** Workers running spec/fixtures/sync-condition.ts over `cond` and a 2-word `cell`. */
function conditionWorkers(cond: Condition, count: number) {
  const buffer = new SharedArrayBuffer(8);
  const cell = new Int32Array(buffer);
  const data = encode({ cond, cell: buffer }).value;
  const workers: Worker[] = Array.from({ length: count }, () => startTsWorker(`${__dirname}/../fixtures/sync-condition.ts`, data));
  const send = (worker: Worker, message: object) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (value) => {
        worker.off('error', reject);
        resolve(value);
      });
      worker.postMessage(message);
    });
  /** Resolves once `n` waits have been entered in all (each worker counts holding the lock). */
  const entered = async (n: number) => {
    while (!(await cond.withLock(() => cell[1] === n))) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  const close = () => Promise.all(workers.map((worker) => worker.terminate()));
  return { cell, workers, send, entered, close };
}

describe('Condition', () => {
  it('wait() returns false on timeout and holds the lock again (sync and async)', async () => {
    const cond = new Condition();
    await cond.acquire();
    expect(await cond.wait({ timeout: 10 })).toBe(false);
    expect(cond.locked()).toBe(true);
    expect(cond.waitSync({ timeout: 10 })).toBe(false);
    expect(cond.waitSync({ timeout: 0 })).toBe(false);
    cond.release();
    expect(cond.locked()).toBe(false);
  });

  it('wait() restores every level of an RLock', async () => {
    const rlock = new RLock();
    const cond = new Condition(rlock);
    rlock.acquireSync();
    rlock.acquireSync();
    expect(cond.waitSync({ timeout: 5 })).toBe(false);
    expect(await cond.wait({ timeout: 5 })).toBe(false);
    rlock.release();
    expect(rlock.locked()).toBe(true);
    rlock.release();
    expect(rlock.locked()).toBe(false);
  });

  it('works over a plain Lock too', async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    expect(cond.lock).toBe(lock);
    await cond.withLock(async () => {
      expect(await cond.wait({ timeout: 5 })).toBe(false);
      expect(lock.locked()).toBe(true);
    });
    expect(lock.locked()).toBe(false);
  });

  it('wait() returns true when notified from another thread (CPython test_wait_result)', async () => {
    const cond = new Condition();
    const side = conditionWorkers(cond, 1);
    try {
      const result = side.send(side.workers[0]!, { op: 'wait', timeout: 60_000 });
      await side.entered(1);
      await cond.withLock(() => cond.notify());
      expect(await result).toBe(true);
      const timedOut = side.send(side.workers[0]!, { op: 'wait', timeout: 10 });
      expect(await timedOut).toBe(false);
    } finally {
      await side.close();
    }
  });

  it('an async waiter on the main thread is woken by a notify from a worker, 20 times', async () => {
    const cond = new Condition();
    const side = conditionWorkers(cond, 1);
    try {
      for (let round = 0; round < 20; round++) {
        await cond.acquire();
        const ours = cond.wait();
        expect(cond.locked()).toBe(false);
        expect(await side.send(side.workers[0]!, { op: 'notify' })).toBe(true);
        expect(await ours).toBe(true);
        expect((cond.lock as RLock).ownerThreadId).toBe(0);
        cond.release();
      }
    } finally {
      await side.close();
    }
  });

  it('notify(n) and notifyAll() wake enough waiters, never losing one (CPython test_notify / _n / _all)', async () => {
    const cond = new Condition();
    const side = conditionWorkers(cond, 3);
    try {
      for (let round = 1; round <= 5; round++) {
        const woken = side.workers.map((worker) => side.send(worker, { op: 'ticket' }));
        let done = 0;
        for (const promise of woken) void promise.then(() => (done += 1));
        await side.entered(3 * round);
        await cond.withLock(() => {
          side.cell[0] = 1;
          cond.notify();
        });
        while (done < 1) await new Promise((resolve) => setTimeout(resolve, 1));
        await cond.withLock(() => {
          side.cell[0]! += 2;
          cond.notify(2);
        });
        await Promise.all(woken);
        expect(done).toBe(3);
        expect(side.cell[0]).toBe(0);
      }
      const all = side.workers.map((worker) => side.send(worker, { op: 'ticket' }));
      await side.entered(18);
      await cond.withLock(() => {
        side.cell[0] = 3;
        cond.notifyAll();
      });
      expect(await Promise.all(all)).toEqual([true, true, true]);
    } finally {
      await side.close();
    }
  });

  it('waitFor() returns the predicate value; timeout counts across wake-ups (CPython test_waitfor_timeout)', async () => {
    const cond = new Condition();
    let calls = 0;
    const timer = setInterval(() => void cond.withLock(() => cond.notifyAll()), 2);
    try {
      await cond.acquire();
      const result = await cond.waitFor(
        () => {
          calls += 1;
          return calls > 1_000_000 ? 'never' : 0;
        },
        { timeout: 40 },
      );
      expect(result).toBe(0);
      expect(calls).toBeGreaterThan(1);
      expect(cond.locked()).toBe(true);
      expect(await cond.waitFor(async () => 'yes')).toBe('yes');
      expect(cond.waitForSync(() => 7)).toBe(7);
      expect(cond.waitForSync(() => null, { timeout: 5 })).toBe(null);
      cond.release();
    } finally {
      clearInterval(timer);
    }
  });

  it('waiting or notifying without the lock is ERR_INVALID_STATE', async () => {
    const cond = new Condition();
    await expect(cond.wait()).rejects.toEqual(invalidState);
    expect(() => cond.waitSync()).toThrow(invalidState);
    await expect(cond.waitFor(() => true)).rejects.toEqual(invalidState);
    expect(() => cond.waitForSync(() => true)).toThrow(invalidState);
    expect(() => cond.notify()).toThrow(invalidState);
    expect(() => cond.notifyAll()).toThrow(invalidState);
    expect(() => cond.release()).toThrow(invalidState);
    expect(() => cond.waitSync()).toThrow('Cannot wait on an un-acquired lock');
    const lockCond = new Condition(new Lock());
    expect(() => lockCond.waitSync({ timeout: 1 })).toThrow(invalidState);
    expect(() => lockCond.notify()).toThrow(invalidState);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    expect(() => new Condition({} as Lock)).toThrow(invalidArg);
    expect(() => new Condition('lock' as unknown as Lock)).toThrow('Expected `lock` to be a Lock or an RLock');
    const cond = new Condition();
    await cond.acquire();
    try {
      expect(() => cond.notify(-1)).toThrow(invalidArg);
      expect(() => cond.notify(1.5)).toThrow(invalidArg);
      expect(() => cond.waitSync({ timeout: NaN })).toThrow(invalidArg);
      await expect(cond.wait({ timeout: 'x' as unknown as number })).rejects.toEqual(invalidArg);
      await expect(cond.waitFor(5 as unknown as () => boolean)).rejects.toEqual(invalidArg);
      expect(() => cond.waitForSync(5 as unknown as () => boolean)).toThrow(invalidArg);
      cond.notify(0);
      expect(cond.locked()).toBe(true);
    } finally {
      cond.release();
    }
    expect(() => Condition.attach(cond.buffer, 0, {} as Lock)).toThrow(invalidArg);
    expect(() => Condition.attach(new Lock().buffer, 0, new Lock())).toThrow(invalidArg);
  });

  it('crosses the codec with its lock', () => {
    const cond = new Condition(new Lock());
    const revived = decode(structuredClone(encode({ cond }).value)).cond;
    expect(revived).toBeInstanceOf(Condition);
    expect(revived.lock).toBeInstanceOf(Lock);
    revived.acquireSync();
    expect(cond.locked()).toBe(true);
    cond.release();
    const same = Condition.attach(cond.buffer, cond.byteOffset, cond.lock);
    expect(same.lock).toBe(cond.lock);
  });

  for (const [name, makeLock] of [
    ['RLock', () => new RLock()],
    ['Lock', () => new Lock()],
  ] as const) {
    it(`ping-pong of 20,000 hand-offs between a worker (sync) and the main thread (async) over a ${name}`, async () => {
      const cond = new Condition(makeLock());
      const side = conditionWorkers(cond, 1);
      const total = 20_000;
      try {
        const worker = side.send(side.workers[0]!, { op: 'pong', total });
        for (;;) {
          await cond.acquire();
          try {
            while (side.cell[0]! % 2 === 1 && side.cell[0]! < total) await cond.wait();
            if (side.cell[0]! >= total) break;
            side.cell[0]! += 1;
            cond.notify();
          } finally {
            cond.release();
          }
        }
        expect(await worker).toBe(true);
        expect(side.cell[0]).toBe(total);
      } finally {
        await side.close();
      }
    });
  }
});

describe('Condition.notify(n) wakes exactly min(n, waiting) of the waits in progress', () => {
  it('2 waiting workers, notify(1): exactly one wait returns true, the other times out (CPython test_notify), 12 runs', async () => {
    const cond = new Condition();
    const side = conditionWorkers(cond, 2);
    try {
      for (let run = 1; run <= 12; run++) {
        const results = side.workers.map((worker) => side.send(worker, { op: 'wait', timeout: 400 }));
        await side.entered(2 * run);
        await cond.withLock(() => cond.notify(1));
        expect((await Promise.all(results)).sort()).toEqual([false, true]);
      }
    } finally {
      await side.close();
    }
  });

  it('async waiters on one thread: notify(n) for n = 0..4 over 3 waiters, and a later waiter is not woken, 30 runs', async () => {
    for (let run = 0; run < 30; run++) {
      const n = run % 5;
      const cond = new Condition();
      let entered = 0;
      const waits = Array.from({ length: 3 }, () =>
        cond.withLock(() => {
          entered += 1;
          return cond.wait({ timeout: 150 });
        }),
      );
      while (entered < 3) await new Promise((resolve) => setImmediate(resolve));
      await cond.withLock(() => cond.notify(n));
      const late = cond.withLock(() => cond.wait({ timeout: 50 }));
      const woken = (await Promise.all(waits)).filter(Boolean).length;
      expect(woken).toBe(Math.min(n, 3));
      expect(await late).toBe(false);
    }
  });

  it('notify(n) with n ≥ waiters and notifyAll() wake every wait in progress', async () => {
    const cond = new Condition();
    let entered = 0;
    const waits = Array.from({ length: 4 }, () =>
      cond.withLock(() => {
        entered += 1;
        return cond.wait({ timeout: 10_000 });
      }),
    );
    while (entered < 4) await new Promise((resolve) => setImmediate(resolve));
    await cond.withLock(() => cond.notify(2));
    await cond.withLock(() => cond.notify(Number.POSITIVE_INFINITY));
    expect(await Promise.all(waits)).toEqual([true, true, true, true]);
    const more = Array.from({ length: 2 }, () =>
      cond.withLock(() => {
        entered += 1;
        return cond.wait({ timeout: 10_000 });
      }),
    );
    while (entered < 6) await new Promise((resolve) => setImmediate(resolve));
    await cond.withLock(() => cond.notifyAll());
    expect(await Promise.all(more)).toEqual([true, true]);
  });

  it('junk arguments: async forms reject, sync forms throw (ERR_INVALID_ARG)', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    for (const junk of ['x', NaN, revoked.proxy, new Proxy(new Lock(), {}), 5]) {
      expect(() => new Condition(junk as Lock)).toThrow(invalidArg);
    }
    const cond = new Condition();
    await cond.acquire();
    try {
      for (const junk of ['x', NaN, -1, 1.5, revoked.proxy, {}]) expect(() => cond.notify(junk as number)).toThrow(invalidArg);
      for (const junk of ['x', revoked.proxy, { timeout: 'x' }, { timeout: revoked.proxy }]) {
        await expect(cond.wait(junk as object)).rejects.toEqual(invalidArg);
        expect(() => cond.waitSync(junk as object)).toThrow(invalidArg);
        await expect(cond.waitFor(() => true, junk as object)).rejects.toEqual(invalidArg);
      }
      await expect(cond.waitFor(revoked.proxy as () => boolean)).rejects.toEqual(invalidArg);
      expect(await cond.wait({ timeout: -5 })).toBe(false);
      expect(cond.waitSync({ timeout: -5 })).toBe(false);
    } finally {
      cond.release();
    }
  });
});
