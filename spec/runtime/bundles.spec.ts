// Bundles (TaskRequest.bundle): the remote worker's parts of one BullMQ job run as one local job,
// on the port path of lib/runtime/piscina-adapter.ts, and the worker answers each part as it ends
// (lib/entry/pool-worker.ts). What must hold: every part gets exactly one answer, in order; a part
// that throws fails alone; a part cancelled through its state word before the worker reached it
// never runs; a dying worker loses only the part it was running (the ones before it keep their
// answers, the ones behind it never started); an aborted bundle fails only after the answers of
// the parts that ended before the stop.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalDispatcher } from '../../lib/runtime/local-dispatcher';
import { PiscinaAdapter, WORKER_ENTRY } from '../../lib/runtime/piscina-adapter';
import { CallKind, PartState, type TaskRequest, type TaskResponse } from '../../lib/runtime/protocol';
import { poolWorkerData } from '../../lib/runtime/worker-settings';
import { within } from '../helpers/within';

const FILE = pathToFileURL(path.join(__dirname, '../fixtures/read-ahead-tasks.ts')).href;

function part(name: string, args: unknown[]): TaskRequest {
  return { file: FILE, name, kind: CallKind.Apply, input: { kind: 'encoded', args, shared: false } };
}
function shared(words: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}

interface Run {
  readonly states: Int32Array;
  readonly answers: TaskResponse[];
  /** The answers there were when the job ended, and how it ended. */
  readonly ended: Promise<{ answered: number; response?: TaskResponse; failure?: unknown }>;
}

function runBundle(d: LocalDispatcher, parts: TaskRequest[], signal?: AbortSignal): Run {
  const states = shared(parts.length);
  const answers: TaskResponse[] = [];
  const first = parts[0]!;
  const ended = new Promise<{ answered: number; response?: TaskResponse; failure?: unknown }>((resolve) => {
    d.submit({
      request: { ...first, input: { kind: 'encoded', args: [], shared: false }, bundle: { parts, states } },
      signal,
      onPart: (response) => answers.push(response),
      onResponse: (response) => resolve({ answered: answers.length, response }),
      onFailure: (failure) => resolve({ answered: answers.length, failure }),
    });
  });
  return { states, answers, ended };
}

function dispatcher(workers: number): LocalDispatcher {
  const engine = new PiscinaAdapter({
    filename: WORKER_ENTRY,
    workers,
    maxTasksPerChild: undefined,
    idleTimeout: undefined,
    resourceLimits: undefined,
    workerData: poolWorkerData(undefined, undefined),
  });
  return new LocalDispatcher(engine, { readAheadMaxMs: Infinity });
}

async function started(flags: Int32Array): Promise<void> {
  while (Atomics.load(flags, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('bundles: one local job, each part answered as it ends', () => {
  const d = dispatcher(2);
  afterAll(() => d.terminate(new Error('spec ended')));

  it('runs on the port path only: elsewhere a bundle is refused (ERR_INVALID_ARG)', async () => {
    expect(d.bundles).toBe(true);
    const recycled = new PiscinaAdapter({
      filename: WORKER_ENTRY,
      workers: 1,
      maxTasksPerChild: 5,
      idleTimeout: undefined,
      resourceLimits: undefined,
      workerData: poolWorkerData(undefined, undefined),
    });
    const other = new LocalDispatcher(recycled);
    try {
      expect(other.bundles).toBe(false);
      const refused = await within(runBundle(other, [part('counted', [shared(1), 'x'])]).ended, 10_000, 'the refusal');
      expect(refused).toEqual({ answered: 0, failure: expect.objectContaining({ code: 'ERR_INVALID_ARG' }) });
    } finally {
      await other.terminate(new Error('done'));
    }
  });

  it('answers every part in order; a part that throws fails alone; the job ends with the last answer', async () => {
    const counter = shared(1);
    const run = runBundle(d, [part('counted', [counter, 'a']), part('countedAndThrows', [counter, 1]), part('counted', [counter, 'b'])]);
    const end = await within(run.ended, 10_000, 'the bundle');
    expect(run.answers.map((answer) => answer.part)).toEqual([0, 1, 2]);
    expect(run.answers.map((answer) => answer.result)).toEqual(['a', undefined, 'b']);
    expect(run.answers[1]!.error).toBeDefined();
    expect(run.answers.every((answer) => typeof answer.ms === 'number' && answer.ms >= 0)).toBe(true);
    expect(end).toEqual({ answered: 3, response: run.answers[2] });
    expect(Atomics.load(counter, 0)).toBe(3);
    // A part's word turns DONE once its answer is posted: the last one's may still read STARTED here.
    expect([...run.states.subarray(0, 2)]).toEqual([PartState.Done, PartState.Done]);
  });

  it('a part cancelled before its worker reached it never runs; it is answered "not run"', async () => {
    const counter = shared(1);
    const flags = shared(2);
    const run = runBundle(d, [part('hold', [flags, 'x']), part('counted', [counter, 'y']), part('counted', [counter, 'z'])]);
    await within(started(flags), 10_000, 'the first part');
    expect(Atomics.compareExchange(run.states, 1, PartState.Queued, PartState.Cancelled)).toBe(PartState.Queued);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await within(run.ended, 10_000, 'the bundle');
    expect(run.answers.map((answer) => [answer.part, answer.notRun ?? false, answer.result])).toEqual([
      [0, false, 'x'],
      [1, true, undefined],
      [2, false, 'z'],
    ]);
    expect(Atomics.load(counter, 0)).toBe(1);
  });

  it('a dying worker: the parts before keep their answers, the running one is STARTED, the ones behind never started', async () => {
    const counter = shared(1);
    const run = runBundle(d, [part('counted', [counter, 0]), part('countedOrDie', [counter, 1, 1]), part('counted', [counter, 2])]);
    const end = await within(run.ended, 10_000, 'the bundle');
    expect(end.answered).toBe(1);
    expect(end.failure).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 3 });
    expect(run.answers.map((answer) => answer.result)).toEqual([0]);
    expect([...run.states]).toEqual([PartState.Done, PartState.Started, PartState.Queued]);
    expect(Atomics.load(counter, 0)).toBe(1);
    // The worker was replaced: the next bundle runs.
    const next = runBundle(d, [part('counted', [counter, 'again'])]);
    expect((await within(next.ended, 10_000, 'the next bundle')).response?.result).toBe('again');
  });

  it('an aborted bundle fails with the reason after the answers of the parts that ended before the stop', async () => {
    const counter = shared(1);
    const flags = shared(2);
    const controller = new AbortController();
    const run = runBundle(
      d,
      [part('counted', [counter, 0]), part('hold', [flags, 'never']), part('counted', [counter, 2])],
      controller.signal,
    );
    await within(started(flags), 10_000, 'the held part');
    expect(Atomics.compareExchange(run.states, 2, PartState.Queued, PartState.Cancelled)).toBe(PartState.Queued);
    const reason = new Error('stop it');
    controller.abort(reason);
    const end = await within(run.ended, 10_000, 'the bundle');
    expect(end).toEqual({ answered: 1, failure: reason });
    expect(Atomics.load(counter, 0)).toBe(1);
  });

  it('under contention: the parts whose cancel won the race are exactly the parts answered "not run"', async () => {
    const bundles = 4;
    const size = 200;
    for (let round = 0; round < 20; round++) {
      const counter = shared(1);
      const runs = Array.from({ length: bundles }, (_, b) =>
        runBundle(
          d,
          Array.from({ length: size }, (_, i) => part('counted', [counter, b * size + i])),
        ),
      );
      // Once the workers are at it, cancel every third part of every bundle while they claim them.
      await new Promise((resolve) => setImmediate(resolve));
      const cancelled = new Set<number>();
      for (let i = round % 3; i < size; i += 3) {
        for (const [b, run] of runs.entries()) {
          if (Atomics.compareExchange(run.states, i, PartState.Queued, PartState.Cancelled) === PartState.Queued)
            cancelled.add(b * size + i);
        }
      }
      await within(Promise.all(runs.map((run) => run.ended)), 10_000, `round ${round}`);
      const notRun = new Set<number>();
      let ran = 0;
      for (const [b, run] of runs.entries()) {
        expect(run.answers.map((answer) => answer.part)).toEqual(Array.from({ length: size }, (_, i) => i));
        for (const answer of run.answers) {
          if (answer.notRun === true) notRun.add(b * size + answer.part!);
          else {
            expect(answer.result).toBe(b * size + answer.part!);
            ran++;
          }
        }
      }
      expect(notRun).toEqual(cancelled);
      expect(Atomics.load(counter, 0)).toBe(ran);
      expect(ran + cancelled.size).toBe(bundles * size);
    }
  });
});
