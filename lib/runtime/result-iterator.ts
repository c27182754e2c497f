/**
 * The async iterator behind imap, imapUnordered and Executor.map: a buffer of
 * finished chunks between a ChunkRun and the consumer. It releases a chunk to
 * the run (letting it read further) only as the consumer takes it, so the
 * read-ahead bounds memory however slow the consumer is.
 *
 * Calls to `next()` that overlap are queued: each gets its own result, in the
 * order the calls were made. A failure is handed to the first waiting call
 * after the results before it; later calls then see the end.
 */
import type { ChunkConsumer } from './chunk-run';

/** What the iterator drives: a ChunkRun, or (for a call that failed before it began) nothing. */
export interface IteratedRun {
  start(): void;
  release(): void;
  stop(): void;
}

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

export class ResultIterator<T> implements AsyncIterableIterator<T> {
  readonly #chunks: unknown[][] = [];
  #position = 0;
  #error: { error: unknown } | undefined;
  #ended = false;
  readonly #waiters: Waiter<T>[] = [];
  readonly #run: IteratedRun;
  #delivering = false;

  /** `makeRun` gets the consumer to feed; the run starts at once. */
  constructor(makeRun: (consumer: ChunkConsumer) => IteratedRun) {
    this.#run = makeRun({
      results: (values) => {
        if (this.#ended) return;
        this.#chunks.push(values);
        this.#wake();
      },
      failed: (error) => {
        if (this.#ended) return;
        this.#error = { error };
        this.#ended = true;
        this.#wake();
      },
      done: () => {
        this.#ended = true;
        this.#wake();
      },
    });
    this.#run.start();
  }

  /** An iterator whose first `next()` rejects with `error` (API.md §8: iterators report bad arguments there). */
  static failed<T>(error: unknown): ResultIterator<T> {
    return new ResultIterator<T>((consumer) => ({
      start: () => consumer.failed(error),
      release: () => undefined,
      stop: () => undefined,
    }));
  }

  next(): Promise<IteratorResult<T>> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#wake();
    });
  }

  /** `break` out of `for await`: stop reading, drop queued work; waiting calls see the end. */
  return(): Promise<IteratorResult<T>> {
    this.#run.stop();
    this.#chunks.length = 0;
    this.#error = undefined;
    this.#ended = true;
    this.#wake();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Answers waiting calls, oldest first, while there is something to answer with. */
  #wake(): void {
    // take() can release a chunk, which can deliver more results synchronously
    // and re-enter here: the outer loop answers them.
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.#waiters.length > 0) {
        const answer = this.#take();
        if (answer === undefined) return;
        const waiter = this.#waiters.shift()!;
        if ('error' in answer) waiter.reject(answer.error);
        else waiter.resolve(answer.result);
      }
    } finally {
      this.#delivering = false;
    }
  }

  #take(): { result: IteratorResult<T> } | { error: unknown } | undefined {
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      if (this.#position < chunk.length) {
        const value = chunk[this.#position++] as T;
        if (this.#position === chunk.length) this.#nextChunk();
        return { result: { value, done: false } };
      }
      this.#nextChunk();
    }
    if (this.#error !== undefined) {
      const { error } = this.#error;
      this.#error = undefined;
      return { error };
    }
    if (this.#ended) return { result: { value: undefined, done: true } };
    return undefined;
  }

  #nextChunk(): void {
    this.#chunks.shift();
    this.#position = 0;
    if (!this.#ended) this.#run.release();
  }
}
