/**
 * The engine under Queue, JoinableQueue and SimpleQueue: one SharedArrayBuffer
 * that any thread can attach to, holding
 *
 * - a header of counters (futex words for waiting, the unfinished-task count
 *   of a JoinableQueue);
 * - fixed-size data blocks (64 bytes: `next` block, total length, 56 bytes of
 *   payload), chained for bigger items;
 * - three lock-free index rings (./index-ring): the blocks holding items, in
 *   FIFO order, the free slot blocks, and the free chain blocks;
 * - the `taken` ring of the side channel (./side-channel).
 *
 * The first block of every item is a *slot*: a queue with a `maxsize` has
 * exactly `maxsize` slot blocks (and a separate pool of chain blocks for the
 * rest of bigger items), so "full" is simply "no free slot block", with no
 * counter that producers and consumers would fight over; an unbounded queue's
 * blocks are all slots and chain blocks alike.
 *
 * Memory grows with what the queue holds, not with its limit. The buffer is a
 * growable SharedArrayBuffer: its byte length covers the header, the rings and
 * the blocks handed out so far, and `maxByteLength` the most blocks the queue
 * may ever have (address space only, never committed). Blocks are handed out
 * by two bump counters (`FRESH_SLOTS`, `FRESH_CHAIN`) once the free rings are
 * empty, and the thread that takes a block past the end grows the buffer (by
 * doubling, so a queue holding n items has at most about 2n blocks of memory).
 * A queue that holds a few items touches a few pages, whatever its `maxsize`.
 * Grown memory is never given back while any handle holds the buffer: a queue
 * that once held 100,000 items keeps that memory until it is collected.
 *
 * A put pops a free slot (and
 * chain blocks), writes the item, and commits it with one push on the item
 * ring. A get pops the item ring, reads, and pushes the blocks back. Waiting is futex-style
 * on two sequence words (`PUT_SEQ` bumps after every put, `GET_SEQ` after every
 * get), with waiter counts so that nobody calls `Atomics.notify` when nobody
 * sleeps. Nothing is ever locked, so a thread killed anywhere leaves the queue
 * working: at worst the one item a killed producer was putting is not put
 * (and, if it died between taking a slot and committing, the queue keeps one
 * slot less), and the one item a killed consumer was getting is gone with it.
 */
import { QueueEmptyError, QueueFullError, UncloneableError } from '../errors';
import { invalidArg } from '../validate';
import { park, wake, type ParkResult, type Steps } from '../atomics/futex';
import { IndexRing, MAX_BLOCKS, ringCells } from './index-ring';
import { SIDE, decodePayload, sideMessage, type Payload } from './payload';
import { sideChannel, type Courier, type SideChannel, type SideMessage } from './side-channel';

const QUEUE_TAG = 0x51554555; // 'QUEU'

// Header words. The counters that producers and consumers hit on every call
// sit 16 words (one 64-byte cache line) apart, so that a producer and a
// consumer on two cores do not fight over one line (docs/design/queue.md has
// the measurement).
const TAG = 0;
const MAXSIZE = 1;
const BLOCKS = 2;
const RING_CELLS = 3;
const ID_LOW = 4;
const ID_HIGH = 5;
const SIDE_COUNTER = 6;
const SLOT_BLOCKS = 7;
/** Slot blocks handed out so far (numbered 0 … SLOT_BLOCKS - 1). */
const FRESH_SLOTS = 8;
/** Chain blocks handed out so far (numbered SLOT_BLOCKS … BLOCKS - 1). */
const FRESH_CHAIN = 9;
const LINE = 16;
const PUT_SEQ = LINE;
const GET_WAITERS = LINE + 1;
const GET_SEQ = 2 * LINE;
const PUT_WAITERS = 2 * LINE + 1;
const UNFINISHED = 4 * LINE;
const USED_HEAD = 5 * LINE;
const USED_TAIL = 6 * LINE;
const FREE_HEAD = 7 * LINE;
const FREE_TAIL = 8 * LINE;
const CHAIN_HEAD = 9 * LINE;
const CHAIN_TAIL = 10 * LINE;
const HEADER_WORDS = 11 * LINE;

const TAKEN_CELLS = 4096;

const BLOCK_SIZE = 64;
const BLOCK_HEADER = 8;
const BLOCK_DATA = BLOCK_SIZE - BLOCK_HEADER;
const NO_BLOCK = -1;
/** Chain blocks of a bounded queue, at least (512 KiB at most, grown as used): items up to ~450 KB stay in shared memory. */
const MIN_BLOCKS = 8192;
/** Blocks in a new queue's buffer (4 KiB); it grows from there. */
const INITIAL_BLOCKS = 64;

/** The most items any queue holds at once (also what "unbounded" means). */
export const MAX_QUEUE_ITEMS = MAX_BLOCKS;

/**
 * Spins of a blocking `getSync` before it parks, in case a producer is mid-put.
 * Kept short on purpose: on a machine with few cores, a long spin starves the
 * very thread it waits for (docs/design/queue.md has the measurements).
 */
const SPINS = 200;

/** A growable SharedArrayBuffer (ES2024; in Node 20, not in the ES2023 lib this project compiles against). */
interface GrowableBuffer extends SharedArrayBuffer {
  readonly growable: boolean;
  readonly maxByteLength: number;
  grow(byteLength: number): void;
}
const GrowableBuffer = SharedArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => GrowableBuffer;

/** "No item": distinct from every value a queue can hold. */
export const NONE: unique symbol = Symbol('none');

/** What a queue handle sends through the codec. */
export interface QueueDescriptor {
  buffer: SharedArrayBuffer;
  /** Side items the sender knew of (./side-channel). */
  side: SideMessage[];
  /** The port that brings side items posted while the handle travels. */
  courier?: Courier | undefined;
}

export class QueueCore {
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;
  /** Fixed-length views of the buffer as this handle last saw it (`#reach` renews them after growth). */
  #bytes: Uint8Array;
  #view: DataView;
  readonly #used: IndexRing;
  /** Free slot blocks (an item's first block). */
  readonly #free: IndexRing;
  /** Free blocks for the rest of a chained item (the slot ring itself when unbounded). */
  readonly #chainFree: IndexRing;
  readonly #slots: number;
  readonly #blocks: number;
  readonly #blocksAt: number;
  readonly #side: SideChannel;
  #released = false;

  /** A new empty queue holding at most `maxsize` items (0: up to `MAX_QUEUE_ITEMS`). */
  static create(maxsize: number): QueueCore {
    const slots = maxsize === 0 ? MAX_BLOCKS : Math.min(maxsize, MAX_BLOCKS);
    const chainBlocks = maxsize === 0 ? 0 : Math.min(MAX_BLOCKS - slots, Math.max(slots, MIN_BLOCKS));
    const blocks = slots + chainBlocks;
    const cells = ringCells(blocks);
    const blocksAt = align8((HEADER_WORDS + 3 * cells + TAKEN_CELLS) * 4);
    const maxByteLength = blocksAt + blocks * BLOCK_SIZE;
    const buffer = new GrowableBuffer(Math.min(maxByteLength, blocksAt + INITIAL_BLOCKS * BLOCK_SIZE), { maxByteLength });
    const words = new Int32Array(buffer, 0, HEADER_WORDS);
    words[MAXSIZE] = maxsize;
    words[BLOCKS] = blocks;
    words[SLOT_BLOCKS] = slots;
    words[RING_CELLS] = cells;
    words[SIDE_COUNTER] = 1;
    const id = crypto.getRandomValues(new Int32Array(2));
    words[ID_LOW] = id[0]!;
    words[ID_HIGH] = id[1]!;
    // Every ring starts empty (zeroed memory); blocks come from the bump counters.
    words[FRESH_CHAIN] = slots;
    Atomics.store(words, TAG, QUEUE_TAG);
    return new QueueCore(buffer, [], undefined);
  }

  /** Attaches to a queue another thread created. */
  static attach(descriptor: QueueDescriptor): QueueCore {
    const { buffer } = descriptor;
    if (
      Object.prototype.toString.call(buffer) !== '[object SharedArrayBuffer]' ||
      !(buffer as GrowableBuffer).growable ||
      buffer.byteLength < HEADER_WORDS * 4
    ) {
      throw invalidArg('buffer', 'the SharedArrayBuffer of a queue', buffer);
    }
    if (Atomics.load(new Int32Array(buffer, 0, 1), 0) !== QUEUE_TAG) {
      throw invalidArg('buffer', 'the SharedArrayBuffer of a queue', buffer);
    }
    return new QueueCore(buffer, descriptor.side ?? [], descriptor.courier);
  }

  private constructor(buffer: SharedArrayBuffer, side: readonly SideMessage[], courier: Courier | undefined) {
    this.buffer = buffer;
    const cells = Atomics.load(new Int32Array(buffer, 0, HEADER_WORDS), RING_CELLS);
    const words = new Int32Array(buffer, 0, HEADER_WORDS + 3 * cells + TAKEN_CELLS);
    this.#words = words;
    this.#bytes = new Uint8Array(buffer, 0, buffer.byteLength);
    this.#view = new DataView(buffer, 0, buffer.byteLength);
    this.#used = new IndexRing(words, USED_HEAD, USED_TAIL, HEADER_WORDS, cells);
    this.#free = new IndexRing(words, FREE_HEAD, FREE_TAIL, HEADER_WORDS + cells, cells);
    const unbounded = words[MAXSIZE] === 0;
    this.#chainFree = unbounded ? this.#free : new IndexRing(words, CHAIN_HEAD, CHAIN_TAIL, HEADER_WORDS + 2 * cells, cells);
    this.#slots = words[SLOT_BLOCKS]!;
    this.#blocks = words[BLOCKS]!;
    const takenAt = HEADER_WORDS + 3 * cells;
    this.#blocksAt = align8(takenAt * 4 + TAKEN_CELLS * 4);
    const name = `parapool.queue.${words[ID_LOW]}.${words[ID_HIGH]}`;
    this.#side = sideChannel(name, words, takenAt, TAKEN_CELLS);
    this.#side.arrive(side, courier);
  }

  /** The descriptor that recreates this queue in another thread. */
  describe(): QueueDescriptor {
    return { buffer: this.buffer, ...this.#side.handoff() };
  }

  /** Lets go of this handle's share of the thread's side channel. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#side.release();
  }

  get maxsize(): number {
    return this.#words[MAXSIZE]!;
  }

  qsize(): number {
    return this.#used.size();
  }

  full(): boolean {
    return this.#free.size() === 0 && Atomics.load(this.#words, FRESH_SLOTS) >= this.#slots;
  }

  // ------------------------------------------------------------- blocks and growth

  /** A free slot block (an item's first), or NO_BLOCK when the queue has every slot in use. */
  #takeSlot(): number {
    const block = this.#free.pop();
    return block !== NO_BLOCK ? block : this.#fresh(FRESH_SLOTS, this.#slots);
  }

  /** A free block for the rest of a chained item, or NO_BLOCK. */
  #takeChain(): number {
    const block = this.#chainFree.pop();
    if (block !== NO_BLOCK) return block;
    return this.#chainFree === this.#free ? this.#fresh(FRESH_SLOTS, this.#slots) : this.#fresh(FRESH_CHAIN, this.#blocks);
  }

  /** Hands out a never-used block from the bump counter at `counter` (below `limit`), growing the buffer to hold it. */
  #fresh(counter: number, limit: number): number {
    const words = this.#words;
    for (let next = Atomics.load(words, counter); next < limit; ) {
      const seen = Atomics.compareExchange(words, counter, next, next + 1);
      if (seen === next) {
        if (this.#grow(next)) return next;
        // No memory for it: give the number back, unless a later one was taken
        // meanwhile (then this one block stays unused: it has no memory behind it).
        Atomics.compareExchange(words, counter, next + 1, next);
        return NO_BLOCK;
      }
      next = seen;
    }
    return NO_BLOCK;
  }

  /** Makes sure the buffer (and this handle's views) reach block `block`; false when the memory cannot be had. */
  #grow(block: number): boolean {
    const need = this.#blocksAt + (block + 1) * BLOCK_SIZE;
    const buffer = this.buffer as GrowableBuffer;
    while (buffer.byteLength < need) {
      const before = buffer.byteLength;
      try {
        buffer.grow(Math.min(buffer.maxByteLength, Math.max(need, this.#blocksAt + 2 * (before - this.#blocksAt))));
      } catch {
        // Either another thread grew it meanwhile (grow never shrinks: look again), or the memory is not there.
        if (buffer.byteLength === before) return false;
      }
    }
    this.#reach(need);
    return true;
  }

  /** Renews this handle's views when another thread grew the buffer past them. */
  #reach(end: number): void {
    if (end <= this.#bytes.length) return;
    const length = this.buffer.byteLength;
    this.#bytes = new Uint8Array(this.buffer, 0, length);
    this.#view = new DataView(this.buffer, 0, length);
  }

  // ------------------------------------------------------------- items ↔ bytes

  #postSide(payload: Payload): number {
    // Never 0: the `taken` ring starts zeroed, and 0 there must not mean "item 0 was taken".
    let id = Atomics.add(this.#words, SIDE_COUNTER, 1);
    if (id === 0) id = Atomics.add(this.#words, SIDE_COUNTER, 1);
    const message = sideMessage(id, payload);
    try {
      this.#side.post(message);
    } catch (error) {
      throw new UncloneableError(`The queue item cannot be sent to another thread: ${(error as Error).message}`);
    }
    return id;
  }

  /**
   * Stores a payload for which a slot is already taken and commits it. Returns
   * false when not even one block is free (the caller waits for a get).
   */
  commit(payload: Payload, joinable: boolean): boolean {
    const first = this.#takeSlot();
    if (first === NO_BLOCK) return false;
    const data = payload.bytes;
    const at = this.#blocksAt + first * BLOCK_SIZE;
    this.#reach(at + BLOCK_SIZE);
    if (data !== undefined && data.length < BLOCK_DATA) {
      // The common case: one block.
      this.#view.setInt32(at, NO_BLOCK, true);
      this.#view.setInt32(at + 4, data.length + 1, true);
      this.#bytes[at + BLOCK_HEADER] = payload.format;
      this.#bytes.set(data, at + BLOCK_HEADER + 1);
    } else if (data === undefined || !this.#writeChain(first, payload.format, data)) {
      // Not bytes at all, or too big for the free blocks: the block names a side item.
      let id: number;
      try {
        id = this.#postSide(payload);
      } catch (error) {
        this.#free.push(first);
        throw error;
      }
      this.#view.setInt32(at, NO_BLOCK, true);
      this.#view.setInt32(at + 4, 5, true);
      this.#bytes[at + BLOCK_HEADER] = SIDE;
      this.#view.setInt32(at + BLOCK_HEADER + 1, id, true);
    }
    if (joinable) Atomics.add(this.#words, UNFINISHED, 1);
    this.#used.push(first);
    Atomics.add(this.#words, PUT_SEQ, 1);
    if (Atomics.load(this.#words, GET_WAITERS) > 0) wake(this.#words, PUT_SEQ);
    return true;
  }

  /** Writes a multi-block item from block `first` on; false (nothing taken) when too few blocks are free. */
  #writeChain(first: number, format: number, data: Uint8Array): boolean {
    const need = Math.ceil((data.length + 1) / BLOCK_DATA);
    const chain = [first];
    while (chain.length < need) {
      const block = this.#takeChain();
      if (block === NO_BLOCK) {
        for (let i = chain.length - 1; i > 0; i--) this.#freeBlock(chain[i]!);
        return false;
      }
      chain.push(block);
    }
    let last = 0;
    for (const block of chain) last = Math.max(last, block);
    this.#reach(this.#blocksAt + (last + 1) * BLOCK_SIZE);
    let offset = 0;
    for (let i = 0; i < need; i++) {
      const at = this.#blocksAt + chain[i]! * BLOCK_SIZE;
      this.#view.setInt32(at, i + 1 < need ? chain[i + 1]! : NO_BLOCK, true);
      this.#view.setInt32(at + 4, data.length + 1, true);
      let dataAt = at + BLOCK_HEADER;
      if (i === 0) this.#bytes[dataAt++] = format;
      const end = Math.min(offset + (at + BLOCK_SIZE - dataAt), data.length);
      this.#bytes.set(data.subarray(offset, end), dataAt);
      offset = end;
    }
    return true;
  }

  /** Takes the oldest item, or returns `NONE` when the queue is empty. */
  tryGet(): unknown {
    const first = this.#used.pop();
    if (first === NO_BLOCK) return NONE;
    const at = this.#blocksAt + first * BLOCK_SIZE;
    this.#reach(at + BLOCK_SIZE);
    let view = this.#view;
    const total = view.getInt32(at + 4, true);
    const chained = view.getInt32(at, true) !== NO_BLOCK;
    let source = this.#bytes;
    let sourceView = view;
    let start = at + BLOCK_HEADER;
    if (chained) {
      source = new Uint8Array(total);
      sourceView = new DataView(source.buffer);
      start = 0;
    }
    // Read the chain (copying it out when there is more than one block) and
    // free every block before decoding, so a bad item cannot leak blocks.
    let block = first;
    let copied = 0;
    while (block !== NO_BLOCK) {
      const blockStart = this.#blocksAt + block * BLOCK_SIZE;
      if (blockStart + BLOCK_SIZE > this.#bytes.length) {
        this.#reach(blockStart + BLOCK_SIZE);
        view = this.#view;
      }
      const next = view.getInt32(blockStart, true);
      if (chained) {
        const length = Math.min(BLOCK_DATA, total - copied);
        source.set(this.#bytes.subarray(blockStart + BLOCK_HEADER, blockStart + BLOCK_HEADER + length), copied);
        copied += length;
      }
      if (block !== first) this.#freeBlock(block);
      block = next;
    }
    let item: unknown;
    let failure: unknown;
    try {
      item = decodePayload(source, sourceView, start, total, (id) => this.#side.take(id));
    } catch (error) {
      failure = error;
    }
    this.#free.push(first);
    const words = this.#words;
    Atomics.add(words, GET_SEQ, 1);
    if (Atomics.load(words, PUT_WAITERS) > 0) wake(words, GET_SEQ);
    if (failure !== undefined) throw failure;
    return item;
  }

  // ------------------------------------------------------------- slots and waiting

  /** Puts a prepared item if there is room right now, without waiting. */
  putNow(payload: Payload, joinable: boolean): boolean {
    return this.commit(payload, joinable);
  }

  #freeBlock(block: number): void {
    (block < this.#slots ? this.#free : this.#chainFree).push(block);
  }

  *#park(seqWord: number, waitersWord: number, seen: number, deadline: number): Steps<ParkResult> {
    Atomics.add(this.#words, waitersWord, 1);
    try {
      return yield park(this.#words, seqWord, seen, deadline);
    } finally {
      Atomics.sub(this.#words, waitersWord, 1);
    }
  }

  /** Puts a stable payload, waiting for a free slot until `deadline` (`undefined`: do not wait). */
  *putSteps(payload: Payload, deadline: number | undefined, joinable: boolean): Steps<void> {
    for (;;) {
      const seen = Atomics.load(this.#words, GET_SEQ);
      if (this.commit(payload, joinable)) return;
      // An unbounded queue at its most items fails at once, as a put on it
      // never waits (Python's never blocks): waiting here would freeze a
      // thread that is its own consumer.
      if (deadline === undefined || this.maxsize === 0) throw fullError(this.maxsize);
      const result = yield* this.#park(GET_SEQ, PUT_WAITERS, seen, deadline);
      if (result === 'timed-out') {
        if (this.commit(payload, joinable)) return;
        throw fullError(this.maxsize);
      }
    }
  }

  /** Gets an item, waiting until `deadline` (`undefined`: do not wait); `spin` before parking (blocking callers). */
  *getSteps(deadline: number | undefined, spin: boolean): Steps<unknown> {
    const words = this.#words;
    for (;;) {
      const seen = Atomics.load(words, PUT_SEQ);
      const item = this.tryGet();
      if (item !== NONE) return item;
      if (deadline === undefined) throw new QueueEmptyError('The queue is empty');
      if (spin && spinUntilChanged(words, PUT_SEQ, seen)) continue;
      const result = yield* this.#park(PUT_SEQ, GET_WAITERS, seen, deadline);
      if (result === 'timed-out') {
        const last = this.tryGet();
        if (last !== NONE) return last;
        throw new QueueEmptyError('The queue stayed empty until the timeout');
      }
    }
  }

  // ------------------------------------------------------------- JoinableQueue

  unfinished(): number {
    return Atomics.load(this.#words, UNFINISHED);
  }

  /** One task done; false when there were no unfinished tasks. */
  taskDone(): boolean {
    const words = this.#words;
    for (let count = Atomics.load(words, UNFINISHED); count > 0; ) {
      const seen = Atomics.compareExchange(words, UNFINISHED, count, count - 1);
      if (seen === count) {
        if (count === 1) wake(words, UNFINISHED);
        return true;
      }
      count = seen;
    }
    return false;
  }

  /** Waits until every task is done; false on timeout. */
  *joinSteps(deadline: number): Steps<boolean> {
    for (;;) {
      const count = Atomics.load(this.#words, UNFINISHED);
      if (count === 0) return true;
      if ((yield park(this.#words, UNFINISHED, count, deadline)) === 'timed-out') {
        return Atomics.load(this.#words, UNFINISHED) === 0;
      }
    }
  }
}

function fullError(maxsize: number): QueueFullError {
  return new QueueFullError(
    maxsize === 0
      ? `The queue holds ${MAX_QUEUE_ITEMS} items, the most an unbounded queue holds: get some out before putting more`
      : `The queue is full (maxsize ${maxsize})`,
  );
}

function spinUntilChanged(words: Int32Array, index: number, seen: number): boolean {
  for (let i = 0; i < SPINS; i++) if (Atomics.load(words, index) !== seen) return true;
  return false;
}

function align8(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}
