/**
 * Pipe and Connection: CPython's _TestConnection (echo, poll, EOF after the
 * peer closes, big messages, duplex=false), the seed's squares program with a
 * worker, moving ends between threads.
 */
import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import type { Connection } from '../../lib/ipc/connection';
import { Pipe } from '../../lib/ipc/pipe';
import { Queue } from '../../lib/ipc/queue';
import { Lock } from '../../lib/sync/lock';
import { exited, startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/ipc-pipe-worker.ts`;
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

function start(data: Record<string, unknown>): { worker: Worker; exit: Promise<number> } {
  const encoded = encode(data);
  const worker = startTsWorker(FIXTURE, encoded.value, { transferList: encoded.transferList });
  return { worker, exit: exited(worker) };
}

describe('Pipe', () => {
  it("runs the seed's squares program with the child end in a worker (3 rounds)", async () => {
    for (let round = 0; round < 3; round++) {
      const [parentConn, childConn] = Pipe<number | null>();
      const { worker, exit } = start({ mode: 'squares', conn: childConn });
      try {
        childConn.close(); // the parent's copy: it moved, so this does nothing
        expect(childConn.closed).toBe(true);
        const results: number[] = [];
        for (const n of [3, 7, 12, 25]) {
          parentConn.send(n);
          results.push((await parentConn.recv()) as number);
        }
        expect(results).toEqual([9, 49, 144, 625]);
        parentConn.send(null);
        expect(await exit).toBe(0);
        await expect(parentConn.recv()).rejects.toMatchObject({ code: 'ERR_EOF' });
        parentConn.close();
      } finally {
        await worker.terminate();
      }
    }
  });

  it('echoes 10,000 messages of every kind through a worker, then EOF both ways (CPython test_connection)', async () => {
    const [a, b] = Pipe<unknown>();
    const { worker, exit } = start({ mode: 'echo', conn: b });
    const echoed = new Promise((resolve) => worker.once('message', resolve));
    try {
      const lock = new Lock();
      const samples: unknown[] = [1, 'two', { three: [3] }, null, undefined, new Map([[4, 4]]), 5n, new Uint8Array([6])];
      for (let i = 0; i < 10_000; i++) a.send(samples[i % samples.length]);
      for (let i = 0; i < 10_000; i++) expect(a.recvSync()).toEqual(samples[i % samples.length]);
      a.send({ lock });
      const back = (await a.recv()) as { lock: Lock };
      expect(back.lock).toBeInstanceOf(Lock);
      back.lock.acquireSync();
      expect(lock.locked()).toBe(true);
      lock.release();
      a.sendBytes(Buffer.from('bytes'));
      expect((await a.recv()) as Buffer).toEqual(Buffer.from('bytes'));
      a.close();
      expect(await echoed).toBe(10_002);
      expect(await exit).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it('poll semantics (CPython test_poll): poll() answers at once, poll(ms) waits, EOF counts as ready', async () => {
    const [a, b] = Pipe<string>();
    expect(await b.poll()).toBe(false);
    expect(await b.poll(0)).toBe(false);
    const start = performance.now();
    expect(await b.poll(30)).toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(25);
    a.send('x');
    expect(await b.poll()).toBe(true);
    expect(await b.poll()).toBe(true); // poll does not consume
    expect(b.recvSync()).toBe('x');
    expect(await b.poll()).toBe(false);
    setTimeout(() => a.send('later'), 20);
    expect(await b.poll(5_000)).toBe(true);
    expect(await b.poll(null)).toBe(true);
    expect(await b.recv()).toBe('later');
    a.close();
    expect(await b.poll()).toBe(true);
    await expect(b.recv()).rejects.toMatchObject({ code: 'ERR_EOF' });
    await expect(b.poll(NaN)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    b.close();
  });

  it('delivers everything sent before close, then ERR_EOF (sync and async), from a worker', async () => {
    for (let round = 0; round < 3; round++) {
      const [reader, writer] = Pipe<number>({ duplex: false });
      const { worker, exit } = start({ mode: 'send-close', conn: writer, count: 1000 });
      try {
        let sum = 0;
        for (let i = 0; i < 1000; i++) sum += round % 2 === 0 ? reader.recvSync() : await reader.recv();
        expect(sum).toBe(499_500);
        expect(codeOf(() => reader.recvSync())).toBe('ERR_EOF');
        await expect(reader.recv({ timeout: 1000 })).rejects.toMatchObject({ code: 'ERR_EOF' });
        expect(await exit).toBe(0);
      } finally {
        await worker.terminate();
      }
    }
  });

  it('carries 16 MiB messages (bytes and a string) to a worker; EOF once it exits without close()', async () => {
    const [a, b] = Pipe<unknown>();
    const { worker, exit } = start({ mode: 'big', conn: b });
    try {
      const big = Buffer.alloc(16 << 20, 1);
      a.sendBytes(big);
      expect(await a.recv()).toEqual({ length: 16 << 20, checksum: (16 << 20) / 4096 });
      const text = 'x'.repeat(16 << 20);
      expect(codeOf(() => a.recvSync({ timeout: 0 }))).toBe('ERR_TIMEOUT');
      a.send(text);
      expect(a.recvSync()).toBe(16 << 20);
      expect(await exit).toBe(0);
      await expect(a.recv()).rejects.toMatchObject({ code: 'ERR_EOF' });
    } finally {
      await worker.terminate();
    }
  });

  it('duplex: false gives [reader, writer]; the wrong end fails with ERR_INVALID_STATE', async () => {
    const [reader, writer] = Pipe<number>({ duplex: false });
    expect([reader.readable, reader.writable, writer.readable, writer.writable]).toEqual([true, false, false, true]);
    expect(codeOf(() => reader.send(1))).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => reader.sendBytes(new Uint8Array(1)))).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => writer.recvSync())).toBe('ERR_INVALID_STATE');
    await expect(writer.recv()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await expect(writer.poll()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    writer.send(1);
    expect(reader.recvSync()).toBe(1);
    const [x, y] = Pipe();
    expect([x.readable, x.writable, y.readable, y.writable]).toEqual([true, true, true, true]);
  });

  it('sendBytes ranges, recvBytes, and recvBytes refusing a send() message', async () => {
    const [a, b] = Pipe<unknown>();
    const source = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]);
    a.sendBytes(source, 2, 3);
    a.sendBytes(source.buffer, 6);
    a.sendBytes(new DataView(source.buffer, 1, 2));
    expect([...b.recvBytesSync()]).toEqual([2, 3, 4]);
    expect([...(await b.recvBytes())]).toEqual([6, 7]);
    expect([...b.recvBytesSync()]).toEqual([1, 2]);
    a.send('object');
    expect(codeOf(() => b.recvBytesSync())).toBe('ERR_INVALID_STATE');
    expect(await b.poll()).toBe(true);
    expect(b.recvSync()).toBe('object');
    expect(codeOf(() => a.sendBytes(source, 9))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => a.sendBytes(source, 4, 5))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => a.sendBytes('text' as unknown as Uint8Array))).toBe('ERR_INVALID_ARG');
  });

  it('closed ends, a closed peer, moved ends, bad arguments', () => {
    const [a, b] = Pipe<unknown>();
    a.close();
    a.close();
    expect(a.closed).toBe(true);
    expect(codeOf(() => a.send(1))).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => a.recvSync())).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => b.send(1))).toBe('ERR_INVALID_STATE'); // broken pipe
    expect(codeOf(() => b.recvSync())).toBe('ERR_EOF');
    const [c, d] = Pipe<number>();
    c.send(1);
    const moved = decode(encode(d).value) as Connection<number>; // as if sent to another thread
    expect(d.closed).toBe(true);
    expect(codeOf(() => d.recvSync())).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => encode(d))).toBe('ERR_INVALID_STATE');
    expect(moved.recvSync()).toBe(1);
    moved.send(2);
    expect(c.recvSync()).toBe(2);
    expect(codeOf(() => Pipe({ duplex: 1 as unknown as boolean }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => Pipe(null as unknown as object))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => c.recvSync({ timeout: NaN }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => c.send({ f() {} } as unknown as number))).toBe('ERR_UNCLONEABLE');
    // A connection cannot ride a queue, and trying does not detach it.
    const q = new Queue<unknown>();
    expect(codeOf(() => q.putSync({ conn: c }))).toBe('ERR_UNCLONEABLE');
    expect(c.closed).toBe(false);
    moved.send(3);
    expect(c.recvSync()).toBe(3);
    q.close();
  });

  it('connects two workers directly (both ends moved away from the main thread)', async () => {
    const [a, b] = Pipe<number | null>();
    const driver = start({ mode: 'drive', conn: a, count: 2_000 });
    const squarer = start({ mode: 'squares', conn: b });
    const sum = new Promise((resolve) => driver.worker.once('message', resolve));
    try {
      expect(await sum).toBe((2_000 * 2_001 * 4_001) / 6);
      expect(await driver.exit).toBe(0);
      expect(await squarer.exit).toBe(0);
      expect(codeOf(() => a.send(1))).toBe('ERR_INVALID_STATE');
    } finally {
      await Promise.all([driver.worker.terminate(), squarer.worker.terminate()]);
    }
  });

  it('an end passed to a worker can be passed on again from there', async () => {
    const [parentConn, childConn] = Pipe<number | null>();
    parentConn.send(4); // queued before the end moves twice
    const { worker, exit } = start({ mode: 'forward', conn: childConn });
    const innerExit = new Promise((resolve) => worker.once('message', resolve));
    try {
      expect(await parentConn.recv()).toBe(16);
      parentConn.send(5);
      expect(await parentConn.recv()).toBe(25);
      parentConn.send(null);
      expect(await innerExit).toBe(0);
      expect(await exit).toBe(0);
      await expect(parentConn.recv()).rejects.toMatchObject({ code: 'ERR_EOF' });
    } finally {
      await worker.terminate();
    }
  });
});
