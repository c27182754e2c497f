// Pool and Executor with a remote backend: every call gives what a local Pool gives, on a real
// Redis with real worker processes; cancel and timeout, bounded imap, nothing left in Redis.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultChunksize, Executor, Pool, Value, tasks, transfer } from '../../lib';
import { redisBackend } from '../../lib/remote';
import { MIN_READ_AHEAD, READ_AHEAD_PER_THREAD } from '../../lib/remote/dispatcher';
import { describeRemote, keyFile, killAll, type RedisServer, ROOT, startRedis, startWorker, until } from './harness';

const TASKS = 'spec/fixtures/remote-tasks.ts';
const KEY = 'pool-spec-key';
const QUEUE = 'pool';
const remote = tasks<typeof import('../fixtures/remote-tasks')>(path.join(ROOT, TASKS));

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterator) values.push(value);
  return values;
}

describeRemote('Pool and Executor with redisBackend', () => {
  let redis: RedisServer;
  let local: Pool;
  let backend: ReturnType<typeof redisBackend>;
  const pools: Pool[] = [];

  async function remotePool(): Promise<Pool> {
    const pool = new Pool({ backend });
    pools.push(pool);
    await until(() => pool.workers === 4, 'two workers of two threads');
    return pool;
  }

  async function keysLeft(): Promise<string[]> {
    const client = redis.client();
    try {
      const keys = await client.keys('*');
      return keys.filter((key) => !/:(meta|stalled-check|pp:workers|pp:workerinfo)$/.test(key)).sort();
    } finally {
      client.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await startRedis();
    const authkeyFile = keyFile(KEY);
    backend = redisBackend({ connection: redis.url, queue: QUEUE, root: ROOT, authkey: KEY, backendTimeout: 5000 });
    local = new Pool({ workers: 2 });
    await Promise.all([1, 2].map(() => startWorker({ redis: redis.url, queue: QUEUE, tasks: [TASKS], authkeyFile })));
  }, 60000);

  afterAll(async () => {
    await Promise.all([local, ...pools].map((pool) => pool.terminate()));
    await killAll();
  });

  it('map, starmap, imap, imapUnordered, apply, applyAsync, mapAsync: the same results as a local Pool', async () => {
    const pool = await remotePool();
    const items = Array.from({ length: 200 }, (_, i) => i);
    const tuples = items.map((i): [number, number] => [i, 2 * i]);
    expect(await pool.map(remote.square, items)).toEqual(await local.map(remote.square, items));
    expect(await pool.map(remote.square, items, { chunksize: 7 })).toEqual(await local.map(remote.square, items, { chunksize: 7 }));
    expect(await pool.starmap(remote.add, tuples)).toEqual(await local.starmap(remote.add, tuples));
    expect(await collect(pool.imap(remote.square, items))).toEqual(await collect(local.imap(remote.square, items)));
    const unordered = await collect(pool.imapUnordered(remote.square, items, { chunksize: 10 }));
    expect(unordered.sort((a, b) => a - b)).toEqual(items.map((i) => i * i));
    expect(await pool.apply(remote.add, [2, 3])).toBe(5);
    const plain = [new Map([['a', new Set([1n])]]), new Date(0), new Uint16Array([1, 2]), { nested: [null, undefined, -0] }];
    expect(await pool.apply(remote.describe, [plain])).toEqual(await local.apply(remote.describe, [plain]));
    // User data that holds the codec's descriptor key is escaped and crosses as plain data, both ways.
    const lookalike = [{ __parapool_shared__: 'user data', n: 1 }];
    expect(await pool.apply(remote.describe, [lookalike])).toEqual(await local.apply(remote.describe, [lookalike]));
    expect(await pool.map(remote.describe, lookalike)).toEqual(await local.map(remote.describe, lookalike));
    let called: number | undefined;
    const async = pool.applyAsync(remote.add, [4, 5], { callback: (value) => (called = value) });
    expect(await async.get({ timeout: 15000 })).toBe(9);
    expect(called).toBe(9);
    expect(await pool.mapAsync(remote.square, [1, 2, 3])).toEqual([1, 4, 9]);
    pool.close();
    await pool.join();
    expect(await keysLeft()).toEqual([]);
  });

  it('task errors arrive as local ones do: class, code, data, stack; what cannot be sent is refused', async () => {
    const pool = await remotePool();
    const failing = [1, 2, 3, 4, 5].map((n): [number, number] => [n, 4]);
    const error = await pool.starmap(remote.failAt, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ message: 'bad item 4', code: 'E_BAD_ITEM', item: 4 });
    expect((error as Error).stack).toContain('remote-tasks.ts');
    await expect(pool.apply((x: number) => x, [1])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(pool.apply(remote.describe, [transfer(new Uint8Array(2))])).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
    await expect(pool.apply(remote.describe, [Value('i', 1)])).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
    await pool.terminate();
  });

  it('a task error that holds a shared object keeps its class, code and stack (the property described); a shared result is ERR_UNCLONEABLE', async () => {
    const pool = await remotePool();
    for (const call of [pool.apply(remote.failWithShared, []), pool.map(remote.failWithShared, [1, 2, 3])]) {
      const error = (await call.catch((e: unknown) => e)) as TypeError & { counter: unknown };
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ message: 'failed with a counter', code: 'E_SHARED', plain: [1, 2] });
      expect(error.counter).toEqual(expect.stringContaining('cannot be sent to another machine'));
      expect(error.stack).toContain('remote-tasks.ts');
    }
    for (const call of [pool.apply(remote.returnShared, []), pool.map(remote.returnShared, [1, 2])]) {
      await expect(call).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE', message: expect.stringContaining('shared object') });
    }
    await pool.terminate();
  });

  it('map without a chunksize sizes remote chunks by measurement: one item first, never above Python’s default', async () => {
    const pool = await remotePool();
    const items = Array.from({ length: 400 }, (_, i) => i);
    const progress: number[] = [];
    expect(await pool.map(remote.square, items, { onProgress: (done) => progress.push(done) })).toEqual(items.map((i) => i * i));
    const sizes = progress.map((done, i) => done - (progress[i - 1] ?? 0));
    expect(sizes[0]).toBe(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(defaultChunksize(items.length, pool.workers));
    expect(progress.at(-1)).toBe(items.length);
    pool.close();
    await pool.join();
  });

  it('Executor.submit and Executor.map, the same as locally', async () => {
    await using executor = new Executor({ backend });
    await until(() => executor.maxWorkers === 4, 'the remote threads');
    const future = executor.submit(remote.add, 20, 22);
    expect(await future.result({ timeout: 15000 })).toBe(42);
    expect(future.done()).toBe(true);
    expect(await collect(executor.map(remote.add, [1, 2, 3], [10, 20, 30]))).toEqual([11, 22, 33]);
    // Executor.map yields the results before a failure, then throws it.
    const seen: number[] = [];
    const error = await (async () => {
      for await (const value of executor.map(remote.failAt, [1, 2, 3, 4, 5], [4, 4, 4, 4, 4], { chunksize: 2 })) seen.push(value);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([1, 4, 9]);
    expect(error).toMatchObject({ name: 'RangeError', code: 'E_BAD_ITEM' });
  });

  it('imap over an infinite generator keeps the outstanding jobs bounded', async () => {
    const pool = await remotePool();
    let read = 0;
    function* naturals(): Generator<number> {
      for (let n = 0; ; n++) {
        read++;
        yield n;
      }
    }
    const seen: number[] = [];
    // The remote dispatcher keeps this many chunks ahead of the consumer (to cover the round trips), and no more.
    const bound = Math.max(MIN_READ_AHEAD, READ_AHEAD_PER_THREAD * pool.workers) + 1;
    let most = 0;
    for await (const value of pool.imap(remote.square, naturals(), { chunksize: 1 })) {
      seen.push(value);
      most = Math.max(most, read - seen.length);
      if (seen.length === 3 * bound) break;
    }
    expect(most).toBeLessThanOrEqual(bound);
    expect(seen).toEqual(Array.from({ length: 3 * bound }, (_, i) => i * i));
    pool.close();
    await pool.join();
    expect(await keysLeft()).toEqual([]);
  });

  it('abort and timeout remove queued chunks and stop running ones; nothing is left in Redis', async () => {
    const pool = await remotePool();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-never-')), 'never');
    const controller = new AbortController();
    const files = Array.from({ length: 12 }, () => marker);
    let started = 0;
    const aborted = pool.map(remote.waitForFile, files, { chunksize: 1, signal: controller.signal, onProgress: () => started++ });
    // The threads run four of them; the others wait in Redis or in a worker's hands (a worker prefetches
    // jobs after short ones). Wait until the workers hold at least the four that the threads run.
    const client = redis.client();
    await until(async () => {
      const [active, waiting] = await Promise.all([client.llen(`bull:${QUEUE}:active`), client.llen(`bull:${QUEUE}:wait`)]);
      return active >= 4 && active + waiting === files.length;
    }, 'four running chunks');
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    const timedOut = pool.map(remote.waitForFile, files, { chunksize: 1, timeout: 300 });
    await expect(timedOut).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    // The running chunks were stopped: the threads serve the next call.
    expect(await pool.map(remote.square, [1, 2, 3, 4, 5])).toEqual([1, 4, 9, 16, 25]);
    expect(started).toBe(0);
    pool.close();
    await pool.join();
    await until(async () => (await client.llen(`bull:${QUEUE}:active`)) === 0, 'no active job');
    client.disconnect();
    expect(await keysLeft()).toEqual([]);
  });

  it('refuses the workers’ options with a backend (ERR_INVALID_ARG)', () => {
    expect(() => new Pool({ backend, maxTasksPerChild: 2 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => new Pool({ backend, initializer: remote.square })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => new Pool({ backend, idleTimeout: 10 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => new Pool({ backend, resourceLimits: {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => redisBackend({ connection: redis.url, queue: 'a:b', root: ROOT, authkey: KEY })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});
