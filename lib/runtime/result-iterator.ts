/**
 * The async iterator behind imap, imapUnordered and Executor.map: a buffer of
 * finished chunks between a ChunkRun and the consumer. It releases a chunk to
 * the run (letting it read further) only as the consumer takes it, so the
 * read-ahead bounds memory however slow the consumer is.
 */
import type { ChunkConsumer } from './chunk-run';

interface Run {
  start(): void;
  release(): void;
  stop(): void;
}

export class ResultIterator<T> implements AsyncIterableIterator<T> {
  private readonly chunks: unknown[][] = [];
  private position = 0;
  private error: { error: unknown } | undefined;
  private ended = false;
  private waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  private readonly run: Run;

  constructor(
    makeRun: (consumer: ChunkConsumer) => Run,
    private readonly onEnd: () => void,
  ) {
    this.run = makeRun({
      results: (values) => {
        this.chunks.push(values);
        this.wake();
      },
      failed: (error) => {
        this.error = { error };
        this.finish();
      },
      done: () => this.finish(),
    });
    this.run.start();
  }

  next(): Promise<IteratorResult<T>> {
    const ready = this.take();
    if (ready !== undefined) return ready;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** `break` out of `for await`: stop reading, drop queued work. */
  return(): Promise<IteratorResult<T>> {
    this.run.stop();
    this.chunks.length = 0;
    this.error = undefined;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take(): Promise<IteratorResult<T>> | undefined {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      if (this.position < chunk.length) {
        const value = chunk[this.position++] as T;
        if (this.position === chunk.length) this.nextChunk();
        return Promise.resolve({ value, done: false });
      }
      this.nextChunk();
    }
    if (this.error !== undefined) {
      const { error } = this.error;
      this.error = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return undefined;
  }

  private nextChunk(): void {
    this.chunks.shift();
    this.position = 0;
    if (!this.ended) this.run.release();
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    // Cleared before take(): take() can release a chunk, which can deliver more
    // results synchronously and re-enter wake() for the same waiter.
    this.waiter = undefined;
    const ready = this.take();
    if (ready === undefined) {
      this.waiter = waiter;
      return;
    }
    ready.then(waiter.resolve, waiter.reject);
  }

  private finish(): void {
    if (!this.ended) {
      this.ended = true;
      this.onEnd();
    }
    this.wake();
  }
}
