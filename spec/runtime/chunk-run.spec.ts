import { ChunkRun, type ChunkConsumer, type ChunkRunOptions } from '../../lib/runtime/chunk-run';
import { openSource } from '../../lib/runtime/chunk-source';
import { CallKind } from '../../lib/runtime/protocol';
import { FakeDispatcher, itemsOf } from './fake-dispatcher';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

interface Recorded {
  results: Array<[unknown[], number]>;
  failed: unknown[];
  done: number;
  settled: number;
}

function makeRun(
  items: unknown,
  overrides: Partial<ChunkRunOptions> & { chunksize?: number } = {},
  dispatcher = new FakeDispatcher(),
): { run: ChunkRun; dispatcher: FakeDispatcher; seen: Recorded } {
  const seen: Recorded = { results: [], failed: [], done: 0, settled: 0 };
  const consumer: ChunkConsumer = {
    results: (values, offset) => seen.results.push([values, offset]),
    failed: (error) => seen.failed.push(error),
    done: () => seen.done++,
  };
  const run = new ChunkRun(
    dispatcher,
    {
      spec: { file: '', name: '(x) => x' },
      kind: CallKind.Map,
      source: openSource(items, overrides.chunksize ?? 2, 'items', false),
      ordered: true,
      readAhead: 3,
      rootName: 'items',
      signal: undefined,
      onProgress: undefined,
      release: 'auto',
      onSettled: () => seen.settled++,
      ...overrides,
    },
    consumer,
  );
  return { run, dispatcher, seen };
}

describe('ChunkRun (against a fake dispatcher)', () => {
  it('keeps at most readAhead chunks outstanding and reads on as results are delivered', () => {
    const { run, dispatcher, seen } = makeRun(range(20));
    run.start();
    expect(dispatcher.entries).toHaveLength(3);
    dispatcher.answer(dispatcher.entries[0]!);
    expect(dispatcher.entries).toHaveLength(4);
    expect(seen.results).toEqual([[[0, 1], 0]]);
  });

  it('ordered: delivers chunk k only after chunks 0..k-1, with input offsets', () => {
    const { run, dispatcher, seen } = makeRun(range(6));
    run.start();
    const [a, b, c] = dispatcher.entries;
    dispatcher.answer(c!);
    dispatcher.answer(b!);
    expect(seen.results).toEqual([]);
    dispatcher.answer(a!);
    expect(seen.results).toEqual([
      [[0, 1], 0],
      [[2, 3], 2],
      [[4, 5], 4],
    ]);
    expect(seen.done).toBe(1);
    expect(seen.settled).toBe(1);
  });

  it('unordered: delivers each chunk as it completes', () => {
    const { run, dispatcher, seen } = makeRun(range(6), { ordered: false });
    run.start();
    const [a, b, c] = dispatcher.entries;
    dispatcher.answer(c!);
    dispatcher.answer(a!);
    dispatcher.answer(b!);
    expect(seen.results.map(([, offset]) => offset)).toEqual([4, 0, 2]);
    expect(seen.done).toBe(1);
  });

  it('a task error: reported at its position, queued chunks after it withdrawn, running ones finish before it settles', () => {
    const { run, dispatcher, seen } = makeRun(range(20), { ordered: false, readAhead: 4 });
    run.start();
    const [a, b, c, d] = dispatcher.entries;
    dispatcher.start(a!);
    dispatcher.start(c!);
    dispatcher.answerWithError(b!, 3, new RangeError('bad 3'));
    expect(seen.failed).toHaveLength(1);
    expect(seen.failed[0]).toBeInstanceOf(RangeError);
    // Queued chunk d (after the failure) was withdrawn; nothing more was read.
    expect(d!.state).toBe('cancelled');
    expect(dispatcher.entries).toHaveLength(4);
    expect(seen.settled).toBe(0);
    dispatcher.answer(a!);
    expect(seen.settled).toBe(0);
    dispatcher.answer(c!);
    expect(seen.settled).toBe(1);
    expect(seen.results).toEqual([[[2], 2]]);
  });

  it('ordered error: earlier results first, then the error', () => {
    const { run, dispatcher, seen } = makeRun(range(6));
    run.start();
    const [a, b, c] = dispatcher.entries;
    dispatcher.answerWithError(b!, 3, new Error('bad 3'));
    dispatcher.answer(c!);
    expect(seen.failed).toHaveLength(0);
    dispatcher.answer(a!);
    expect(seen.results).toEqual([
      [[0, 1], 0],
      [[2], 2],
    ]);
    expect(seen.failed).toHaveLength(1);
    expect(seen.done).toBe(0);
  });

  it('an input error takes the position of the chunk being read', () => {
    function* failing(): Generator<number> {
      yield 0;
      yield 1;
      yield 2;
      throw new Error('input broke');
    }
    const { run, dispatcher, seen } = makeRun(failing(), { readAhead: 5 });
    run.start();
    expect(dispatcher.entries).toHaveLength(1);
    dispatcher.answer(dispatcher.entries[0]!);
    expect(seen.results).toEqual([[[0, 1], 0]]);
    expect((seen.failed[0] as Error).message).toBe('input broke');
  });

  it('an abort fails the run at once and withdraws queued chunks', () => {
    const controller = new AbortController();
    const { run, dispatcher, seen } = makeRun(range(10), { signal: controller.signal });
    run.start();
    dispatcher.start(dispatcher.entries[0]!);
    controller.abort(new Error('stop'));
    expect((seen.failed[0] as Error).message).toBe('stop');
    expect(dispatcher.entries.slice(1).every((entry) => entry.state === 'cancelled')).toBe(true);
    expect(seen.settled).toBe(0);
    dispatcher.fail(dispatcher.entries[0]!, controller.signal.reason);
    expect(seen.settled).toBe(1);
    expect(seen.failed).toHaveLength(1);
  });

  it('stop() withdraws queued chunks without an error; a job failed inside submit() is counted once', () => {
    const { run, dispatcher, seen } = makeRun(range(10));
    run.start();
    run.stop();
    expect(dispatcher.entries.every((entry) => entry.state === 'cancelled')).toBe(true);
    expect(seen.failed).toHaveLength(0);
    expect(seen.settled).toBe(1);

    // Re-entrancy: a dispatcher that fails every job synchronously inside submit().
    const refusing = new FakeDispatcher();
    refusing.submit = (job) => {
      const entry = { job, state: 'done' as const };
      job.onFailure(new Error('refused'));
      return entry;
    };
    const second = makeRun(range(10), {}, refusing);
    second.run.start();
    expect(second.seen.failed).toHaveLength(1);
    expect(second.seen.settled).toBe(1);
  });

  it('re-entrancy: a dispatcher that answers inside submit() delivers everything once, in order', () => {
    const dispatcher = new FakeDispatcher();
    const submit = dispatcher.submit.bind(dispatcher);
    dispatcher.submit = (job) => {
      const entry = submit(job);
      dispatcher.answer(entry, (x) => (x as number) * 10);
      return entry;
    };
    const { run, seen } = makeRun(range(7), {}, dispatcher);
    run.start();
    expect(seen.results.flatMap(([values]) => values)).toEqual(range(7).map((x) => x * 10));
    expect(seen.done).toBe(1);
    expect(seen.settled).toBe(1);
  });

  it('manual release: reads on only as the consumer takes chunks; drain() reads to the end without it', () => {
    const { run, dispatcher } = makeRun(range(40), { release: 'manual' });
    run.start();
    for (const entry of [...dispatcher.entries]) dispatcher.answer(entry);
    expect(dispatcher.entries).toHaveLength(3);
    run.release();
    expect(dispatcher.entries).toHaveLength(4);
    run.drain();
    while (dispatcher.queued().length > 0) for (const entry of dispatcher.queued()) dispatcher.answer(entry);
    expect(dispatcher.entries).toHaveLength(20);
  });

  it('an uncloneable item fails the run with its path counted from the input', () => {
    const { run, seen } = makeRun([1, 2, 3, { cb: () => 1 }], { chunksize: 2 });
    run.start();
    expect((seen.failed[0] as Error).message).toMatch(/^items\[3\]\.cb is a function/);
  });

  it('packs chunks of numbers (map), encodes other chunks', () => {
    const items = [...range(64), 'x', ...range(63)];
    const { run, dispatcher } = makeRun(items[Symbol.iterator](), { chunksize: 64 });
    run.start();
    expect(dispatcher.entries.map((entry) => entry.job.request.input.kind)).toEqual(['packed', 'encoded']);
    expect(dispatcher.entries.flatMap((entry) => itemsOf(entry.job.request))).toEqual(items);
  });
});
