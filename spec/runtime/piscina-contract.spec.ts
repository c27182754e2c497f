/**
 * What lib/runtime/piscina-adapter.ts relies on in piscina, pinned to the
 * installed version. A piscina upgrade that changes one of these turns this
 * red instead of silently changing exit codes or breaking recycling.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { EXIT_CODE_MESSAGE, workerExitedError } from '../../lib/runtime/piscina-adapter';
import { within } from '../helpers/within';

const worker = path.join(__dirname, '../fixtures', 'pool-piscina-worker.cjs');
type Balanced = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

describe('the piscina contract', () => {
  it('is pinned to the installed piscina version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '../../node_modules/piscina/package.json'), 'utf8')) as {
      version: string;
    };
    expect(version).toBe('5.3.2');
  });

  it('a worker id equals its thread id; the balancer runs synchronously inside run(); the exit message carries the code', async () => {
    const picked: number[] = [];
    let inRun = false;
    let calledInsideRun = 0;
    const pool = new Piscina({
      filename: worker,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      loadBalancer: (_task, workers) => {
        if (inRun) calledInsideRun++;
        const idle = workers.find((candidate: Balanced) => candidate.currentUsage === 0) ?? null;
        if (idle !== null) picked.push(idle.id);
        return idle;
      },
    });
    pool.on('error', () => undefined);
    try {
      // Wait until the worker is up (its first answer), so the next run() finds it idle.
      const threadId = (await pool.run({})) as number;
      expect(picked.at(-1)).toBe(threadId);
      expect(pool.threads.map((thread) => thread.threadId)).toContain(threadId);
      inRun = true;
      const answer = pool.run({});
      inRun = false;
      expect(calledInsideRun).toBe(1);
      expect(await answer).toBe(picked.at(-1));
      const failure = await pool.run({ exit: 7 }).catch((error: unknown) => error);
      expect((failure as Error).message).toMatch(EXIT_CODE_MESSAGE);
      expect(workerExitedError(failure)).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 7 });
    } finally {
      await pool.destroy();
    }
  });

  it('a run the balancer refuses and that is withdrawn starts one worker while the pool is below maxThreads, read live from options', async () => {
    let refuse = false;
    const pool = new Piscina({
      filename: worker,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      loadBalancer: (_task, workers) => (refuse ? null : (workers.find((candidate: Balanced) => candidate.currentUsage === 0) ?? null)),
    });
    pool.on('error', () => undefined);
    const refusedRun = (): void => {
      const withdraw = new AbortController();
      refuse = true;
      pool.run({}, { signal: withdraw.signal }).catch(() => undefined);
      refuse = false;
      withdraw.abort();
    };
    try {
      await pool.run({});
      refusedRun();
      expect(pool.threads).toHaveLength(1);
      pool.options.maxThreads = 2;
      refusedRun();
      expect(pool.threads).toHaveLength(2);
      refusedRun();
      expect(pool.threads).toHaveLength(2);
      expect(pool.queueSize).toBe(0);
    } finally {
      await pool.destroy();
    }
  });

  it("a worker started later emits 'workerCreate' (its thread id) once booted, before it is offered the queued tasks", async () => {
    const booted = new Set<number>();
    let refuse = false;
    let retired = -1;
    const pool = new Piscina({
      filename: worker,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      // The recycling balancer's rule: only a booted worker takes a task, and never one on its way out.
      loadBalancer: (_task, workers) =>
        refuse
          ? null
          : ((workers as Balanced[]).find(
              (candidate) => candidate.currentUsage === 0 && booted.has(candidate.id) && candidate.id !== retired,
            ) ?? null),
    });
    pool.on('error', () => undefined);
    pool.on('workerCreate', (created: Balanced) => booted.add(created.id));
    try {
      retired = (await pool.run({})) as number;
      pool.options.maxThreads = 2;
      const withdraw = new AbortController();
      refuse = true;
      pool.run({}, { signal: withdraw.signal }).catch(() => undefined);
      refuse = false;
      withdraw.abort();
      const spare = pool.threads.map((thread) => thread.threadId).find((id) => id !== retired);
      expect(booted.has(spare!)).toBe(false);
      // Queued while the spare boots: only the spare's boot can offer it again, and by then the spare counts as booted.
      expect(await within(pool.run({}), 10_000, 'the task queued while the spare booted')).toBe(spare);
    } finally {
      await pool.destroy();
    }
  });

  it('exports the symbols and move() the pool worker uses for transferred results', () => {
    const exported = require('piscina') as { move: unknown; transferableSymbol: unknown; valueSymbol: unknown };
    expect(typeof exported.move).toBe('function');
    expect(typeof exported.transferableSymbol).toBe('symbol');
    expect(typeof exported.valueSymbol).toBe('symbol');
  });
});
