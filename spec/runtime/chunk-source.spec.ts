import { adaptiveChunksize, fixedChunksize, openSource } from '../../lib/runtime/chunk-source';

function* throwingGenerator(total: number, when: number): Generator<number> {
  for (let i = 0; i < total; i++) {
    if (i === when) throw new Error(`SayWhenError at ${i}`);
    yield i;
  }
}

describe('chunk sources', () => {
  it('slices arrays and reads iterables chunk by chunk', async () => {
    const fromArray = openSource([1, 2, 3, 4, 5], 2);
    expect([fromArray.next(), fromArray.next(), fromArray.next(), fromArray.next()]).toEqual([[1, 2], [3, 4], [5], undefined]);
    expect(fromArray.total).toBe(5);
    const fromSet = openSource(new Set([1, 2, 3]), 2);
    expect([fromSet.next(), fromSet.next(), fromSet.next()]).toEqual([[1, 2], [3], undefined]);
    async function* gen(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      yield 3;
    }
    const fromAsync = openSource(gen(), 2);
    expect(await fromAsync.next()).toEqual([1, 2]);
    expect(await fromAsync.next()).toEqual([3]);
    expect(await fromAsync.next()).toBeUndefined();
  });

  it('with a fixed chunksize drops the partial chunk when the input throws (as CPython)', () => {
    const source = openSource(throwingGenerator(10, 3), fixedChunksize(2));
    expect(source.next()).toEqual([0, 1]);
    expect(() => source.next()).toThrow('SayWhenError at 3');
  });

  it('with the adaptive chunksize sends the items read before the error, then throws', () => {
    const sizer = adaptiveChunksize();
    sizer.observe(1, 0.01);
    sizer.observe(2, 0.01);
    expect(sizer.size).toBe(4);
    const source = openSource(throwingGenerator(10, 3), sizer);
    expect(source.next()).toEqual([0, 1, 2]);
    expect(() => source.next()).toThrow('SayWhenError at 3');
  });

  it('adapts: grows at most ×2 per chunk while chunks are quick, shrinks at once when items are slow', () => {
    const sizer = adaptiveChunksize();
    expect(sizer.size).toBe(1);
    const sizes: number[] = [];
    for (let i = 0; i < 14; i++) {
      sizer.observe(sizer.size, sizer.size * 0.0001); // 0.1 µs per item
      sizes.push(sizer.size);
    }
    expect(sizes.slice(0, 5)).toEqual([2, 4, 8, 16, 32]);
    expect(sizes.at(-1)).toBe(4096);
    sizer.observe(4096, 4096 * 5); // 5 ms per item
    expect(sizer.size).toBe(1);
    sizer.observe(1, 0.5); // 0.5 ms per item: 4 items make 2 ms, but growth is at most ×2
    expect(sizer.size).toBe(2);
  });

  it('closes an unfinished iterator when stopped', () => {
    let closed = false;
    function* gen(): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const source = openSource(gen(), 3);
    expect(source.next()).toEqual([0, 1, 2]);
    source.close();
    expect(closed).toBe(true);
  });
});
