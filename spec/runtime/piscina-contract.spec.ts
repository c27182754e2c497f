/**
 * What lib/runtime/piscina-adapter.ts relies on in piscina, pinned to the
 * installed version (its read-ahead: a busy worker given a second task with
 * `concurrentTasksPerWorker`, a dead worker's tasks all rejected in one go,
 * a listed thread stopped by terminate(); its port path: the first workers idle
 * and ready at once, a task that never settles keeping its worker busy, and
 * the death of that worker rejecting it). A piscina upgrade that changes one of these turns this
 * red instead of silently changing exit codes or breaking recycling.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import { EXIT_CODE_MESSAGE, workerExitedError, workerInfoOf } from '../../lib/runtime/piscina-adapter';
import { within } from '../helpers/within';

const worker = path.join(__dirname, '../fixtures', 'pool-piscina-worker.cjs');
type Balanced = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

function shared(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}
function release(hold: Int32Array): void {
  Atomics.store(hold, 0, 1);
  Atomics.notify(hold, 0);
}
async function started(hold: Int32Array): Promise<void> {
  while (Atomics.load(hold, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

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

  it('with concurrentTasksPerWorker 2 the balancer may give a busy worker a second task; its death rejects both in one go', async () => {
    const usages: number[] = [];
    const pool = new Piscina({
      filename: worker,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 2,
      loadBalancer: (_task, workers) => {
        const picked = workers.find((candidate: Balanced) => candidate.currentUsage < 2 && !candidate.terminating) ?? null;
        if (picked !== null) usages.push(picked.currentUsage);
        return picked;
      },
    });
    pool.on('error', () => undefined);
    let created: Balanced | undefined;
    pool.on('workerCreate', (view: Balanced) => (created ??= view));
    const holds = [shared(), shared()];
    try {
      await pool.run({});
      usages.length = 0;
      // Tasks without a signal count one each in currentUsage (one with a signal would read Infinity).
      // Its 'workerCreate' view leads to piscina's record of it: the Worker (to listen first to its 'exit') and the port reader.
      const info = workerInfoOf(created!);
      expect(typeof info?.worker.prependListener).toBe('function');
      expect(typeof info?.processPendingMessages).toBe('function');
      const first = pool.run({ hold: holds[0], exit: 9 });
      const second = pool.run({});
      expect(usages).toEqual([0, 1]);
      const settled: string[] = [];
      second.catch((error: Error) => settled.push(`second: ${error.message}`));
      // What the adapter relies on: every task of the dead worker has rejected before a setImmediate queued by the first one.
      const seen = new Promise<string[]>((resolve) => {
        first.catch((error: Error) => {
          settled.push(`first: ${error.message}`);
          setImmediate(() => resolve([...settled]));
        });
      });
      await started(holds[0]!);
      release(holds[0]!);
      expect(await seen).toEqual(['first: worker exited with code: 9', 'second: worker exited with code: 9']);

      // terminate() of a thread piscina lists rejects the tasks it held, and piscina replaces the thread.
      const threadId = (await pool.run({})) as number;
      const running = pool.run({ hold: holds[1] });
      const held = pool.run({});
      await started(holds[1]!);
      const thread = pool.threads.find((candidate) => candidate.threadId === threadId)!;
      void thread.terminate();
      await expect(running).rejects.toThrow(EXIT_CODE_MESSAGE);
      await expect(held).rejects.toThrow(EXIT_CODE_MESSAGE);
      expect(await pool.run({})).not.toBe(threadId);
    } finally {
      for (const hold of holds) release(hold);
      await pool.destroy();
    }
  });

  it('exports the symbols and move() the pool worker uses for transferred results', () => {
    const exported = require('piscina') as { move: unknown; transferableSymbol: unknown; valueSymbol: unknown };
    expect(typeof exported.move).toBe('function');
    expect(typeof exported.transferableSymbol).toBe('symbol');
    expect(typeof exported.valueSymbol).toBe('symbol');
  });

  it('port path: the first workers are idle at once; a task that never settles keeps its worker busy; the death rejects it', async () => {
    const balanced: number[] = [];
    const pool = new Piscina({
      filename: worker,
      minThreads: 2,
      maxThreads: 2,
      loadBalancer: (_task, workers: Balanced[]) => {
        const idle = workers.find((candidate) => candidate.currentUsage === 0) ?? null;
        if (idle !== null) balanced.push(idle.id);
        return idle;
      },
    });
    try {
      expect(pool.idleThreads).toBe(2);
      const lifetimes = [pool.run({ forever: true }), pool.run({ forever: true })];
      expect(new Set(balanced).size).toBe(2);
      expect(pool.idleThreads).toBe(0);
      let info: ReturnType<typeof workerInfoOf>;
      pool.once('workerDestroy', (destroyed: Balanced) => {
        info = workerInfoOf(destroyed);
      });
      const threadId = balanced[0]!;
      void pool.threads.find((candidate) => candidate.threadId === threadId)!.terminate();
      await expect(within(lifetimes[0]!, 10_000, 'the never-settling task')).rejects.toThrow(EXIT_CODE_MESSAGE);
      expect(typeof info?.unref).toBe('function');
      // The replacement is offered to the balancer once it is ready (the adapter attaches it then).
      while (pool.idleThreads === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await pool.run({})).not.toBe(threadId);
      lifetimes[1]!.catch(() => undefined);
    } finally {
      await pool.destroy();
    }
  });
});
