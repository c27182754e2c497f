/** The lock-free index ring: FIFO, empty detection, and the wrap of its 32-bit positions. */
import { INDEX_BITS, IndexRing, MIN_RING_CELLS, cellOf, ringCells } from '../../lib/ipc/index-ring';

const HEAD = 0;
const TAIL = 1;
const FIRST_CELL = 2;

function ringAt(start: number, cells = MIN_RING_CELLS): { ring: IndexRing; words: Int32Array } {
  const words = new Int32Array(new SharedArrayBuffer((FIRST_CELL + cells) * 4));
  words[HEAD] = start | 0;
  words[TAIL] = start | 0;
  // Each cell empty for the lap in which position `start + k` reaches it.
  const shift = Math.log2(cells);
  for (let k = 0; k < cells; k++) {
    const position = (start + k) >>> 0;
    const round = (position >>> shift) & ((1 << (32 - INDEX_BITS - 1)) - 1);
    words[FIRST_CELL + cellOf(position, cells - 1, shift)] = (round << (INDEX_BITS + 1)) | 0;
  }
  return { ring: new IndexRing(words, HEAD, TAIL, FIRST_CELL, cells), words };
}

describe('IndexRing', () => {
  it('is FIFO, reports empty with -1, and counts its size', () => {
    const { ring } = ringAt(0);
    expect(ring.pop()).toBe(-1);
    for (let i = 0; i < 100; i++) ring.push(i);
    expect(ring.size()).toBe(100);
    for (let i = 0; i < 100; i++) expect(ring.pop()).toBe(i);
    expect(ring.pop()).toBe(-1);
    expect(ring.size()).toBe(0);
  });

  it('goes on across the wrap of its positions at 2^31 and 2^32', () => {
    for (const start of [2 ** 31 - 5_000, 2 ** 32 - 5_000]) {
      const { ring, words } = ringAt(start);
      let next = 0;
      let expected = 0;
      // Net growth 2 per round, staying under the ring's capacity (the caller's invariant).
      for (let round = 0; round < 1_500; round++) {
        for (let i = 0; i < 7; i++) ring.push(next++ % 100_000);
        for (let i = 0; i < 5; i++) expect(ring.pop()).toBe(expected++ % 100_000);
      }
      expect(ring.size()).toBe(next - expected);
      while (expected < next) expect(ring.pop()).toBe(expected++ % 100_000);
      expect(ring.pop()).toBe(-1);
      // Both counters wrapped past where they started.
      expect(words[HEAD]! >>> 0 < start >>> 0).toBe(start === 2 ** 32 - 5_000);
    }
  });

  it('holds the largest block number and sizes rings to powers of two', () => {
    const { ring } = ringAt(0);
    ring.push((1 << INDEX_BITS) - 1);
    ring.push(0);
    expect(ring.pop()).toBe((1 << INDEX_BITS) - 1);
    expect(ring.pop()).toBe(0);
    expect(ringCells(1)).toBe(MIN_RING_CELLS);
    expect(ringCells(MIN_RING_CELLS + 1)).toBe(MIN_RING_CELLS * 2);
  });
});
