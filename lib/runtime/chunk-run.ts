/**
 * One chunked call (map, starmap, imap, imapUnordered, Executor.map): reads the
 * input chunk by chunk, keeps at most `readAhead` chunks between the input and
 * the consumer (so an infinite generator runs in flat memory), and delivers
 * results in input order or in completion order.
 *
 * Failure rules (API.md §2): a task error is delivered at its position (ordered:
 * after every earlier result; unordered: when it arrives), and no chunk is
 * started after it; an input error takes the position of the chunk that was
 * being read (its partial chunk is dropped, as CPython does); an abort fails
 * the run at once with the signal's reason.
 */
import { decode, encode, type Encoded } from '../codec/codec';
import { chunkLength, type Chunk, type ChunkSource } from './chunk-source';
import type { Dispatcher, JobEntry } from './dispatch';
import { decodeError } from '../codec/error-codec';
import { UncloneableError } from '../errors';
import { packNumbers, unpackResults } from '../codec/packing';
import { CallKind, type TaskRequest, type TaskResponse, type TaskSpec } from './protocol';

export interface ChunkConsumer {
  /** Results of one chunk (in input order when ordered); `offset` is the input position of its first item. */
  results(values: unknown[], offset: number): void;
  /** The run failed; nothing more is delivered. */
  failed(error: unknown): void;
  /** Every result was delivered. */
  done(): void;
}

export interface ChunkRunOptions {
  readonly spec: TaskSpec;
  readonly kind: CallKind;
  readonly source: ChunkSource;
  readonly ordered: boolean;
  readonly readAhead: number;
  /** How `items` is named in ERR_UNCLONEABLE paths. */
  readonly rootName: string;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number, total?: number) => void) | undefined;
  /** With `release: 'manual'`, the consumer calls `release()` as it takes each chunk. */
  readonly release: 'auto' | 'manual';
}

interface Outcome {
  values: unknown[];
  offset: number;
  error?: unknown;
  failed: boolean;
}

export class ChunkRun {
  private dispatched = 0;
  private delivered = 0;
  private released = 0;
  private itemsDone = 0;
  private offset = 0;
  private reading = false;
  private inputEnded = false;
  private inputError: { error: unknown } | undefined;
  private finished = false;
  private readonly completed = new Map<number, Outcome>();
  private readonly entries = new Map<number, JobEntry>();

  constructor(
    private readonly dispatcher: Pick<Dispatcher, 'submit' | 'cancel'>,
    private readonly options: ChunkRunOptions,
    private readonly consumer: ChunkConsumer,
  ) {}

  start(): void {
    const { signal } = this.options;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(signal.reason);
        return;
      }
      signal.addEventListener('abort', () => this.fail(signal.reason), { once: true });
    }
    this.pump();
  }

  /** The consumer took a chunk's results (manual release only). */
  release(): void {
    this.released++;
    this.pump();
  }

  /** Stops the run without an error: nothing more is read, queued chunks are dropped. */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
  }

  private cleanup(): void {
    this.options.source.close();
    for (const entry of this.entries.values()) this.dispatcher.cancel(entry);
    this.entries.clear();
    this.completed.clear();
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
    this.consumer.failed(error);
  }

  private pump(): void {
    while (!this.finished && !this.reading && !this.inputEnded) {
      const outstanding = this.dispatched - (this.options.release === 'auto' ? this.delivered : this.released);
      if (outstanding >= this.options.readAhead) return;
      let next: Chunk | undefined | Promise<Chunk | undefined>;
      try {
        next = this.options.source.next();
      } catch (error) {
        this.endInput({ error });
        return;
      }
      if (next instanceof Promise) {
        this.reading = true;
        next.then(
          (chunk: Chunk | undefined) => {
            this.reading = false;
            if (chunk === undefined) this.endInput(undefined);
            else this.dispatch(chunk);
            this.pump();
          },
          (error: unknown) => {
            this.reading = false;
            this.endInput({ error });
          },
        );
        return;
      }
      if (next === undefined) {
        this.endInput(undefined);
        return;
      }
      this.dispatch(next);
    }
  }

  private endInput(inputError: { error: unknown } | undefined): void {
    if (this.finished) return;
    this.inputEnded = true;
    this.inputError = inputError;
    this.deliver();
  }

  private dispatch(chunk: Chunk): void {
    if (this.finished) return;
    const index = this.dispatched++;
    const offset = this.offset;
    const length = chunkLength(chunk);
    this.offset += length;
    const { spec, kind } = this.options;
    let request: TaskRequest;
    let transferList: Encoded<unknown>['transferList'];
    if (!Array.isArray(chunk)) {
      // A range of an input packed in shared memory: nothing to copy.
      request = {
        file: spec.file,
        name: spec.name,
        kind,
        args: chunk.packed as unknown as unknown[],
        shared: false,
        packed: true,
        range: [chunk.from, chunk.to],
      };
    } else {
      const packed = kind === CallKind.Map ? packNumbers(chunk) : undefined;
      if (packed !== undefined) {
        request = { file: spec.file, name: spec.name, kind, args: packed as unknown as unknown[], shared: false, packed: true };
      } else {
        let encoded: Encoded<unknown[]>;
        try {
          encoded = encode(chunk, this.options.rootName);
        } catch (error) {
          this.fail(error instanceof UncloneableError ? shiftPath(error, this.options.rootName, offset) : error);
          return;
        }
        request = { file: spec.file, name: spec.name, kind, args: encoded.value, shared: encoded.shared };
        transferList = encoded.transferList;
      }
    }
    let startedAt = 0;
    const entry = this.dispatcher.submit({
      request,
      transferList,
      signal: this.options.signal,
      onStart: () => (startedAt = performance.now()),
      onResponse: (response) => {
        this.options.source.sizer.observe(length, performance.now() - startedAt);
        this.complete(index, offset, response);
      },
      onFailure: (error) => this.fail(error),
    });
    if (!this.finished) this.entries.set(index, entry);
  }

  private complete(index: number, offset: number, response: TaskResponse): void {
    this.entries.delete(index);
    if (this.finished) return;
    if (response.shared) decode(response);
    const values =
      response.packed === undefined
        ? ((response.result as unknown[] | undefined) ?? [])
        : unpackResults(response.result as Float64Array | Int32Array | Uint8Array, response.packed);
    const outcome: Outcome =
      response.error === undefined
        ? { values, offset, failed: false }
        : { values, offset, failed: true, error: decodeError(response.error, false) };
    this.itemsDone += values.length;
    if (this.options.onProgress !== undefined && !outcome.failed) {
      try {
        this.options.onProgress(this.itemsDone, this.options.source.total);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    if (this.options.ordered) {
      this.completed.set(index, outcome);
      this.deliver();
    } else {
      this.deliverOutcome(outcome);
      this.deliver();
    }
  }

  /** Hands over what can be handed over, in order when ordered, then checks for the end. */
  private deliver(): void {
    if (this.options.ordered) {
      let outcome = this.completed.get(this.delivered);
      while (!this.finished && outcome !== undefined) {
        this.completed.delete(this.delivered);
        this.deliverOutcome(outcome);
        outcome = this.completed.get(this.delivered);
      }
    }
    if (this.finished || !this.inputEnded || this.delivered < this.dispatched) {
      if (!this.finished) this.pump();
      return;
    }
    if (this.inputError !== undefined) {
      this.fail(this.inputError.error);
      return;
    }
    this.finished = true;
    this.consumer.done();
  }

  private deliverOutcome(outcome: Outcome): void {
    this.delivered++;
    if (outcome.values.length > 0 || !outcome.failed) this.consumer.results(outcome.values, outcome.offset);
    if (outcome.failed) this.fail(outcome.error);
  }
}

/** A chunk's ERR_UNCLONEABLE path counts from the chunk; make it count from the input. */
function shiftPath(error: UncloneableError, rootName: string, offset: number): UncloneableError {
  const prefix = new RegExp(`^${rootName}\\[(\\d+)\\]`);
  const message = error.message.replace(prefix, (_all, index: string) => `${rootName}[${Number(index) + offset}]`);
  return message === error.message ? error : new UncloneableError(message);
}
