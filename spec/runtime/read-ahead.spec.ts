// The per-worker read-ahead of lib/runtime/local-dispatcher.ts and piscina-adapter.ts:
// a worker holds up to `depth` jobs and runs them one at a time, in order. What must
// hold however the jobs are placed (API.md §2/§3): a dying worker fails only the job it
// was running (the others it held run elsewhere, exactly once), a cancel of a held job
// is exact (it never runs), `running()` is exact, a timeout stops only the running job,
// async jobs of one worker never interleave, and terminate() fails everything held.
// `readAheadMaxMs: Infinity` reads ahead from the first job on, so that no test depends
// on how fast the machine answered its first jobs. Every test runs on both of the
// engine's paths: the port path (jobs on each worker's own MessagePort, the default) and
// jobs through piscina's `run()` (what pools with `idleTimeout` use).
import * as path from 'node:path';
import { Executor, Pool, tasks } from '../../lib';
import { LocalDispatcher } from '../../lib/runtime/local-dispatcher';
import { PiscinaAdapter, WORKER_ENTRY } from '../../lib/runtime/piscina-adapter';
import { DISPATCHER_FACTORY, type RuntimeSettings } from '../../lib/runtime/runtime';
import type * as ReadAheadTasks from '../fixtures/read-ahead-tasks';
import { within } from '../helpers/within';

const rt = tasks<typeof ReadAheadTasks>(path.join(__dirname, '../fixtures/read-ahead-tasks.ts'));

/** The engine of the last pool or executor made here: `held()` tells how many jobs wait inside its workers. */
let engine: PiscinaAdapter;
/** The path the pools and executors of the running `describe` use. */
let ports = true;
function readingAhead(depth: number): object {
  return {
    [DISPATCHER_FACTORY]: (settings: RuntimeSettings) => {
      engine = new PiscinaAdapter({ filename: WORKER_ENTRY, ...settings, depth, ports });
      return new LocalDispatcher(engine, { readAheadMaxMs: Infinity });
    },
  };
}
function pool(workers: number, depth: number): Pool {
  return new Pool({ workers, ...readingAhead(depth) } as never);
}
function executor(workers: number, depth: number): Executor {
  return new Executor({ maxWorkers: workers, ...readingAhead(depth) } as never);
}
function shared(words = 2): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}
function release(flags: Int32Array): void {
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
}
/** Resolves once a `hold` job has said it started. */
async function heldStarted(flags: Int32Array): Promise<void> {
  while (Atomics.load(flags, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe.each([
  ['the port path', true],
  ['jobs through piscina', false],
])('read-ahead: a worker holds several jobs (%s)', (_path, onPorts) => {
  beforeAll(() => {
    ports = onPorts;
  });

  it('while a dead worker’s replacement boots, a new job waits for a worker instead of queueing behind a running one', async () => {
    const p = pool(2, 4);
    try {
      const first = shared();
      const running = p.apply(rt.hold, [first, 'a']);
      await within(heldStarted(first), 10_000, 'the first job');
      // The other worker dies; the next job must not wait behind the first one, which holds its worker.
      await expect(p.apply(rt.countedOrDie, [shared(1), 1, 1])).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED' });
      const second = shared();
      const next = p.apply(rt.hold, [second, 'b']);
      await within(heldStarted(second), 10_000, 'the next job, on the replacement worker');
      release(first);
      release(second);
      expect(await Promise.all([running, next])).toEqual(['a', 'b']);
    } finally {
      await p.terminate();
    }
  });

  it('the jobs a dying worker held but had not started run elsewhere, exactly once; only the running one fails', async () => {
    for (const depth of [2, 4]) {
      const p = pool(1, depth);
      try {
        const counter = shared(1);
        const flags = shared();
        const dying = p.apply(rt.hold, [flags, 'never', true]);
        const held = Array.from({ length: depth - 1 }, (_, i) => p.apply(rt.counted, [counter, i]));
        await within(heldStarted(flags), 10_000, 'the dying job');
        // All of them are with the one worker: the others wait inside it.
        expect(engine.held()).toEqual({ waiting: depth - 1, withdrawn: 0 });
        expect(p.stats()).toMatchObject({ running: 1, queued: depth - 1 });
        release(flags);
        await expect(dying).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 5 });
        expect(await within(Promise.all(held), 10_000, 'the held jobs')).toEqual(Array.from({ length: depth - 1 }, (_, i) => i));
        expect(Atomics.load(counter, 0)).toBe(depth - 1);
      } finally {
        await p.terminate();
      }
    }
  });

  it.each([
    [2, 1],
    [4, 1],
    [2, 2],
    [4, 2],
  ])(
    'one job calling process.exit among 2,000 at depth %i (round %i): exactly one fails, the others succeed with exact results',
    async (depth, round) => {
      const p = pool(2, depth);
      try {
        const counter = shared(1);
        const count = 2_000;
        const dieAt = 600 + depth * 100 + round * 50;
        const outcomes = await within(
          Promise.allSettled(Array.from({ length: count }, (_, n) => p.apply(rt.countedOrDie, [counter, n, dieAt]))),
          15_000,
          `2,000 jobs at depth ${depth}`,
        );
        const failed = outcomes.flatMap((outcome, n) => (outcome.status === 'rejected' ? [[n, outcome.reason]] : []));
        expect(failed).toHaveLength(1);
        expect(failed[0]![0]).toBe(dieAt);
        expect(failed[0]![1]).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 3 });
        outcomes.forEach((outcome, n) => {
          if (n !== dieAt) expect(outcome).toEqual({ status: 'fulfilled', value: n * 2 });
        });
        // Every other job ran once: none that the dead worker had started ran again.
        expect(Atomics.load(counter, 0)).toBe(count - 1);
      } finally {
        await p.terminate();
      }
    },
  );

  it('cancelling a future its worker holds is exact: it never runs; running() reads what the worker did', async () => {
    const ex = executor(1, 2);
    const flags = shared();
    const flags2 = shared();
    const flags3 = shared();
    try {
      const counter = shared(1);
      const first = ex.submit(rt.hold, flags, 'first');
      const second = ex.submit(rt.counted, counter, 'second');
      expect(engine.held()).toEqual({ waiting: 1, withdrawn: 0 });
      // Handed to an idle worker: running at once, as without read-ahead.
      expect(first.running()).toBe(true);
      expect(first.cancel()).toBe(false);
      await within(heldStarted(flags), 10_000, 'the first job');
      expect(second.running()).toBe(false);
      expect(second.cancel()).toBe(true);
      expect(second.cancelled()).toBe(true);
      expect(engine.held()).toEqual({ waiting: 0, withdrawn: 1 });
      release(flags);
      expect(await first).toBe('first');
      expect(await ex.submit(rt.counted, counter, 'third')).toBe('third');
      // Only the third job counted: the cancelled one never ran.
      expect(Atomics.load(counter, 0)).toBe(1);

      const blocker = ex.submit(rt.hold, flags2, 'blocker');
      const behind = ex.submit(rt.hold, flags3, 'behind');
      await within(heldStarted(flags2), 10_000, 'the blocker');
      expect(behind.running()).toBe(false);
      release(flags2);
      await within(heldStarted(flags3), 10_000, 'the job behind it');
      expect(behind.running()).toBe(true);
      expect(behind.cancel()).toBe(false);
      release(flags3);
      expect(await behind).toBe('behind');
      expect(behind.running()).toBe(false);
      expect(await blocker).toBe('blocker');
    } finally {
      for (const each of [flags, flags2, flags3]) release(each);
      await ex.shutdown({ cancelFutures: true });
    }
  });

  it('cancels under contention: the jobs that ran are exactly the futures not cancelled', async () => {
    const ex = executor(2, 4);
    try {
      for (let round = 0; round < 5; round++) {
        const counter = shared(1);
        const futures = Array.from({ length: 400 }, (_, n) => ex.submit(rt.counted, counter, n));
        let cancelled = 0;
        // Cancel every third one, some before and some after the workers reach it.
        for (let n = 0; n < futures.length; n += 3) {
          if (n % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
          if (futures[n]!.cancel()) cancelled++;
        }
        const outcomes = await within(Promise.allSettled(futures), 15_000, 'the futures');
        const ran = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
        expect(futures.filter((future) => future.cancelled())).toHaveLength(cancelled);
        expect(ran).toBe(futures.length - cancelled);
        expect(Atomics.load(counter, 0)).toBe(ran);
      }
    } finally {
      await ex.shutdown();
    }
  });

  it('a timeout stops the running job; the job held behind it in the same worker runs', async () => {
    const p = pool(1, 2);
    try {
      const counter = shared(1);
      const flags = shared();
      const stuck = p.apply(rt.hold, [flags, 'never'], { timeout: 300 });
      const behind = p.apply(rt.counted, [counter, 'behind']);
      expect(engine.held()).toEqual({ waiting: 1, withdrawn: 0 });
      await expect(within(stuck, 10_000, 'the stuck job')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
      expect(await within(behind, 10_000, 'the job behind it')).toBe('behind');
      expect(Atomics.load(counter, 0)).toBe(1);

      const flags2 = shared();
      const controller = new AbortController();
      const running = p.apply(rt.hold, [flags2, 'never'], { signal: controller.signal });
      const heldBehind = p.apply(rt.counted, [counter, 'held']);
      await within(heldStarted(flags2), 10_000, 'the running job');
      controller.abort();
      await expect(running).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
      expect(await within(heldBehind, 10_000, 'the held job')).toBe('held');
      expect(Atomics.load(counter, 0)).toBe(2);
    } finally {
      await p.terminate();
    }
  });

  it('async jobs held by one worker never interleave, and each worker starts its jobs in the order they came', async () => {
    const p = pool(2, 4);
    try {
      for (let round = 0; round < 3; round++) {
        const steps = await within(
          p.starmap(
            rt.asyncStep,
            Array.from({ length: 200 }, (_, id) => [id, (id + round) % 4] as [number, number]),
            { chunksize: 1 },
          ),
          15_000,
          'the async map',
        );
        expect(steps.map((step) => step.id)).toEqual(Array.from({ length: 200 }, (_, id) => id));
        expect(steps.every((step) => step.overlaps === 0)).toBe(true);
        for (const thread of new Set(steps.map((step) => step.thread))) {
          const ids = steps
            .filter((step) => step.thread === thread)
            .sort((a, b) => a.order - b.order)
            .map((step) => step.id);
          expect(ids).toEqual([...ids].sort((a, b) => a - b));
        }
      }
    } finally {
      await p.terminate();
    }
  });

  it('terminate() fails every job the workers hold with ERR_CANCELLED; none of the held ones runs', async () => {
    const p = pool(1, 4);
    const counter = shared(1);
    const flags = shared();
    const first = p.apply(rt.hold, [flags, 'never']);
    const held = Array.from({ length: 3 }, (_, i) => p.apply(rt.counted, [counter, i]));
    const queued = Array.from({ length: 3 }, (_, i) => p.apply(rt.counted, [counter, i]));
    expect(engine.held()).toEqual({ waiting: 3, withdrawn: 0 });
    expect(p.stats()).toMatchObject({ running: 1, queued: 6 });
    await within(heldStarted(flags), 10_000, 'the first job');
    await within(p.terminate(), 10_000, 'terminate()');
    for (const each of [first, ...held, ...queued]) await expect(each).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    expect(Atomics.load(counter, 0)).toBe(0);
  });
});

describe('the port path', () => {
  beforeAll(() => {
    ports = true;
  });

  it('an abort of a job handed to a worker that has not reached it cancels it: it never runs, and no thread is terminated', async () => {
    for (let round = 0; round < 3; round++) {
      // A fresh worker is still booting: the job handed to it now cannot have started.
      const p = pool(1, 2);
      try {
        const threads = engine.threadIds();
        const counter = shared(1);
        const controller = new AbortController();
        const aborted = p.apply(rt.counted, [counter, 'aborted'], { signal: controller.signal });
        controller.abort();
        await expect(aborted).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
        // Answered after the aborted one by the same worker: that one was answered "not run".
        expect(await within(p.apply(rt.counted, [counter, 'next']), 10_000, 'the next job')).toBe('next');
        expect(Atomics.load(counter, 0)).toBe(1);
        expect(engine.threadIds()).toEqual(threads);
      } finally {
        await p.terminate();
      }
    }
  });

  it('one worker dying in rounds: its held jobs and the ones waiting for its replacement run exactly once', async () => {
    const p = pool(1, 4);
    try {
      for (let round = 0; round < 3; round++) {
        const counter = shared(1);
        const dieAt = 40 + round * 7;
        const outcomes = await within(
          Promise.allSettled(Array.from({ length: 200 }, (_, n) => p.apply(rt.countedOrDie, [counter, n, dieAt]))),
          15_000,
          `round ${round}`,
        );
        const failed = outcomes.flatMap((outcome, n) => (outcome.status === 'rejected' ? [n] : []));
        expect(failed).toEqual([dieAt]);
        expect(outcomes[dieAt]).toMatchObject({ reason: { code: 'ERR_WORKER_EXITED', exitCode: 3 } });
        expect(Atomics.load(counter, 0)).toBe(199);
        expect(engine.held()).toEqual({ waiting: 0, withdrawn: 0 });
      }
    } finally {
      await p.terminate();
    }
  });
});
