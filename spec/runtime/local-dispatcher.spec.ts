import type { TransferListItem } from 'node:worker_threads';
import { encodeError } from '../../lib/codec/error-codec';
import { CancelledError, PoolBrokenError } from '../../lib/errors';
import type { Job } from '../../lib/runtime/dispatch';
import { LocalDispatcher, READ_AHEAD_MAX_MS, type WorkerEngine } from '../../lib/runtime/local-dispatcher';
import { CallKind, type TaskRequest, type TaskResponse } from '../../lib/runtime/protocol';

/** An engine without threads: each run() waits until the test settles it. */
class FakeEngine implements WorkerEngine {
  readonly runs: Array<{ request: TaskRequest; resolve: (response: TaskResponse) => void; reject: (error: unknown) => void }> = [];
  closed = 0;
  destroyed = 0;
  constructor(
    readonly workers: number,
    readonly depth = 1,
  ) {}
  withdraw(): boolean {
    return false;
  }
  started(): boolean {
    return true;
  }
  stop(): boolean {
    return false;
  }
  run(request: TaskRequest, _transferList: TransferListItem[] | undefined, _signal: AbortSignal | undefined): Promise<TaskResponse> {
    return new Promise((resolve, reject) => this.runs.push({ request, resolve, reject }));
  }
  async close(): Promise<void> {
    this.closed++;
  }
  async destroy(): Promise<void> {
    this.destroyed++;
    for (const run of this.runs.splice(0)) run.reject(new Error('worker stopped'));
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function job(name: string, log: string[]): Job {
  return {
    request: { file: '', name, kind: CallKind.Apply, input: { kind: 'encoded', args: [], shared: false } },
    onStart: () => log.push(`start ${name}`),
    onResponse: (response) => log.push(`done ${name} ${String(response.result)}`),
    onFailure: (error) => log.push(`failed ${name} ${(error as Error).message}`),
  };
}

describe('LocalDispatcher (against a fake engine)', () => {
  it('runs FIFO with at most one job per worker', async () => {
    const engine = new FakeEngine(2);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) dispatcher.submit(job(name, log));
    expect(engine.runs.map((run) => run.request.name)).toEqual(['a', 'b']);
    engine.runs[1]!.resolve({ result: 1, shared: false });
    await flush();
    expect(engine.runs.map((run) => run.request.name)).toEqual(['a', 'b', 'c']);
    engine.runs[0]!.resolve({ result: 2, shared: false });
    await flush();
    expect(engine.runs.map((run) => run.request.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(log).toEqual(['start a', 'start b', 'done b 1', 'start c', 'done a 2', 'start d']);
  });

  it('cancels a queued job exactly (never started, no callback); a running one cannot be', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    const a = dispatcher.submit(job('a', log));
    const b = dispatcher.submit(job('b', log));
    dispatcher.submit(job('c', log));
    expect(dispatcher.cancel(a)).toBe(false);
    expect(dispatcher.cancel(b)).toBe(true);
    expect(b.state).toBe('cancelled');
    engine.runs[0]!.resolve({ result: 0, shared: false });
    await flush();
    expect(engine.runs.map((run) => run.request.name)).toEqual(['a', 'c']);
    expect(log).toEqual(['start a', 'done a 0', 'start c']);
  });

  it('failQueued fails queued jobs only; running ones go on', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) dispatcher.submit(job(name, log));
    dispatcher.failQueued(new Error('no'));
    expect(log).toEqual(['start a', 'failed b no', 'failed c no']);
    engine.runs[0]!.resolve({ result: 5, shared: false });
    await flush();
    expect(log.at(-1)).toBe('done a 5');
  });

  it('close() waits for accepted jobs, then closes the engine', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    dispatcher.submit(job('a', log));
    dispatcher.submit(job('b', log));
    const closing = dispatcher.close();
    await flush();
    expect(engine.closed).toBe(0);
    engine.runs[0]!.resolve({ result: 1, shared: false });
    await flush();
    expect(engine.closed).toBe(0);
    engine.runs[1]!.resolve({ result: 2, shared: false });
    await closing;
    expect(engine.closed).toBe(1);
  });

  it('terminate(error) fails queued and running jobs with that error, and refuses later jobs', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    dispatcher.submit(job('a', log));
    dispatcher.submit(job('b', log));
    await dispatcher.terminate(new CancelledError('terminated'));
    await flush();
    dispatcher.submit(job('c', log));
    expect(log).toEqual(['start a', 'failed b terminated', 'failed a terminated', 'failed c terminated']);
    expect(engine.destroyed).toBe(1);
  });

  it('an initializer failure breaks the pool: that job, queued and later ones fail with PoolBrokenError', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const failures: unknown[] = [];
    const record = (name: string): Job => ({ ...job(name, []), onFailure: (error) => failures.push(error) });
    dispatcher.submit(record('a'));
    dispatcher.submit(record('b'));
    engine.runs[0]!.resolve({ result: undefined, shared: false, broken: encodeError(new Error('init failed')).error });
    await flush();
    dispatcher.submit(record('c'));
    expect(failures).toHaveLength(3);
    for (const failure of failures) expect(failure).toBeInstanceOf(PoolBrokenError);
    expect((failures[0] as PoolBrokenError).message).toContain('init failed');
  });

  it('a job whose signal aborted while queued fails with the reason and never starts', async () => {
    const engine = new FakeEngine(1);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    dispatcher.submit(job('a', log));
    const controller = new AbortController();
    dispatcher.submit({ ...job('b', log), signal: controller.signal });
    controller.abort(new Error('aborted'));
    engine.runs[0]!.resolve({ result: 1, shared: false });
    await flush();
    expect(log).toEqual(['start a', 'done a 1', 'failed b aborted']);
  });

  it.each([1, 4])('a job submitted with a signal already aborted fails with the reason and never reaches a worker (depth %i)', (depth) => {
    // With read-ahead the engine gets no signal and the dispatcher listens to it, and an aborted signal
    // never fires again: a job given to a free worker then ran unstoppable (a remote worker's part
    // cancelled before it was submitted kept its thread for ever).
    const engine = new FakeEngine(1, depth);
    const dispatcher = new LocalDispatcher(engine);
    const log: string[] = [];
    const controller = new AbortController();
    controller.abort(new Error('aborted'));
    const entry = dispatcher.submit({ ...job('a', log), signal: controller.signal });
    expect(engine.runs).toHaveLength(0);
    expect(entry.state).toBe('done');
    expect(log).toEqual(['failed a aborted']);
  });
});

/**
 * An engine whose workers hold up to `depth` jobs. The test says which of the jobs handed
 * to it wait behind another one (`waiting`), as the slots of the real engine do.
 */
class HoldingEngine extends FakeEngine {
  waiting = 0;
  release(): void {}
  held(): { waiting: number; withdrawn: number } {
    return { waiting: this.waiting, withdrawn: 0 };
  }
}

describe('LocalDispatcher read-ahead (against a fake engine and a hand-driven clock)', () => {
  /** A dispatcher over 2 workers of depth 4 whose recent job time is `ms` (one job answered after `ms`). */
  async function afterOneJob(ms: number) {
    const engine = new HoldingEngine(2, 4);
    let now = 0;
    const dispatcher = new LocalDispatcher(engine, { clock: () => now });
    const log: string[] = [];
    dispatcher.submit(job('first', log));
    now += ms;
    engine.runs[0]!.resolve({ result: 0, shared: false });
    await flush();
    return { engine, dispatcher, log, advance: (by: number) => (now += by) };
  }

  it('no read-ahead before the first answer: one job per worker', () => {
    const engine = new HoldingEngine(2, 4);
    const dispatcher = new LocalDispatcher(engine, { clock: () => 0 });
    for (let i = 0; i < 20; i++) dispatcher.submit(job(`j${i}`, []));
    expect(engine.runs).toHaveLength(2);
  });

  it('a worker holds at most READ_AHEAD_MAX_MS of recent job time behind its running job, up to the depth', async () => {
    expect(READ_AHEAD_MAX_MS).toBe(2);
    // [recent job ms, jobs the engine takes for 2 workers of depth 4]
    const cases: [number, number][] = [
      [0, 8],
      [0.25, 8],
      [0.5, 8],
      [0.7, 6],
      [1, 6],
      [1.5, 4],
      [2, 4],
      [2.5, 2],
      [30, 2],
    ];
    for (const [ms, handed] of cases) {
      const { engine, dispatcher } = await afterOneJob(ms);
      for (let i = 0; i < 20; i++) dispatcher.submit(job(`j${i}`, []));
      expect({ ms, handed: engine.runs.length - 1 }).toEqual({ ms, handed });
    }
  });

  it('jobs waiting for workers that are still starting do not make room: one job per worker until the first answer', () => {
    const engine = new HoldingEngine(2, 4);
    const dispatcher = new LocalDispatcher(engine, { clock: () => 0 });
    // The engine has no worker ready: every job it takes waits in its slot.
    for (let i = 0; i < 10; i++) {
      engine.waiting = engine.runs.length;
      dispatcher.submit(job(`j${i}`, []));
    }
    expect(engine.runs).toHaveLength(2);
  });

  it('a worker with nothing to run gets the next job although the jobs held in the other worker fill the capacity', async () => {
    const { engine, dispatcher, advance } = await afterOneJob(0.5);
    const log: string[] = [];
    for (let i = 0; i < 12; i++) dispatcher.submit(job(`j${i}`, log));
    // Read-ahead at 0.5 ms: 8 jobs, each worker running one and holding 3 behind it.
    expect(engine.runs).toHaveLength(9);
    engine.waiting = 6;
    // Worker 2 answers its 4 jobs slowly (the capacity falls to 1 per worker); its held ones start in turn.
    for (const [run, waitingAfter] of [
      [5, 5],
      [6, 4],
      [7, 3],
    ] as const) {
      advance(30);
      engine.waiting = waitingAfter;
      engine.runs[run]!.resolve({ result: run, shared: false });
      await flush();
      expect(engine.runs).toHaveLength(9);
    }
    // Its last job done, worker 2 has nothing to run while worker 1 holds 3: it gets exactly one job.
    advance(30);
    engine.runs[8]!.resolve({ result: 8, shared: false });
    await flush();
    expect(engine.runs).toHaveLength(10);
    expect(engine.runs[9]!.request.name).toBe('j8');
  });
});
