/**
 * One chunked call (map, starmap, imap, imapUnordered, Executor.map): reads the
 * input chunk by chunk, keeps at most `readAhead` chunks between the input and
 * the consumer (so an infinite generator runs in flat memory), and delivers
 * results in input order or in completion order.
 *
 * Ordering: ordered runs deliver chunk k only after chunks 0..k-1; unordered
 * runs deliver each chunk as it completes. `offset` is always the input
 * position of a chunk's first item.
 *
 * Failure (API.md §2): a task error is delivered at its position (ordered:
 * after every earlier result; unordered: when it arrives). From the moment it
 * arrives nothing more is read and chunks not yet started after it are
 * withdrawn, but chunks already running finish (as in Python): the run counts
 * as settled only when they have. An input error takes the position of the
 * chunk that was being read (its partial chunk is dropped, as CPython does,
 * unless the sizer flushes partial chunks). An abort fails the run at once
 * with the signal's reason; its running jobs are stopped by the same signal.
 *
 * Re-entrancy: the dispatcher may call a job's callbacks synchronously inside
 * `submit()` (a broken or terminated pool fails the job at once), and the
 * consumer may call `release()`, `stop()` or `drain()` from inside `results()`.
 * Every entry point therefore re-checks `finished`, the in-flight count is
 * kept per job callback (never by looking at the entry after `submit()`), and
 * `pump()` is guarded against running inside itself.
 */
import { decode, encode } from '../codec/codec';
import { decodeError } from '../codec/error-codec';
import { packNumbers, unpackResults } from '../codec/packing';
import { type Chunk, type ChunkSource, chunkLength } from './chunk-source';
import { onAbort } from './call-signal';
import type { Dispatcher, JobEntry } from './dispatch';
import { CallKind, type TaskInput, type TaskResponse, type TaskSpec } from './protocol';

export interface ChunkConsumer {
  /** Results of one chunk (in input order when ordered); `offset` is the input position of its first item. */
  results(values: unknown[], offset: number): void;
  /** The run failed; nothing more is delivered. */
  failed(error: unknown): void;
  /** Every result was delivered. */
  done(): void;
}

/** A many-item call in flight, as the Runtime drives it: join() drains it, terminate() fails it. */
export interface CallRun {
  /** Reads the input to the end without waiting for a consumer. */
  drain(): void;
  /** Fails the call now with `error`; its running jobs finish or are stopped. */
  fail(error: unknown): void;
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
  /** Called once when the run is over and none of its jobs is running any more. */
  readonly onSettled?: () => void;
}

interface Outcome {
  values: unknown[];
  offset: number;
  error?: unknown;
  failed: boolean;
}

export class ChunkRun implements CallRun {
  #dispatched = 0;
  #delivered = 0;
  #released = 0;
  #itemsDone = 0;
  #offset = 0;
  #reading = false;
  #pumping = false;
  #inputEnded = false;
  #inputError: { error: unknown } | undefined;
  /** The index of the first chunk that failed: nothing after it is read or started. */
  #haltAt = Infinity;
  #finished = false;
  #settled = false;
  #inFlight = 0;
  #releaseMode: 'auto' | 'manual';
  readonly #completed = new Map<number, Outcome>();
  readonly #entries = new Map<number, JobEntry>();
  readonly #dispatcher: Dispatcher;
  readonly #options: ChunkRunOptions;
  readonly #consumer: ChunkConsumer;
  #unsubscribe: (() => void) | undefined;

  constructor(dispatcher: Dispatcher, options: ChunkRunOptions, consumer: ChunkConsumer) {
    this.#dispatcher = dispatcher;
    this.#options = options;
    this.#consumer = consumer;
    this.#releaseMode = options.release;
  }

  start(): void {
    const { signal } = this.#options;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(signal.reason);
        return;
      }
      this.#unsubscribe = onAbort(signal, () => this.fail(signal.reason));
    }
    this.#pump();
  }

  /** The consumer took a chunk's results (manual release only). */
  release(): void {
    this.#released++;
    this.#pump();
  }

  /**
   * Reads the input to the end without waiting for the consumer (pool.join()
   * with an imap nobody finished reading: the accepted work runs, as Python's does).
   */
  drain(): void {
    this.#releaseMode = 'auto';
    this.#pump();
  }

  /** Stops the run without an error: nothing more is read, queued chunks are dropped, running ones finish. */
  stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cleanup();
    this.#maybeSettle();
  }

  /** Fails the run now with `error` (abort, timeout, terminate): nothing more is delivered. */
  fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cleanup();
    this.#consumer.failed(error);
    this.#maybeSettle();
  }

  #cleanup(): void {
    this.#unsubscribe?.();
    this.#options.source.close();
    for (const [index, entry] of this.#entries) {
      if (this.#dispatcher.cancel(entry)) {
        this.#entries.delete(index);
        this.#inFlight--;
      }
    }
    this.#completed.clear();
  }

  #maybeSettle(): void {
    if (this.#settled || !this.#finished || this.#inFlight > 0) return;
    this.#settled = true;
    this.#options.onSettled?.();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#finished && !this.#reading && !this.#inputEnded && this.#haltAt === Infinity) {
        const taken = this.#releaseMode === 'auto' ? this.#delivered : this.#released;
        if (this.#dispatched - taken >= this.#options.readAhead) return;
        let next: Chunk | undefined | Promise<Chunk | undefined>;
        try {
          next = this.#options.source.next();
        } catch (error) {
          this.#endInput({ error });
          return;
        }
        if (next instanceof Promise) {
          this.#reading = true;
          next.then(
            (chunk) => {
              this.#reading = false;
              if (this.#finished) return;
              if (chunk === undefined) this.#endInput(undefined);
              else this.#dispatch(chunk);
              this.#pump();
            },
            (error: unknown) => {
              this.#reading = false;
              this.#endInput({ error });
            },
          );
          return;
        }
        if (next === undefined) {
          this.#endInput(undefined);
          return;
        }
        this.#dispatch(next);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #endInput(inputError: { error: unknown } | undefined): void {
    if (this.#finished) return;
    this.#inputEnded = true;
    this.#inputError = inputError;
    this.#deliver();
  }

  /** The chunk as the worker receives it; undefined (and the run failed) when it cannot cross. */
  #inputOf(chunk: Chunk, offset: number): { input: TaskInput; transferList: ReturnType<typeof encode>['transferList'] } | undefined {
    if (!Array.isArray(chunk)) {
      if (chunk.kind === 'packed-range') {
        // A range of an input packed once in shared memory: nothing to copy.
        return { input: { kind: 'packed-range', packed: chunk.packed, from: chunk.from, to: chunk.to }, transferList: undefined };
      }
      return { input: { kind: 'encoded', args: chunk.items, shared: chunk.shared }, transferList: undefined };
    }
    const packed = this.#options.kind === CallKind.Map ? packNumbers(chunk) : undefined;
    if (packed !== undefined) return { input: { kind: 'packed', packed }, transferList: undefined };
    try {
      const encoded = encode(chunk, this.#options.rootName, offset);
      return { input: { kind: 'encoded', args: encoded.value, shared: encoded.shared }, transferList: encoded.transferList };
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  #dispatch(chunk: Chunk): void {
    if (this.#finished) return;
    const index = this.#dispatched++;
    const offset = this.#offset;
    const length = chunkLength(chunk);
    this.#offset += length;
    const prepared = this.#inputOf(chunk, offset);
    if (prepared === undefined) return;
    const { spec, kind } = this.#options;
    let startedAt = 0;
    let ended = false;
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      this.#inFlight--;
      this.#entries.delete(index);
      return true;
    };
    this.#inFlight++;
    const entry = this.#dispatcher.submit({
      request: { file: spec.file, name: spec.name, kind, input: prepared.input },
      transferList: prepared.transferList,
      signal: this.#options.signal,
      onStart: () => {
        startedAt = performance.now();
      },
      onResponse: (response) => {
        if (!end()) return;
        this.#options.source.sizer.observe(length, performance.now() - startedAt);
        this.#complete(index, offset, response);
        this.#maybeSettle();
      },
      onFailure: (error) => {
        if (!end()) return;
        this.fail(error);
        this.#maybeSettle();
      },
    });
    if (!ended) this.#entries.set(index, entry);
  }

  #complete(index: number, offset: number, response: TaskResponse): void {
    if (this.#finished) return;
    let outcome: Outcome;
    try {
      if (response.shared) decode(response);
      const values =
        response.packed === undefined
          ? ((response.result as unknown[] | undefined) ?? [])
          : unpackResults(response.result as Float64Array | Int32Array | Uint8Array, response.packed);
      outcome =
        response.error === undefined
          ? { values, offset, failed: false }
          : { values, offset, failed: true, error: decodeError(response.error, false) };
    } catch (error) {
      outcome = { values: [], offset, failed: true, error };
    }
    this.#itemsDone += outcome.values.length;
    if (this.#options.onProgress !== undefined && !outcome.failed) {
      try {
        this.#options.onProgress(this.#itemsDone, this.#options.source.total);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    if (outcome.failed) this.#halt(index);
    if (this.#options.ordered) {
      this.#completed.set(index, outcome);
    } else {
      this.#deliverOutcome(outcome);
    }
    this.#deliver();
  }

  /** A chunk failed: read nothing more, withdraw the queued chunks after it; running ones finish. */
  #halt(index: number): void {
    if (index >= this.#haltAt) return;
    this.#haltAt = index;
    this.#options.source.close();
    for (const [other, entry] of this.#entries) {
      if (other > index && this.#dispatcher.cancel(entry)) {
        this.#entries.delete(other);
        this.#inFlight--;
      }
    }
  }

  /** Hands over what can be handed over, in order when ordered, then checks for the end. */
  #deliver(): void {
    if (this.#options.ordered) {
      let outcome = this.#completed.get(this.#delivered);
      while (!this.#finished && outcome !== undefined) {
        this.#completed.delete(this.#delivered);
        this.#deliverOutcome(outcome);
        outcome = this.#completed.get(this.#delivered);
      }
    }
    if (this.#finished) return;
    if (!this.#inputEnded || this.#delivered < this.#dispatched) {
      this.#pump();
      return;
    }
    if (this.#inputError !== undefined) {
      this.fail(this.#inputError.error);
      return;
    }
    this.#finished = true;
    this.#unsubscribe?.();
    this.#consumer.done();
    this.#maybeSettle();
  }

  #deliverOutcome(outcome: Outcome): void {
    this.#delivered++;
    if (outcome.values.length > 0 || !outcome.failed) this.#consumer.results(outcome.values, outcome.offset);
    if (outcome.failed) this.fail(outcome.error);
  }
}
