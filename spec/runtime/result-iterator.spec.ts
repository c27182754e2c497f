import type { ChunkConsumer } from '../../lib/runtime/chunk-run';
import { ResultIterator } from '../../lib/runtime/result-iterator';

/** A run driven by the test: it feeds the consumer by hand and counts releases. */
function manualRun(): { iterator: ResultIterator<number>; consumer: () => ChunkConsumer; releases: () => number; stopped: () => boolean } {
  let consumer: ChunkConsumer | undefined;
  let releases = 0;
  let stopped = false;
  const iterator = new ResultIterator<number>((given) => {
    consumer = given;
    return {
      start: () => undefined,
      release: () => {
        releases++;
      },
      stop: () => {
        stopped = true;
      },
    };
  });
  return { iterator, consumer: () => consumer!, releases: () => releases, stopped: () => stopped };
}

describe('ResultIterator', () => {
  it('overlapping next() calls each get their own result, in call order', async () => {
    const { iterator, consumer } = manualRun();
    const calls = [iterator.next(), iterator.next(), iterator.next(), iterator.next()];
    consumer().results([1, 2], 0);
    consumer().results([3], 2);
    consumer().done();
    expect(await Promise.all(calls)).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: 3, done: false },
      { value: undefined, done: true },
    ]);
  });

  it('a failure reaches the first waiting call after the earlier results; later calls see the end', async () => {
    const { iterator, consumer } = manualRun();
    const calls = [iterator.next(), iterator.next(), iterator.next()];
    consumer().results([1], 0);
    consumer().failed(new Error('boom'));
    const settled = await Promise.allSettled(calls);
    expect(settled[0]).toEqual({ status: 'fulfilled', value: { value: 1, done: false } });
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { message: 'boom' } });
    expect(settled[2]).toEqual({ status: 'fulfilled', value: { value: undefined, done: true } });
  });

  it('releases a chunk to the run only as the consumer takes it', async () => {
    const { iterator, consumer, releases } = manualRun();
    consumer().results([1, 2], 0);
    consumer().results([3], 2);
    expect(releases()).toBe(0);
    await iterator.next();
    expect(releases()).toBe(0);
    await iterator.next();
    expect(releases()).toBe(1);
    await iterator.next();
    expect(releases()).toBe(2);
  });

  it('return() stops the run, drops buffered results and ends waiting calls', async () => {
    const { iterator, consumer, stopped } = manualRun();
    consumer().results([1, 2], 0);
    const waiting = [iterator.next(), iterator.next(), iterator.next()];
    expect(await iterator.return()).toEqual({ value: undefined, done: true });
    expect(stopped()).toBe(true);
    expect((await Promise.all(waiting)).map((step) => step.done)).toEqual([false, false, true]);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('ResultIterator.failed reports its error from the first next(), then ends', async () => {
    const iterator = ResultIterator.failed<number>(new RangeError('bad argument'));
    await expect(iterator.next()).rejects.toThrow('bad argument');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('a release that delivers more results synchronously is answered once each (re-entrancy)', async () => {
    let consumer: ChunkConsumer | undefined;
    let next = 10;
    const iterator = new ResultIterator<number>((given) => {
      consumer = given;
      return {
        start: () => undefined,
        release: () => {
          if (next < 13) consumer!.results([next++], 0);
          else consumer!.done();
        },
        stop: () => undefined,
      };
    });
    const calls = [iterator.next(), iterator.next(), iterator.next(), iterator.next(), iterator.next()];
    consumer!.results([9], 0);
    expect((await Promise.all(calls)).map((step) => step.value)).toEqual([9, 10, 11, 12, undefined]);
  });
});
