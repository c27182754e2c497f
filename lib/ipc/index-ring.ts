/**
 * A bounded, lock-free, many-producer many-consumer FIFO of small integers
 * (block numbers) in shared memory. The queue keeps two of them: the blocks
 * that hold items, in order, and the blocks that are free.
 *
 * Design: the cell-per-position ring of Morrison and Afek's CRQ ("Fast
 * concurrent queues for x86 processors", PPoPP 2013) and Vyukov's bounded MPMC
 * queue, reduced to what a thread that can be killed at any instruction
 * (`worker.terminate()`) must not break:
 *
 * - Every push and pop *commits with one compare-and-swap on its cell*. A cell
 *   word is `round | FULL | block` (full, for the lap `round`) or `round`
 *   (empty, waiting for the lap `round`). A thread killed before that CAS has
 *   changed nothing; one killed after it has finished its operation.
 * - `head` and `tail` are hints that anyone may advance ("helping", as in the
 *   Michael–Scott queue): a pusher that finds the cell at `tail` already full
 *   for this lap moves `tail` on, so a thread killed between its commit and
 *   its own `tail` update never stalls the others.
 *
 * There is no lock anywhere, so nothing can be left locked. The caller keeps
 * the invariant that at most `capacity` numbers are in the ring (the queue has
 * at most `capacity` blocks in all), so a push always finds a cell.
 *
 * Rounds are 14 bits and positions wrap at 2^32 (the capacity is a power of
 * two, so `position & mask` stays right across the wrap). A stale position is
 * only mistaken for a current one after 2^14 laps of the ring (2^26 operations
 * at the smallest capacity) while one thread sleeps between two instructions.
 */

/** Bits of a cell word that hold the block number: blocks are numbered below 2^17. */
export const INDEX_BITS = 17;
/** The most blocks one ring can number. */
export const MAX_BLOCKS = (1 << INDEX_BITS) - 1;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const FULL = 1 << INDEX_BITS;
const ROUND_SHIFT = INDEX_BITS + 1;
const ROUND_MASK = (1 << (32 - ROUND_SHIFT)) - 1;
/** Smallest ring, so that the round tag's wrap-around needs many operations. */
export const MIN_RING_CELLS = 4096;
/** log2 of the cells in one 64-byte cache line. */
const LINE_SHIFT = 4;

/**
 * Where position `position` lives: consecutive positions go to cells one cache
 * line apart (a rotation of the index bits), so a producer just ahead of a
 * consumer does not fight it for one line of cells.
 */
export function cellOf(position: number, mask: number, shift: number): number {
  const index = position & mask;
  return (index >>> (shift - LINE_SHIFT)) | ((index << LINE_SHIFT) & mask);
}

/** Cells for a ring that must hold up to `blocks` numbers: a power of two ≥ `blocks` and ≥ `MIN_RING_CELLS`. */
export function ringCells(blocks: number): number {
  let cells = MIN_RING_CELLS;
  while (cells < blocks) cells *= 2;
  return cells;
}

export class IndexRing {
  readonly #words: Int32Array;
  readonly #head: number;
  readonly #tail: number;
  readonly #cells: number;
  readonly #mask: number;
  readonly #shift: number;

  /**
   * A view of a ring whose `head` and `tail` counters sit at word indexes `head`
   * and `tail` of `words`, and whose `cells` cell words start at index `firstCell`.
   * Fresh (zeroed) memory is an empty ring.
   */
  constructor(words: Int32Array, head: number, tail: number, firstCell: number, cells: number) {
    this.#words = words;
    this.#head = head;
    this.#tail = tail;
    this.#cells = firstCell;
    this.#mask = cells - 1;
    this.#shift = Math.log2(cells);
  }

  /** Appends `block` (< 2^17). The ring must have room (the caller's invariant). */
  push(block: number): void {
    const words = this.#words;
    for (;;) {
      const tail = Atomics.load(words, this.#tail);
      const cell = this.#cells + cellOf(tail, this.#mask, this.#shift);
      const empty = (((tail >>> this.#shift) & ROUND_MASK) << ROUND_SHIFT) | 0;
      const seen = Atomics.load(words, cell);
      if (seen === empty) {
        if (Atomics.compareExchange(words, cell, empty, empty | FULL | block) === empty) {
          Atomics.compareExchange(words, this.#tail, tail, (tail + 1) | 0);
          return;
        }
      } else if ((seen & ~INDEX_MASK) === (empty | FULL)) {
        // Filled at this position by a pusher that has not moved `tail` on (yet, or ever).
        Atomics.compareExchange(words, this.#tail, tail, (tail + 1) | 0);
      }
      // Otherwise `tail` was stale: read it again.
    }
  }

  /** Removes and returns the oldest block number, or -1 when the ring is empty. */
  pop(): number {
    const words = this.#words;
    for (;;) {
      const head = Atomics.load(words, this.#head);
      const cell = this.#cells + cellOf(head, this.#mask, this.#shift);
      const round = (head >>> this.#shift) & ROUND_MASK;
      const empty = (round << ROUND_SHIFT) | 0;
      const nextEmpty = (((round + 1) & ROUND_MASK) << ROUND_SHIFT) | 0;
      const seen = Atomics.load(words, cell);
      if ((seen & ~INDEX_MASK) === (empty | FULL)) {
        if (Atomics.compareExchange(words, cell, seen, nextEmpty) === seen) {
          Atomics.compareExchange(words, this.#head, head, (head + 1) | 0);
          return seen & INDEX_MASK;
        }
      } else if (seen === empty) {
        // Nothing was committed at `head`, and pushers commit only at `tail`,
        // which never passes an empty cell: the ring is empty (if `head` is current).
        if (Atomics.load(words, this.#head) === head) return -1;
      } else if (seen === nextEmpty) {
        // Taken by a popper that has not moved `head` on.
        Atomics.compareExchange(words, this.#head, head, (head + 1) | 0);
      }
    }
  }

  /** How many numbers are in the ring (exact when no push or pop is under way). */
  size(): number {
    const size = (Atomics.load(this.#words, this.#tail) - Atomics.load(this.#words, this.#head)) | 0;
    return Math.max(size, 0);
  }
}
