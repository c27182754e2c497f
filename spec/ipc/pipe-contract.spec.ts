/**
 * Pipe and Connection against API.md §7–§8: ends are made only by Pipe(),
 * promise-returning calls reject on bad arguments (never throw), negative
 * timeouts mean "do not wait", and pipes nobody closed give their channels back.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Connection } from '../../lib/ipc/connection';
import { Pipe } from '../../lib/ipc/pipe';
import { codeOf, rejectionCode, revoked } from '../helpers/contract';

describe('Pipe and Connection contract', () => {
  it('a Connection cannot be made with new (ERR_INVALID_STATE)', () => {
    const Ctor = Connection as unknown as new (...args: unknown[]) => unknown;
    expect(codeOf(() => new Ctor())).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => new Ctor({ buffer: new SharedArrayBuffer(256), end: 0 }))).toBe('ERR_INVALID_STATE');
    expect(codeOf(() => new Ctor(Symbol('parapool.internal'), {}))).toBe('ERR_INVALID_STATE');
  });

  it('recv, recvBytes and poll reject on junk arguments; the Sync forms throw', async () => {
    const [a, b] = Pipe();
    for (const options of ['x', 5, [], revoked(), { timeout: 'soon' }, { timeout: Number.NaN }]) {
      expect(await rejectionCode(() => b.recv(options as never))).toBe('ERR_INVALID_ARG');
      expect(await rejectionCode(() => b.recvBytes(options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => b.recvSync(options as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => b.recvBytesSync(options as never))).toBe('ERR_INVALID_ARG');
    }
    for (const timeout of ['x', Number.NaN, {}, revoked()]) {
      expect(await rejectionCode(() => b.poll(timeout as never))).toBe('ERR_INVALID_ARG');
    }
    for (const options of ['x', 1, revoked()]) expect(codeOf(() => Pipe(options as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => a.sendBytes(revoked() as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => a.sendBytes(new Uint8Array(4), revoked() as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => a.send(new Proxy({}, {}) as never))).toBe('ERR_UNCLONEABLE');
    expect(codeOf(() => a.send(revoked() as never))).toBe('ERR_UNCLONEABLE');
    a.send('still works');
    expect(await b.recv()).toBe('still works');
    a.close();
    b.close();
    expect(await rejectionCode(() => b.recv())).toBe('ERR_INVALID_STATE');
    expect(await rejectionCode(() => b.poll())).toBe('ERR_INVALID_STATE');
  });

  it('a negative timeout does not wait; one past 2^31 ms does', async () => {
    const [a, b] = Pipe();
    expect(await rejectionCode(() => b.recv({ timeout: -1 }))).toBe('ERR_TIMEOUT');
    expect(codeOf(() => b.recvSync({ timeout: -1 }))).toBe('ERR_TIMEOUT');
    expect(await b.poll(-1)).toBe(false);
    const waiting = b.recv({ timeout: 2 ** 32 });
    let settled = false;
    void waiting.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    a.send(7);
    await expect(waiting).resolves.toBe(7);
    a.close();
    b.close();
  });

  it('pipes nobody closed give their channels back once collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    gc();
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1_000; i++) {
        const [a] = Pipe();
        a.send(i);
      }
      gc();
      await turn();
    }
    gc();
    await turn();
    // 10,000 collected ends that kept their ports open grew it several times past this bound.
    expect(process.memoryUsage().rss - before).toBeLessThan(35 * 1024 * 1024);
  }, 20_000);
});
