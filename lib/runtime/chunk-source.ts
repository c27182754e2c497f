/**
 * Where a map's items come from, chunk by chunk: an array (sliced), a sync
 * iterable or an async iterable (both read lazily, only as far as needed).
 */
import { packNumbersShared } from '../codec/packing';
import { invalidArg } from '../validate';

/** A chunk of an array of numbers packed in shared memory: items [from, to) of `packed`. */
export interface PackedRange {
  readonly kind: 'packed-range';
  readonly packed: Int32Array | Float64Array;
  readonly from: number;
  readonly to: number;
}

/** A chunk of an input that was codec-encoded once for the whole call. */
export interface EncodedSlice {
  readonly kind: 'encoded';
  readonly items: unknown[];
  /** True when the items hold shared-object descriptors. */
  readonly shared: boolean;
}

/** What a source hands out: the items as read (the runner encodes them), a range of a packed input, or encoded items. */
export type Chunk = unknown[] | PackedRange | EncodedSlice;

export function chunkLength(chunk: Chunk): number {
  if (Array.isArray(chunk)) return chunk.length;
  return chunk.kind === 'encoded' ? chunk.items.length : chunk.to - chunk.from;
}

/** How a whole-list input was prepared, once, before its first chunk: see map-call.ts. */
export type PreparedInput =
  | { readonly kind: 'raw' }
  | { readonly kind: 'packed'; readonly packed: Int32Array | Float64Array }
  | { readonly kind: 'encoded'; readonly shared: boolean };

/** How many items the next chunk takes. */
export interface ChunkSizer {
  readonly size: number;
  /**
   * When the input throws in the middle of a chunk: true sends the items read
   * so far before the error; false drops them, as CPython does for an explicit chunksize.
   */
  readonly flushPartial: boolean;
  /** A chunk of `items` items ran for `ms` milliseconds in a worker. */
  observe(items: number, ms: number): void;
}

/** A fixed chunksize. */
export function fixedChunksize(size: number): ChunkSizer {
  return { size, flushPartial: false, observe: () => undefined };
}

/** The time one chunk should take in a worker: long enough to hide the round trip, short enough to stream. */
const TARGET_CHUNK_MS = 2;
/**
 * The same for remote workers (a backend): every chunk is a job through Redis, whose round trip
 * and job rate (measured in docs/remote.md) make remote chunks aim at 100 ms–1 s of work.
 */
export const REMOTE_TARGET_CHUNK_MS = 200;
const MAX_ADAPTIVE_CHUNK = 4096;

/**
 * imap's default: chunks start at one item (results stream at once, as with
 * Python's chunksize 1) and grow, at most doubling per finished chunk, while
 * chunks finish faster than TARGET_CHUNK_MS; they shrink at once when items
 * turn out slow. Tiny items end up in chunks of thousands without any tuning.
 * `maxSize` caps a chunk below that (a remote map: Python's default size, so every thread gets chunks).
 */
export function adaptiveChunksize(targetMs = TARGET_CHUNK_MS, maxSize = MAX_ADAPTIVE_CHUNK): ChunkSizer {
  let size = 1;
  return {
    get size() {
      return size;
    },
    flushPartial: true,
    observe(items, ms) {
      const perItem = Math.max(ms, 0.001) / items;
      const ideal = Math.max(1, Math.min(maxSize, MAX_ADAPTIVE_CHUNK, Math.floor(targetMs / perItem)));
      size = ideal > size ? Math.min(ideal, size * 2) : ideal;
    },
  };
}

export interface ChunkSource {
  /** The next chunk, `undefined` at the end. A throwing input throws here (partial chunk dropped, as Python does). */
  next(): Chunk | undefined | Promise<Chunk | undefined>;
  /** Stop reading: closes the input iterator if it is unfinished. */
  close(): void;
  /** The number of items, when known up front. */
  readonly total: number | undefined;
  /** The sizer that decides chunk lengths (it learns from finished chunks). */
  readonly sizer: ChunkSizer;
  /** True when the input is known to be all numbers (packed), so it needs no validation walk. */
  readonly allNumbers?: boolean;
}

class ArraySource implements ChunkSource {
  private offset = 0;
  constructor(
    private readonly items: readonly unknown[],
    readonly sizer: ChunkSizer,
    private readonly prepared: PreparedInput,
  ) {}
  get total(): number {
    return this.items.length;
  }
  /** True when every item is a number (packed once for the whole call), so nothing needs validating before sending. */
  get allNumbers(): boolean {
    return this.prepared.kind === 'packed';
  }
  next(): Chunk | undefined {
    const length = this.items.length;
    if (this.offset >= length) return undefined;
    const from = this.offset;
    const to = Math.min(length, from + this.sizer.size);
    this.offset = to;
    switch (this.prepared.kind) {
      case 'packed':
        return { kind: 'packed-range', packed: this.prepared.packed, from, to };
      case 'encoded':
        return { kind: 'encoded', items: this.items.slice(from, to), shared: this.prepared.shared };
      case 'raw':
        return this.items.slice(from, to);
    }
  }
  close(): void {
    this.offset = this.items.length;
  }
}

/** A source over an array prepared once (packed, encoded, or raw). */
export function arraySource(items: readonly unknown[], chunksize: number | ChunkSizer, prepared: PreparedInput): ChunkSource {
  return new ArraySource(items, typeof chunksize === 'number' ? fixedChunksize(chunksize) : chunksize, prepared);
}

/** What reading a sync or async iterator chunk by chunk has in common: the end, and input errors. */
abstract class StreamSource {
  protected finished = false;
  private pendingError: { error: unknown } | undefined;
  readonly total = undefined;
  constructor(readonly sizer: ChunkSizer) {}

  /** Throws an input error kept back for after a flushed partial chunk; true when nothing is left. */
  protected exhausted(): boolean {
    if (this.pendingError !== undefined) throw this.pendingError.error;
    return this.finished;
  }

  /** The input threw while `chunk` was being read: throw now, or after the partial chunk (flushPartial). */
  protected failed(error: unknown, chunk: unknown[]): void {
    this.finished = true;
    if (!this.sizer.flushPartial || chunk.length === 0) throw error;
    this.pendingError = { error };
  }
}

class IteratorSource extends StreamSource implements ChunkSource {
  constructor(
    private readonly iterator: Iterator<unknown>,
    sizer: ChunkSizer,
  ) {
    super(sizer);
  }
  next(): unknown[] | undefined {
    if (this.exhausted()) return undefined;
    const chunk: unknown[] = [];
    const size = this.sizer.size;
    try {
      while (chunk.length < size) {
        const step = this.iterator.next();
        if (step.done) {
          this.finished = true;
          break;
        }
        chunk.push(step.value);
      }
    } catch (error) {
      this.failed(error, chunk);
    }
    return chunk.length === 0 ? undefined : chunk;
  }
  close(): void {
    if (this.finished) return;
    this.finished = true;
    // The run is over (ended, failed or stopped): an input whose return() throws must not crash the host.
    try {
      this.iterator.return?.();
    } catch {
      // Nothing is left to tell: the caller already has its outcome.
    }
  }
}

class AsyncIteratorSource extends StreamSource implements ChunkSource {
  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    sizer: ChunkSizer,
  ) {
    super(sizer);
  }
  async next(): Promise<unknown[] | undefined> {
    if (this.exhausted()) return undefined;
    const chunk: unknown[] = [];
    const size = this.sizer.size;
    try {
      while (chunk.length < size) {
        const step = await this.iterator.next();
        if (step.done) {
          this.finished = true;
          break;
        }
        chunk.push(step.value);
      }
    } catch (error) {
      this.failed(error, chunk);
    }
    return chunk.length === 0 ? undefined : chunk;
  }
  close(): void {
    if (this.finished) return;
    this.finished = true;
    // A return() that throws or rejects must not crash the host (see IteratorSource.close).
    void Promise.resolve()
      .then(() => this.iterator.return?.())
      .catch(() => undefined);
  }
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

export function isIterable(value: unknown): value is Iterable<unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'string'
    ? typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
    : false;
}

/**
 * Validates `items` and opens it. `packable`: the items are single arguments
 * (map, not starmap), so an array of numbers may be packed in shared memory.
 */
export function openSource(items: unknown, chunksize: number | ChunkSizer, argName = 'items', packable = false): ChunkSource {
  const sizer = typeof chunksize === 'number' ? fixedChunksize(chunksize) : chunksize;
  if (Array.isArray(items)) {
    const packed = packable ? packNumbersShared(items) : undefined;
    return new ArraySource(items, sizer, packed === undefined ? { kind: 'raw' } : { kind: 'packed', packed });
  }
  if (isAsyncIterable(items)) return new AsyncIteratorSource(items[Symbol.asyncIterator](), sizer);
  if (isIterable(items)) return new IteratorSource(items[Symbol.iterator](), sizer);
  throw invalidArg(argName, 'an Iterable or an AsyncIterable', items);
}

/** Reads all of `items` into an array (map and starmap may materialize their input). */
export async function materialize(items: unknown, argName = 'items'): Promise<unknown[]> {
  if (Array.isArray(items)) return items;
  if (isAsyncIterable(items)) {
    const all: unknown[] = [];
    for await (const item of items) all.push(item);
    return all;
  }
  if (isIterable(items)) return Array.from(items);
  throw invalidArg(argName, 'an Iterable or an AsyncIterable', items);
}
