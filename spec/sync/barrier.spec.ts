import { spawnSync } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { BrokenBarrierError } from '../../lib/errors';
import { Barrier } from '../../lib/sync/barrier';
import { Lock } from '../../lib/sync/lock';
import { startTsWorker } from '../helpers/worker';

const broken = expect.objectContaining({ code: 'ERR_BROKEN_BARRIER' });
const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
const invalidState = expect.objectContaining({ code: 'ERR_INVALID_STATE' });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

function barrierWorkers(barrier: Barrier, count: number, options: { withAction?: boolean; passes?: number } = {}) {
  const results = new SharedArrayBuffer(4 * barrier.parties * Math.max(1, options.passes ?? 1));
  const actions = new SharedArrayBuffer(8);
  const data = encode({ barrier, results, actions, withAction: options.withAction ?? false }).value;
  const workers: Worker[] = Array.from({ length: count }, () => startTsWorker(`${__dirname}/../fixtures/sync-barrier.ts`, data));
  const send = (worker: Worker, message: object) =>
    new Promise<{ index?: number; code?: string; message?: string; done?: boolean }>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (value) => {
        worker.off('error', reject);
        resolve(value);
      });
      worker.postMessage(message);
    });
  const close = () => Promise.all(workers.map((worker) => worker.terminate()));
  return { indices: new Int32Array(results), actions: new Int32Array(actions), workers, send, close };
}

describe('Barrier', () => {
  it('3 parties (main async + 2 workers sync) over 1,000 passes, 5 times: one index 0 per pass, action once per pass', async () => {
    const passes = 1_000;
    let actionRuns = 0;
    const barrier = new Barrier(3, { action: () => (actionRuns += 1) });
    const side = barrierWorkers(barrier, 2, { passes });
    try {
      for (let round = 1; round <= 5; round++) {
        side.indices.fill(-1);
        const done = side.workers.map((worker, i) => side.send(worker, { op: 'passes', passes, slot: i + 1 }));
        for (let pass = 0; pass < passes; pass++) side.indices[pass * 3] = await barrier.wait();
        await Promise.all(done);
        for (let pass = 0; pass < passes; pass++) {
          const seen = Array.from(side.indices.subarray(pass * 3, pass * 3 + 3)).sort();
          expect(seen).toEqual([0, 1, 2]);
        }
        expect(actionRuns).toBe(round * passes);
      }
      expect(barrier.nWaiting).toBe(0);
      expect(barrier.broken).toBe(false);
    } finally {
      await side.close();
    }
  });

  it('runs the action in a worker that holds it when the main thread has none', async () => {
    const passes = 200;
    const barrier = new Barrier(3, { action: () => {} });
    const withoutAction = decode(structuredClone(encode(barrier).value));
    const side = barrierWorkers(barrier, 2, { withAction: true, passes });
    try {
      const done = side.workers.map((worker, i) => side.send(worker, { op: 'passes', passes, slot: i + 1 }));
      for (let pass = 0; pass < passes; pass++) side.indices[pass * 3] = await withoutAction.wait();
      await Promise.all(done);
      expect(side.actions[1]).toBe(passes);
      for (let pass = 0; pass < passes; pass++) {
        expect(Array.from(side.indices.subarray(pass * 3, pass * 3 + 3)).sort()).toEqual([0, 1, 2]);
      }
    } finally {
      await side.close();
    }
  });

  it('indexes by arrival, in one thread too; a one-party barrier passes at once', async () => {
    const barrier = new Barrier(2);
    expect(barrier.parties).toBe(2);
    const first = barrier.wait();
    expect(barrier.nWaiting).toBe(1);
    const second = barrier.wait();
    expect(await Promise.all([first, second])).toEqual([0, 1]);
    let runs = 0;
    const single = new Barrier(1, { action: () => runs++ });
    expect(single.waitSync()).toBe(0);
    expect(await single.wait()).toBe(0);
    expect(runs).toBe(2);
  });

  it('a timeout breaks the barrier for everyone (CPython test_timeout, test_default_timeout)', async () => {
    const barrier = new Barrier(3);
    const other = barrier.wait();
    await expect(barrier.wait({ timeout: 20 })).rejects.toEqual(broken);
    await expect(other).rejects.toEqual(broken);
    expect(barrier.broken).toBe(true);
    expect(() => barrier.waitSync()).toThrow(BrokenBarrierError);
    barrier.reset();
    expect(barrier.broken).toBe(false);
    const withDefault = new Barrier(2, { timeout: 10 });
    expect(() => withDefault.waitSync()).toThrow(broken);
    expect(withDefault.broken).toBe(true);
    const sideways = new Barrier(2, { timeout: 10 });
    await expect(sideways.wait()).rejects.toThrow('Timed out waiting at the barrier');
  });

  it('abort() breaks waiters in other threads and later waits, until reset() (CPython test_abort)', async () => {
    const barrier = new Barrier(3);
    const side = barrierWorkers(barrier, 2);
    try {
      const outcomes = side.workers.map((worker) => side.send(worker, { op: 'wait' }));
      await until(() => barrier.nWaiting === 2);
      barrier.abort();
      expect((await Promise.all(outcomes)).map((outcome) => outcome.code)).toEqual(['ERR_BROKEN_BARRIER', 'ERR_BROKEN_BARRIER']);
      expect(barrier.broken).toBe(true);
      expect(barrier.nWaiting).toBe(0);
      await expect(barrier.wait()).rejects.toEqual(broken);
      barrier.reset();
      const again = side.workers.map((worker) => side.send(worker, { op: 'wait' }));
      const ours = await barrier.wait();
      const indices = [ours, ...(await Promise.all(again)).map((outcome) => outcome.index)].sort();
      expect(indices).toEqual([0, 1, 2]);
    } finally {
      await side.close();
    }
  });

  it('reset() breaks the current waiters and leaves the barrier usable (CPython test_reset)', async () => {
    const barrier = new Barrier(3);
    const side = barrierWorkers(barrier, 2);
    try {
      const outcomes = side.workers.map((worker) => side.send(worker, { op: 'wait' }));
      await until(() => barrier.nWaiting === 2);
      barrier.reset();
      const codes = (await Promise.all(outcomes)).map((outcome) => outcome.code);
      expect(codes).toEqual(['ERR_BROKEN_BARRIER', 'ERR_BROKEN_BARRIER']);
      expect(barrier.broken).toBe(false);
      const again = side.workers.map((worker) => side.send(worker, { op: 'wait' }));
      const ours = await barrier.wait();
      expect([ours, ...(await Promise.all(again)).map((outcome) => outcome.index)].sort()).toEqual([0, 1, 2]);
    } finally {
      await side.close();
    }
  });

  it('an action that throws breaks the barrier; its thread gets the error (CPython test_action_exception)', async () => {
    const barrier = new Barrier(2, {
      action: () => {
        throw new RangeError('action failed');
      },
    });
    const first = barrier.wait();
    await expect(barrier.wait()).rejects.toThrow(RangeError);
    await expect(first).rejects.toEqual(broken);
    expect(barrier.broken).toBe(true);
  });

  it('a pass whose parties hold no copy of the action is ERR_INVALID_STATE and breaks the barrier', async () => {
    const barrier = new Barrier(2, { action: () => {} });
    const copy = decode(structuredClone(encode(barrier).value));
    const first = copy.wait();
    await expect(copy.wait()).rejects.toEqual(invalidState);
    await expect(first).rejects.toEqual(broken);
    expect(barrier.broken).toBe(true);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    expect(() => new Barrier(0)).toThrow(invalidArg);
    expect(() => new Barrier(-1)).toThrow(invalidArg);
    expect(() => new Barrier(1.5)).toThrow(invalidArg);
    expect(() => new Barrier('3' as unknown as number)).toThrow(invalidArg);
    expect(() => new Barrier(0)).toThrow('Expected `parties` to be an integer from 1 to 2147483647, got `0` (number)');
    expect(() => new Barrier(2, { timeout: NaN })).toThrow(invalidArg);
    expect(() => new Barrier(2, { action: 5 as unknown as () => void })).toThrow(invalidArg);
    expect(() => new Barrier(2, 'x' as unknown as object)).toThrow(invalidArg);
    const barrier = new Barrier(2);
    expect(() => barrier.waitSync({ timeout: Number.NaN })).toThrow(invalidArg);
    await expect(barrier.wait({ timeout: NaN })).rejects.toEqual(invalidArg);
    expect(barrier.nWaiting).toBe(0);
    expect(() => Barrier.attach(barrier.buffer, 0, { action: () => {} })).toThrow(invalidArg);
    expect(() => Barrier.attach(new Lock().buffer)).toThrow(invalidArg);
  });

  it('lives at a byte offset and crosses the codec', async () => {
    const buffer = new SharedArrayBuffer(Barrier.SIZE + 8);
    const barrier = new Barrier(2, { buffer, byteOffset: 8 });
    const same = Barrier.attach(buffer, 8);
    const revived = decode(structuredClone(encode({ barrier }).value)).barrier;
    expect(revived).toBeInstanceOf(Barrier);
    expect(same.parties).toBe(2);
    expect((await Promise.all([same.wait(), revived.wait()])).sort()).toEqual([0, 1]);
  });
});

describe('Barrier: a party that dies', () => {
  it('a party killed while waiting breaks the barrier for the others; a lone wait cannot pass with it', async () => {
    const barrier = new Barrier(3);
    const side = barrierWorkers(barrier, 2);
    try {
      const outcomes = side.workers.map((worker) => side.send(worker, { op: 'wait', timeout: 20_000 }));
      void outcomes[0]!.catch(() => {});
      await until(() => barrier.nWaiting === 2);
      await side.workers[0]!.terminate();
      expect((await outcomes[1]!).code).toBe('ERR_BROKEN_BARRIER');
      await expect(barrier.wait({ timeout: 20_000 })).rejects.toEqual(broken);
      expect(barrier.broken).toBe(true);
      barrier.reset();
      // Later waits honour their timeout.
      await expect(barrier.wait({ timeout: 30 })).rejects.toEqual(broken);
    } finally {
      await side.close();
    }
  });

  it('tracks the parties of more than 16 threads: the 17th thread to arrive, killed, breaks the barrier', async () => {
    const threads = 17;
    const barrier = new Barrier(threads + 1);
    const side = barrierWorkers(barrier, threads);
    try {
      const outcomes: Promise<{ code?: string }>[] = [];
      // One at a time, so that the last worker is the 17th thread counted.
      for (const [i, worker] of side.workers.entries()) {
        const outcome = side.send(worker, { op: 'wait', timeout: 60_000 });
        void outcome.catch(() => {});
        outcomes.push(outcome);
        await until(() => barrier.nWaiting === i + 1);
      }
      await side.workers[threads - 1]!.terminate();
      // Untracked, the death would go unseen until the waits' 60 s timeout (past this test's limit).
      await until(() => barrier.broken);
      for (const outcome of outcomes.slice(0, -1)) expect((await outcome).code).toBe('ERR_BROKEN_BARRIER');
    } finally {
      await side.close();
    }
  });

  it('the lone survivor of a 2-party barrier does not pass on its own', async () => {
    const barrier = new Barrier(2);
    const side = barrierWorkers(barrier, 1);
    try {
      void side.send(side.workers[0]!, { op: 'wait' }).catch(() => {});
      await until(() => barrier.nWaiting === 1);
      await side.workers[0]!.terminate();
      await expect(barrier.wait({ timeout: 20_000 })).rejects.toEqual(broken);
      expect(() => barrier.waitSync({ timeout: 20_000 })).toThrow(BrokenBarrierError);
      barrier.reset();
      expect(barrier.broken).toBe(false);
      expect(barrier.nWaiting).toBe(0);
      expect(await Promise.all([barrier.wait(), barrier.wait()])).toEqual([0, 1]);
    } finally {
      await side.close();
    }
  });

  it('the worker running the action killed: abort() returns at once, the main thread is not frozen (child process)', () => {
    const script = `
      const { Worker } = require('node:worker_threads');
      const { Barrier } = require(${JSON.stringify(require.resolve('../../lib/sync/barrier'))});
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const barrier = new Barrier(2, { action: () => {} });
      const ours = barrier.wait().then((i) => 'passed ' + i, (e) => e.code);
      const worker = new Worker(\`
        const { workerData } = require('node:worker_threads');
        const { Barrier } = require(\${JSON.stringify(${JSON.stringify(require.resolve('../../lib/sync/barrier'))})});
        const flag = new Int32Array(workerData.flag);
        const barrier = Barrier.attach(workerData.buffer, workerData.byteOffset, { action: () => {
          Atomics.store(flag, 0, 1);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        } });
        barrier.waitSync();
      \`, { eval: true, workerData: { buffer: barrier.buffer, byteOffset: barrier.byteOffset, flag: flag.buffer } });
      const poll = setInterval(async () => {
        if (Atomics.load(flag, 0) !== 1) return;
        clearInterval(poll);
        await worker.terminate();
        barrier.abort();
        console.log('aborted', barrier.broken);
        console.log(await ours);
        barrier.reset();
        console.log(await barrier.wait({ timeout: 30 }).then(() => 'passed', (e) => e.code));
      }, 5);
    `;
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n')).toEqual(['aborted true', 'ERR_BROKEN_BARRIER', 'ERR_BROKEN_BARRIER']);
    expect(child.status).toBe(0);
  });

  it('junk arguments: wait rejects, waitSync and the constructor throw (ERR_INVALID_ARG)', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    for (const junk of ['3', NaN, -1, 0, 2 ** 31, 1.5, revoked.proxy, {}, null])
      expect(() => new Barrier(junk as number)).toThrow(invalidArg);
    for (const junk of [
      'x',
      revoked.proxy,
      { timeout: 'x' },
      { timeout: NaN },
      { action: 'x' },
      { action: revoked.proxy },
      { buffer: 'x' },
    ]) {
      expect(() => new Barrier(2, junk as object)).toThrow(invalidArg);
    }
    const barrier = new Barrier(2);
    for (const junk of ['x', revoked.proxy, { timeout: 'x' }, { timeout: revoked.proxy }, []]) {
      await expect(barrier.wait(junk as object)).rejects.toEqual(invalidArg);
      expect(() => barrier.waitSync(junk as object)).toThrow(invalidArg);
    }
    expect(() => Barrier.attach(revoked.proxy as SharedArrayBuffer)).toThrow(invalidArg);
    expect(() => Barrier.attach(barrier.buffer, 0, revoked.proxy as object)).toThrow(invalidArg);
    expect(barrier.nWaiting).toBe(0);
    // A timeout of 0 or less does not wait: the lone party breaks the barrier at once.
    await expect(barrier.wait({ timeout: -1 })).rejects.toEqual(broken);
  });

  it('a wait with a timeout past 2^31 ms is honoured, not fired early', async () => {
    const barrier = new Barrier(2);
    const long = barrier.wait({ timeout: 2 ** 31 + 10 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(barrier.broken).toBe(false);
    expect((await Promise.all([long, barrier.wait({ timeout: 2 ** 40 })])).sort()).toEqual([0, 1]);
  });
});
