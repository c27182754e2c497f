/**
 * The runtime under Pool and Executor (both compose one; neither drives the
 * other). It owns the life cycle (open → closed → terminated), counts the
 * calls in flight so that `join()` waits for every accepted one, and turns a
 * call into jobs on a `Dispatcher`: one job for apply/submit, a ChunkRun for
 * a whole-list map or a lazy iteration. It knows no worker and no piscina: the
 * dispatcher it is built on may be the local one or a remote one.
 *
 * Arguments are validated by the face the user called; the runtime reports
 * only what it finds itself (a closed pool, an uncloneable value) and, like
 * the faces, reports by rejecting (API.md §8).
 */
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { encode } from '../codec/codec';
import { CancelledError, InvalidStateError, PoolClosedError } from '../errors';
import { callSignal, onAbort } from './call-signal';
import { type CallRun, ChunkRun } from './chunk-run';
import { type ChunkSizer, isAsyncIterable, openSource } from './chunk-source';
import type { Dispatcher, Job, JobEntry } from './dispatch';
import { mapCall } from './map-call';
import { CallKind, type PoolWorkerData, type TaskRequest, type TaskResponse, type TaskSpec } from './protocol';
import { openResponse } from './response';
import { ResultIterator } from './result-iterator';
import type { PoolStats } from './stats';

/** What a Pool or Executor was configured with, validated: everything a dispatcher needs to start its workers. */
export interface RuntimeSettings {
  readonly workers: number;
  readonly maxTasksPerChild: number | undefined;
  /** With an idle timeout, workers start on demand and stop when idle that long. */
  readonly idleTimeout: number | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly workerData: PoolWorkerData;
}

/** Makes the dispatcher a Pool or Executor runs on. */
export type DispatcherFactory = (settings: RuntimeSettings) => Dispatcher;

/**
 * The seam for another backend: an options object of Pool or Executor that
 * holds a DispatcherFactory under this (unexported) key runs on that
 * dispatcher instead of the local one. A public `backend` option maps onto it.
 */
export const DISPATCHER_FACTORY: unique symbol = Symbol('parapool.dispatcherFactory');

/** The factory an options object carries under DISPATCHER_FACTORY, if any. */
export function dispatcherFactoryOf(options: object): DispatcherFactory | undefined {
  const factory = (options as { [DISPATCHER_FACTORY]?: unknown })[DISPATCHER_FACTORY];
  return typeof factory === 'function' ? (factory as DispatcherFactory) : undefined;
}

/** What a call with many items takes, already validated by the face. */
export interface ChunkedCallOptions {
  readonly chunksize: number | ChunkSizer | undefined;
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  readonly onProgress: ((done: number, total?: number) => void) | undefined;
}

/** The hooks of one submitted call (Executor builds a Future on them). */
export interface CallHooks {
  readonly signal?: AbortSignal | undefined;
  onStart?(): void;
  onResponse(value: unknown): void;
  onFailure(error: unknown): void;
}

type State = 'open' | 'closed' | 'terminated';

/** One submitted call as the dispatcher's job: one object per call, its callbacks methods rather than closures. */
class CallJob implements Job {
  readonly signal: AbortSignal | undefined;
  readonly onStart: (() => void) | undefined;
  #ended = false;

  constructor(
    readonly request: TaskRequest,
    readonly transferList: TransferListItem[] | undefined,
    private readonly hooks: CallHooks,
    private readonly endCall: () => void,
  ) {
    this.signal = hooks.signal;
    this.onStart = hooks.onStart;
  }

  onResponse(response: TaskResponse): void {
    if (!this.#end()) return;
    const opened = openResponse(response);
    if (opened.failed) this.hooks.onFailure(opened.error);
    else this.hooks.onResponse(response.result);
  }

  onFailure(error: unknown): void {
    if (this.#end()) this.hooks.onFailure(error);
  }

  /** True the first time: the call ends once, however many callbacks come. */
  #end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.endCall();
    return true;
  }
}

export class Runtime {
  readonly #dispatcher: Dispatcher;
  /** 'pool' or 'executor', in messages. */
  readonly #noun: string;
  #state: State = 'open';
  #active = 0;
  #idle: (() => void) | undefined;
  #joined: Promise<void> | undefined;
  /** Chunked calls still running: join() drains them, terminate() fails them. */
  readonly #runs = new Set<CallRun>();
  /** Aborted by terminate(): stops maps that are still reading their input. */
  readonly #terminated = new AbortController();
  #terminating: Promise<void> | undefined;
  /** What every CallJob calls once when its call ends. */
  readonly #endCall = (): void => this.#callEnded();

  constructor(dispatcher: Dispatcher, noun: 'pool' | 'executor') {
    this.#dispatcher = dispatcher;
    this.#noun = noun;
  }

  /** Threads that serve jobs now. */
  get workers(): number {
    return this.#dispatcher.workers;
  }

  get state(): State {
    return this.#state;
  }

  /** The error of a call made after close()/terminate(), or undefined while open. */
  closedError(what: string): PoolClosedError | undefined {
    if (this.#state === 'open') return undefined;
    const how = this.#noun === 'executor' ? 'was shut down' : this.#state === 'closed' ? 'is closed' : 'is terminated';
    return new PoolClosedError(`Cannot call ${what}(): the ${this.#noun} ${how}`);
  }

  /** Throws ERR_POOL_CLOSED unless open. */
  checkOpen(what: string): void {
    const error = this.closedError(what);
    if (error !== undefined) throw error;
  }

  /**
   * Submits `fn(...args)` as one job. Throws ERR_UNCLONEABLE (nothing is sent)
   * when an argument cannot cross; every later failure goes to `hooks.onFailure`.
   */
  submit(spec: TaskSpec, args: unknown[], hooks: CallHooks): JobEntry {
    const encoded = encode(args, 'args');
    this.#active++;
    const request: TaskRequest = {
      file: spec.file,
      name: spec.name,
      kind: CallKind.Apply,
      input: { kind: 'encoded', args: encoded.value, shared: encoded.shared },
    };
    return this.#dispatcher.submit(new CallJob(request, encoded.transferList, hooks, this.#endCall));
  }

  /** True while the submitted call runs in a worker (exact even for a call a worker holds ahead). */
  started(entry: JobEntry): boolean {
    return this.#dispatcher.started === undefined ? entry.state === 'running' : this.#dispatcher.started(entry);
  }

  /** Withdraws a queued call; false once it runs. */
  cancel(entry: JobEntry): boolean {
    if (!this.#dispatcher.cancel(entry)) return false;
    this.#callEnded();
    return true;
  }

  /** One call, as a promise (Pool.apply). */
  apply(spec: TaskSpec, args: unknown[], signal: AbortSignal | undefined, timeout: number | undefined, what: string): Promise<unknown> {
    const call = callSignal(signal, timeout, what);
    const result = new Promise<unknown>((resolve, reject) => {
      this.submit(spec, args, { signal: call.signal, onResponse: resolve, onFailure: reject });
    });
    // Without a signal or a timeout there is nothing to dispose of (and no promise to spend on it).
    return call.signal === undefined ? result : result.finally(call.dispose);
  }

  /** A whole-list map: reads `items` to the end, then runs it (Pool.map, Pool.starmap). */
  async map(
    spec: TaskSpec,
    kind: CallKind,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: ChunkedCallOptions,
    rootName: string,
    what: string,
  ): Promise<unknown[]> {
    const call = callSignal(options.signal, options.timeout, what);
    this.#active++;
    let run: CallRun | undefined;
    let settled = false;
    const onSettled = (): void => {
      if (settled) return;
      settled = true;
      if (run !== undefined) this.#runs.delete(run);
      this.#callEnded();
    };
    let all: unknown[];
    try {
      all = await this.#materialize(items, call.signal);
    } catch (error) {
      // Failed before anything was sent (input error, abort, terminate).
      call.dispose();
      onSettled();
      throw error;
    }
    try {
      return await mapCall({
        dispatcher: this.#dispatcher,
        spec,
        kind,
        items: all,
        rootName,
        chunksize: options.chunksize as number | undefined,
        signal: call.signal,
        onProgress: options.onProgress,
        onSettled,
        onRun: (started) => {
          run = started;
          this.#runs.add(started);
        },
      });
    } finally {
      call.dispose();
    }
  }

  /** A lazy iteration (imap, imapUnordered, Executor.map). Throws ERR_INVALID_ARG for an input that is not iterable. */
  iterate(
    spec: TaskSpec,
    kind: CallKind,
    items: unknown,
    options: ChunkedCallOptions,
    ordered: boolean,
    rootName: string,
    what: string,
  ): ResultIterator<unknown> {
    const source = openSource(items, options.chunksize ?? 1, rootName, kind === CallKind.Map);
    const call = callSignal(options.signal, options.timeout, what);
    this.#active++;
    return new ResultIterator((consumer) => {
      const run = new ChunkRun(
        this.#dispatcher,
        {
          spec,
          kind,
          source,
          ordered,
          readAhead: this.#dispatcher.readAhead ?? Math.max(1, this.#dispatcher.workers) * 4,
          rootName,
          signal: call.signal,
          onProgress: options.onProgress,
          release: 'manual',
          onSettled: () => {
            call.dispose();
            this.#runs.delete(run);
            this.#callEnded();
          },
        },
        consumer,
      );
      this.#runs.add(run);
      return run;
    });
  }

  /** The dispatcher's measurements. Throws ERR_INVALID_STATE on a backend, whose workers are measured where they run. */
  stats(): PoolStats {
    if (this.#dispatcher.stats === undefined) {
      throw new InvalidStateError(
        `stats() measures local worker threads; this ${this.#noun} runs on a backend, whose workers run elsewhere`,
      );
    }
    return this.#dispatcher.stats();
  }

  /** Fails every open iteration and map with `error` (Executor.shutdown({ cancelFutures })). */
  failRuns(error: unknown): void {
    for (const run of [...this.#runs]) run.fail(error);
  }

  /** Stops accepting calls; what was accepted runs to the end. */
  close(): void {
    if (this.#state === 'open') this.#state = 'closed';
  }

  /**
   * Resolves once every accepted call has ended and the workers are released.
   * Iterations nobody finished reading are read to their end (as Python runs
   * every accepted task), their results kept for whoever reads on.
   */
  join(): Promise<void> {
    if (this.#state === 'open') {
      const how = this.#noun === 'executor' ? 'shutdown()' : 'close() or terminate()';
      return Promise.reject(new InvalidStateError(`join() needs ${how} first`));
    }
    this.#joined ??= (async () => {
      for (const run of [...this.#runs]) run.drain();
      if (this.#active > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      if (this.#state === 'terminated') return;
      await this.#dispatcher.close();
    })();
    return this.#joined;
  }

  /** Stops now: every pending call rejects with ERR_CANCELLED; resolves once the workers are gone. */
  async terminate(): Promise<void> {
    if (this.#state !== 'terminated') {
      this.#state = 'terminated';
      const error = new CancelledError(`The ${this.#noun} was terminated before the task finished`);
      this.#terminated.abort(error);
      const stopping = this.#dispatcher.terminate(error);
      for (const run of [...this.#runs]) run.fail(error);
      this.#terminating = stopping;
    }
    await this.#terminating;
  }

  #callEnded(): void {
    if (--this.#active === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  /** Reads all of `items` (map may materialize its input), stopping at an abort or terminate. */
  async #materialize(items: Iterable<unknown> | AsyncIterable<unknown>, signal: AbortSignal | undefined): Promise<unknown[]> {
    if (Array.isArray(items)) return items;
    if (!isAsyncIterable(items)) return Array.from(items as Iterable<unknown>);
    const stops = [this.#terminated.signal, ...(signal === undefined ? [] : [signal])];
    const stopped = (): AbortSignal | undefined => stops.find((each) => each.aborted);
    const iterator = items[Symbol.asyncIterator]();
    const unsubscribers: (() => void)[] = [];
    const interrupted = new Promise<never>((_resolve, reject) => {
      for (const each of stops) unsubscribers.push(onAbort(each, () => reject(each.reason)));
    });
    interrupted.catch(() => undefined);
    const all: unknown[] = [];
    try {
      for (;;) {
        const early = stopped();
        if (early !== undefined) throw early.reason;
        const step = await Promise.race([iterator.next(), interrupted]);
        if (step.done) return all;
        all.push(step.value);
      }
    } catch (error) {
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
      throw error;
    } finally {
      for (const unsubscribe of unsubscribers) unsubscribe();
    }
  }
}
