/**
 * Where a map's items come from, chunk by chunk: an array (sliced), a sync
 * iterable or an async iterable (both read lazily, only as far as needed).
 */
import { invalidArg } from './validate';

export interface ChunkSource {
  /** The next chunk, `undefined` at the end. A throwing input throws here (partial chunk dropped, as Python does). */
  next(): unknown[] | undefined | Promise<unknown[] | undefined>;
  /** Stop reading: closes the input iterator if it is unfinished. */
  close(): void;
  /** The number of items, when known up front. */
  readonly total: number | undefined;
}

class ArraySource implements ChunkSource {
  private offset = 0;
  constructor(
    private readonly items: readonly unknown[],
    private readonly chunksize: number,
  ) {}
  get total(): number {
    return this.items.length;
  }
  next(): unknown[] | undefined {
    if (this.offset >= this.items.length) return undefined;
    const chunk = this.items.slice(this.offset, this.offset + this.chunksize);
    this.offset += chunk.length;
    return chunk;
  }
  close(): void {
    this.offset = this.items.length;
  }
}

class IteratorSource implements ChunkSource {
  private finished = false;
  readonly total = undefined;
  constructor(
    private readonly iterator: Iterator<unknown>,
    private readonly chunksize: number,
  ) {}
  next(): unknown[] | undefined {
    if (this.finished) return undefined;
    const chunk: unknown[] = [];
    try {
      while (chunk.length < this.chunksize) {
        const step = this.iterator.next();
        if (step.done) {
          this.finished = true;
          break;
        }
        chunk.push(step.value);
      }
    } catch (error) {
      this.finished = true;
      throw error;
    }
    return chunk.length === 0 ? undefined : chunk;
  }
  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.iterator.return?.();
  }
}

class AsyncIteratorSource implements ChunkSource {
  private finished = false;
  readonly total = undefined;
  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    private readonly chunksize: number,
  ) {}
  async next(): Promise<unknown[] | undefined> {
    if (this.finished) return undefined;
    const chunk: unknown[] = [];
    try {
      while (chunk.length < this.chunksize) {
        const step = await this.iterator.next();
        if (step.done) {
          this.finished = true;
          break;
        }
        chunk.push(step.value);
      }
    } catch (error) {
      this.finished = true;
      throw error;
    }
    return chunk.length === 0 ? undefined : chunk;
  }
  close(): void {
    if (this.finished) return;
    this.finished = true;
    void Promise.resolve(this.iterator.return?.()).catch(() => undefined);
  }
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

export function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    (typeof value === 'object' && value !== null) || typeof value === 'string'
      ? typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
      : false
  );
}

/** Validates `items` and opens it. */
export function openSource(items: unknown, chunksize: number, argName = 'items'): ChunkSource {
  if (Array.isArray(items)) return new ArraySource(items, chunksize);
  if (isAsyncIterable(items)) return new AsyncIteratorSource(items[Symbol.asyncIterator](), chunksize);
  if (isIterable(items)) return new IteratorSource(items[Symbol.iterator](), chunksize);
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
