/**
 * JoinableQueue: CPython's test_task_done (4 consumers in workers, join) and
 * the taskDone() count rule.
 */
import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { JoinableQueue } from '../../lib/ipc/joinable-queue';
import { exited, startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/ipc-queue-worker.ts`;
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('JoinableQueue', () => {
  it('taskDone/join with 4 consumers in workers (CPython test_task_done), 3 rounds', async () => {
    for (let round = 0; round < 3; round++) {
      const q = new JoinableQueue<{ n: number } | null>();
      const workers: Worker[] = [];
      const counts: Promise<number>[] = [];
      for (let i = 0; i < 4; i++) {
        const encoded = encode({ mode: 'joinable-consume', q });
        const worker = startTsWorker(FIXTURE, encoded.value, { transferList: encoded.transferList });
        counts.push(new Promise((resolve) => worker.once('message', resolve)));
        workers.push(worker);
      }
      const exits = workers.map(exited);
      try {
        for (let i = 0; i < 1000; i++) await q.put({ n: i });
        await q.join();
        expect(q.unfinishedTasks).toBe(0);
        expect(q.empty()).toBe(true);
        for (let i = 0; i < 4; i++) await q.put(null);
        q.joinSync();
        expect((await Promise.all(counts)).reduce((a, b) => a + b, 0)).toBe(1000);
        expect(await Promise.all(exits)).toEqual([0, 0, 0, 0]);
      } finally {
        await Promise.all(workers.map((worker) => worker.terminate()));
      }
    }
  });

  it('taskDone() more times than items put fails with ERR_INVALID_STATE', () => {
    const q = new JoinableQueue<number>();
    expect(codeOf(() => q.taskDone())).toBe('ERR_INVALID_STATE');
    q.putSync(1);
    q.putSync(2);
    expect(q.unfinishedTasks).toBe(2);
    q.getSync();
    q.taskDone();
    q.getSync();
    q.taskDone();
    expect(codeOf(() => q.taskDone())).toBe('ERR_INVALID_STATE');
    q.joinSync();
  });

  it('join waits for the last taskDone, and times out with ERR_TIMEOUT', async () => {
    const q = new JoinableQueue<number>();
    q.putSync(1);
    expect(codeOf(() => q.joinSync({ timeout: 20 }))).toBe('ERR_TIMEOUT');
    await expect(q.join({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    const joined = q.join();
    setTimeout(() => {
      q.getSync();
      q.taskDone();
    }, 20);
    await joined;
    expect(codeOf(() => q.joinSync({ timeout: NaN }))).toBe('ERR_INVALID_ARG');
  });

  it('a failed put does not count as a task', () => {
    const q = new JoinableQueue<number>({ maxsize: 1 });
    q.putSync(1);
    expect(codeOf(() => q.putNowait(2))).toBe('ERR_QUEUE_FULL');
    expect(q.unfinishedTasks).toBe(1);
  });

  it('arrives in another thread (codec) as a JoinableQueue on the same counts', () => {
    const q = new JoinableQueue<number>();
    q.putSync(5);
    const copy = decode(encode(q).value) as JoinableQueue<number>;
    expect(copy).toBeInstanceOf(JoinableQueue);
    expect(copy.getSync()).toBe(5);
    copy.taskDone();
    expect(q.unfinishedTasks).toBe(0);
    copy.close();
  });
});
