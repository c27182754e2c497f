import { spawnSync } from 'node:child_process';
import { decode, encode } from '../../lib/codec/codec';
import { Lock } from '../../lib/sync/lock';
import { RLock } from '../../lib/sync/rlock';
import { exited, startTsWorker } from '../helpers/worker';
import { counterWorkers } from './counter-workers';

const ROUNDS = 20;
const ITERATIONS = 100_000;

describe('Lock', () => {
  it('acquires, reports locked(), and releases', async () => {
    const lock = new Lock();
    expect(lock.locked()).toBe(false);
    expect(await lock.acquire()).toBe(true);
    expect(lock.locked()).toBe(true);
    lock.release();
    expect(lock.locked()).toBe(false);
    expect(lock.acquireSync()).toBe(true);
    expect(lock.locked()).toBe(true);
    lock.release();
  });

  it('is not recursive: a second non-blocking acquire fails', async () => {
    const lock = new Lock();
    expect(lock.acquireSync()).toBe(true);
    expect(lock.acquireSync({ blocking: false })).toBe(false);
    expect(await lock.acquire({ blocking: false })).toBe(false);
    lock.release();
    expect(lock.acquireSync({ blocking: false })).toBe(true);
    lock.release();
  });

  it('returns false when the timeout passes (sync and async)', async () => {
    const lock = new Lock();
    lock.acquireSync();
    expect(lock.acquireSync({ timeout: 0 })).toBe(false);
    expect(lock.acquireSync({ timeout: 20 })).toBe(false);
    expect(await lock.acquire({ timeout: 0 })).toBe(false);
    expect(await lock.acquire({ timeout: 20 })).toBe(false);
    expect(lock.locked()).toBe(true);
    lock.release();
    expect(await lock.acquire({ timeout: 20 })).toBe(true);
    lock.release();
  });

  it('wakes an async waiter when the holder releases', async () => {
    const lock = new Lock();
    lock.acquireSync();
    let acquired = false;
    const waiter = lock.acquire().then((value) => (acquired = value));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(acquired).toBe(false);
    lock.release();
    expect(await waiter).toBe(true);
    expect(lock.locked()).toBe(true);
    lock.release();
  });

  it('releasing an unlocked lock is ERR_INVALID_STATE', () => {
    const lock = new Lock();
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    lock.acquireSync();
    lock.release();
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });

  it('may be released by another thread', async () => {
    const lock = new Lock();
    lock.acquireSync();
    const worker = startTsWorker(`${__dirname}/../fixtures/sync-release.ts`, encode({ lock }).value);
    expect(await exited(worker)).toBe(0);
    expect(lock.locked()).toBe(false);
  });

  it('withLock runs sync and async functions and releases on throw', async () => {
    const lock = new Lock();
    expect(await lock.withLock(() => 41 + 1)).toBe(42);
    expect(lock.locked()).toBe(false);
    expect(
      await lock.withLock(async () => {
        expect(lock.locked()).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return 'done';
      }),
    ).toBe('done');
    await expect(
      lock.withLock(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(lock.locked()).toBe(false);
    await expect(lock.withLock(async () => Promise.reject(new Error('late boom')))).rejects.toThrow('late boom');
    expect(lock.locked()).toBe(false);
  });

  it('types withLock by what fn returns (type test: checked by tsc)', async () => {
    const lock = new Lock();
    const sync: number = await lock.withLock(() => 1);
    const async: string = await lock.withLock(async () => 'x');
    const acquired: Promise<boolean> = lock.acquire();
    expect([sync, async, await acquired]).toEqual([1, 'x', true]);
    lock.release();
  });

  it('excludes async callers of one thread from each other', async () => {
    const lock = new Lock();
    const cell = { value: 0 };
    const step = () =>
      lock.withLock(async () => {
        const seen = cell.value;
        await new Promise((resolve) => setImmediate(resolve));
        cell.value = seen + 1;
      });
    await Promise.all(Array.from({ length: 50 }, step));
    expect(cell.value).toBe(50);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    const lock = new Lock();
    const bad = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
    expect(() => lock.acquireSync({ timeout: NaN })).toThrow(bad);
    expect(() => lock.acquireSync({ timeout: Number.NaN })).toThrow(bad);
    expect(() => lock.acquireSync({ timeout: '5' as unknown as number })).toThrow(bad);
    expect(() => lock.acquireSync({ blocking: 1 as unknown as boolean })).toThrow(bad);
    expect(() => lock.acquireSync({ blocking: false, timeout: 5 })).toThrow(bad);
    expect(() => lock.acquireSync(42 as unknown as object)).toThrow(bad);
    await expect(lock.acquire({ timeout: NaN })).rejects.toEqual(bad);
    await expect(lock.acquire({ blocking: false, timeout: 1 })).rejects.toEqual(bad);
    await expect(lock.withLock(42 as unknown as () => void)).rejects.toEqual(bad);
    expect(lock.locked()).toBe(false);
    expect(() => lock.acquireSync({ timeout: NaN })).toThrow(
      'Expected `timeout` to be a number of milliseconds (≤ 0: do not wait; Infinity: no limit), got `NaN` (number)',
    );
  });

  it('lives at a byte offset of a larger buffer and can be attached there', () => {
    const buffer = new SharedArrayBuffer(64);
    const lock = new Lock({ buffer, byteOffset: 16 });
    expect(lock.buffer).toBe(buffer);
    expect(lock.byteOffset).toBe(16);
    const same = Lock.attach(buffer, 16);
    lock.acquireSync();
    expect(same.locked()).toBe(true);
    same.release();
    expect(lock.locked()).toBe(false);
    expect(Lock.SIZE).toBe(8);
  });

  it('refuses to attach to memory that holds no Lock (ERR_INVALID_ARG)', () => {
    const bad = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
    const rlock = new RLock();
    expect(() => Lock.attach(rlock.buffer, 0)).toThrow(bad);
    expect(() => Lock.attach(rlock.buffer, 0)).toThrow('found a RLock');
    expect(() => Lock.attach(new SharedArrayBuffer(8), 0)).toThrow(bad);
    expect(() => Lock.attach(new ArrayBuffer(8) as unknown as SharedArrayBuffer, 0)).toThrow(bad);
    const buffer = new SharedArrayBuffer(16);
    expect(() => Lock.attach(buffer, 2)).toThrow(bad);
    expect(() => Lock.attach(buffer, 12)).toThrow(bad);
    expect(() => Lock.attach(buffer, -4)).toThrow(bad);
    expect(() => new Lock({ buffer, byteOffset: 12 })).toThrow(bad);
    expect(() => new Lock({ byteOffset: 8 })).toThrow(bad);
  });

  it('crosses the codec as the same lock over the same memory', () => {
    const lock = new Lock();
    const encoded = encode({ nested: [lock] }, 'args');
    expect(encoded.shared).toBe(true);
    const revived = decode(structuredClone(encoded.value)).nested[0]!;
    expect(revived).toBeInstanceOf(Lock);
    expect(revived).not.toBe(lock);
    revived.acquireSync();
    expect(lock.locked()).toBe(true);
    lock.release();
    expect(revived.locked()).toBe(false);
  });

  it('keeps the process alive while an async acquire waits, and no longer', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const { Lock } = require(${JSON.stringify(require.resolve('../../lib/sync/lock'))});
      const lock = new Lock();
      lock.acquireSync();
      const worker = new Worker(
        "const { workerData } = require('node:worker_threads');" +
        "const words = new Int32Array(workerData.buffer);" +
        "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);" +
        "Atomics.store(words, 1, 0); Atomics.notify(words, 1);",
        { eval: true, workerData: { buffer: lock.buffer } });
      worker.unref();
      lock.acquire().then((ok) => console.log('acquired', ok));
    `;
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('acquired true');
    // ...and lets it exit by itself once the wait is over (not killed by the 30 s timeout).
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });

  it(`2 workers × ${ITERATIONS} locked increments of a plain counter = exactly ${2 * ITERATIONS}, ${ROUNDS} times`, async () => {
    const lock = new Lock();
    const counter = new SharedArrayBuffer(8);
    const cell = new Int32Array(counter);
    const workers = await counterWorkers(lock, counter, { count: 2, iterations: ITERATIONS });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        cell[0] = 0;
        await workers.round();
        expect(cell[0]).toBe(2 * ITERATIONS);
        expect(lock.locked()).toBe(false);
      }
    } finally {
      await workers.close();
    }
  });

  it('a worker (sync) and the main thread (async) exclude each other', async () => {
    const lock = new Lock();
    const counter = new SharedArrayBuffer(8);
    const cell = new Int32Array(counter);
    const workers = await counterWorkers(lock, counter, { count: 1, iterations: 20_000 });
    try {
      for (let round = 0; round < 5; round++) {
        cell[0] = 0;
        const worker = workers.round();
        for (let i = 0; i < 2_000; i++) {
          await lock.acquire();
          const seen = cell[0]!;
          await Promise.resolve();
          cell[0] = seen + 1;
          lock.release();
        }
        await worker;
        expect(cell[0]).toBe(22_000);
      }
    } finally {
      await workers.close();
    }
  });
});

describe('Lock: robust against a holder that dies', () => {
  it('a worker terminated while holding it: the next async acquire gets it, ownerDied says so until release', async () => {
    for (let round = 0; round < 3; round++) {
      const lock = new Lock();
      const holder = startTsWorker(`${__dirname}/../fixtures/sync-hold.ts`, encode({ lock }).value);
      try {
        expect(await new Promise((resolve) => holder.once('message', resolve))).toBe('held');
        expect(lock.locked()).toBe(true);
        expect(lock.ownerDied).toBe(false);
        const next = lock.acquire({ timeout: 10_000 });
        await holder.terminate();
        expect(await next).toBe(true);
        expect(lock.ownerDied).toBe(true);
        lock.release();
        expect(lock.ownerDied).toBe(false);
        expect(lock.locked()).toBe(false);
      } finally {
        await holder.terminate();
      }
    }
  });

  it('a worker that exits by itself holding it: acquireSync on this thread takes it over', async () => {
    const lock = new Lock();
    const worker = startTsWorker(
      `${__dirname}/../fixtures/sync-call.ts`,
      encode({ target: lock, method: 'acquireSync', args: [], awaitResult: false, repeat: 1 }).value,
    );
    expect(await exited(worker)).toBe(0);
    expect(lock.locked()).toBe(true);
    expect(lock.acquireSync({ timeout: 10_000 })).toBe(true);
    expect(lock.ownerDied).toBe(true);
    lock.release();
  });

  it('a live holder is never taken over: a waiter times out instead', async () => {
    const lock = new Lock();
    const holder = startTsWorker(`${__dirname}/../fixtures/sync-hold.ts`, encode({ lock }).value);
    try {
      expect(await new Promise((resolve) => holder.once('message', resolve))).toBe('held');
      expect(await lock.acquire({ timeout: 300 })).toBe(false);
      expect(lock.acquireSync({ timeout: 250 })).toBe(false);
      expect(lock.ownerDied).toBe(false);
    } finally {
      await holder.terminate();
    }
  });
});

describe('Lock: timeouts and arguments as API.md §8 says', () => {
  it('negative timeouts mean "do not wait"; a timeout past 2^31 ms is honoured (not fired early)', async () => {
    const lock = new Lock();
    lock.acquireSync();
    expect(lock.acquireSync({ timeout: -1 })).toBe(false);
    expect(await lock.acquire({ timeout: -1000 })).toBe(false);
    expect(lock.acquireSync({ blocking: false, timeout: -1 })).toBe(false); // Python's sentinel
    const long = lock.acquire({ timeout: 2 ** 31 + 10 });
    const longer = lock.acquire({ timeout: 2 ** 40 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    lock.release();
    expect(await long).toBe(true);
    lock.release();
    expect(await longer).toBe(true);
    lock.release();
  });

  it('junk arguments: the async forms reject, the sync forms throw, always ERR_INVALID_ARG', async () => {
    const bad = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const junkOptions: unknown[] = [
      'x',
      5,
      NaN,
      [],
      () => {},
      revoked.proxy,
      new Proxy({ timeout: 'x' }, {}),
      { timeout: NaN },
      { timeout: '1' },
      { timeout: {} },
      { timeout: new Proxy({}, {}) },
      { blocking: 'yes' },
      { blocking: 0 },
      { blocking: false, timeout: 5 },
      {
        get timeout() {
          throw new Error('getter');
        },
      },
    ];
    const lock = new Lock();
    for (const junk of junkOptions) {
      let thrown: unknown;
      let promise: Promise<boolean> | undefined;
      try {
        promise = lock.acquire(junk as object);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeUndefined();
      await expect(promise).rejects.toEqual(bad);
      expect(() => lock.acquireSync(junk as object)).toThrow(bad);
    }
    for (const junk of ['x', 5, null, {}, revoked.proxy]) {
      const promise = lock.withLock(junk as () => void);
      await expect(promise).rejects.toEqual(bad);
    }
    for (const junk of [
      'x',
      5,
      NaN,
      revoked.proxy,
      { buffer: 'x' },
      { buffer: new ArrayBuffer(8) },
      { buffer: new Proxy(new SharedArrayBuffer(8), {}) },
      { byteOffset: -4 },
      { buffer: new SharedArrayBuffer(8), byteOffset: 2 ** 40 },
      { buffer: new SharedArrayBuffer(8), byteOffset: NaN },
    ]) {
      expect(() => new Lock(junk as object)).toThrow(bad);
    }
    for (const [buffer, offset] of [
      ['x', 0],
      [revoked.proxy, 0],
      [new SharedArrayBuffer(8), 'x'],
      [new SharedArrayBuffer(8), -1],
      [new SharedArrayBuffer(8), 2 ** 53],
    ] as const) {
      expect(() => Lock.attach(buffer as SharedArrayBuffer, offset as number)).toThrow(bad);
    }
    expect(lock.locked()).toBe(false);
  });
});
