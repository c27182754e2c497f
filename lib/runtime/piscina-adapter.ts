/**
 * The one place that knows piscina. It builds the Piscina instance, supplies
 * its load balancer (which also implements `maxTasksPerChild` recycling),
 * waits for every worker's initializer before the workers stop, and turns
 * piscina's failures into parapool errors. What it relies on in piscina is
 * pinned by spec/runtime/piscina-contract.spec.ts: the exit-code message it
 * parses, a worker's `id` being its thread id, the balancer being called
 * synchronously inside `run()` and whenever a worker becomes free, and a run
 * the balancer refuses starting one more worker while the pool is below its
 * `maxThreads` (read live from `options`), and a worker started later emitting
 * 'workerCreate' once booted, before it is offered the queued tasks.
 *
 * Read-ahead (no recycling): piscina's `concurrentTasksPerWorker` is the
 * depth, the balancer gives a busy worker a further job, and every job gets a
 * slot in shared memory (SlotState in protocol.ts; the pool worker runs one
 * job at a time and marks it started). piscina gets no abort signal then: it
 * aborts a job that waits in a worker by terminating that worker. When a
 * worker dies, the answers it had posted are read first (drainOnExit), then
 * piscina rejects every job it still held; the ones whose slot is not STARTED
 * (or DONE) are answered "not run", all together and before the failure of
 * the one it ran, so that the dispatcher puts them back at the front of its
 * queue before anything else is dispatched. A DONE job whose answer was lost
 * all the same (it ran, its answer never reached the port) fails with the
 * worker: running it again could run it twice.
 *
 * Recycling keeps spares booting ahead of need: a worker that has been given
 * half its share of tasks reserves a replacement (up to `workers` spares at a
 * time, booting in parallel), so the replacement boots while the old worker
 * runs the rest of its share, and a worker given its last task is replaced at
 * once if it had none. A task goes only to a worker that has booted (a booting
 * spare is skipped: the task waits in piscina's queue for whichever worker is
 * free first), and to the one closest to its limit, so that spares stay
 * fresh. A retired worker is terminated without waiting for its exit. piscina's
 * `maxThreads` is the number of workers it lists (spares and workers on their
 * way out included), never fewer than `workers` serving ones; the dispatcher
 * never runs more than `workers` tasks at once.
 */
import * as path from 'node:path';
import type { TransferListItem } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { WorkerExitedError } from '../errors';
import { threadExecArgv } from '../tasks/exec-argv';
import type { Dispatcher } from './dispatch';
import { LocalDispatcher, type WorkerEngine } from './local-dispatcher';
import { SLOT_WORDS, SlotState, type TaskRequest, type TaskResponse, type WorkerInitializedMessage } from './protocol';
import type { RuntimeSettings } from './runtime';

/** piscina's view of one worker, as its load balancer sees it. */
export type PiscinaWorker = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

export interface PiscinaAdapterOptions extends RuntimeSettings {
  /** The worker entry module (lib/entry/pool-worker). */
  readonly filename: string;
  /** Jobs a worker may hold at once without recycling (1 with `maxTasksPerChild`). @default READ_AHEAD_DEPTH */
  readonly depth?: number;
}

/**
 * Jobs a worker holds at once without recycling: it starts the second one as it
 * finishes the first, instead of idling while its result travels back and the next job
 * comes in (measured in docs/design/performance.md §2).
 */
export const READ_AHEAD_DEPTH = 4;

/** The message piscina rejects a dead worker's task with (piscina's `onWorkerExit`). */
export const EXIT_CODE_MESSAGE = /^worker exited with code: (-?\d+)$/;

/**
 * A piscina failure as the WorkerExitedError of the task it failed: an exit
 * code from the message piscina builds on 'exit', else an uncaught error in the
 * worker (its exit code is 1).
 */
export function workerExitedError(failure: unknown): WorkerExitedError {
  const message = failure instanceof Error ? failure.message : String(failure);
  const exit = EXIT_CODE_MESSAGE.exec(message);
  const exitCode = exit === null ? 1 : Number(exit[1]);
  const reason = exit === null ? `an uncaught error: ${message}` : `exit code ${exitCode}`;
  return new WorkerExitedError(`The worker running this task exited (${reason})`, { exitCode, cause: failure });
}

/** What piscina keeps of one worker behind the balancer's view of it (its `kWorkerData`): pinned by piscina-contract.spec.ts. */
interface PiscinaWorkerInfo {
  readonly worker: { prependListener(event: 'exit', listener: () => void): unknown };
  processPendingMessages(): void;
}

/** piscina's record of `worker`, under the symbol piscina names `Piscina.kWorkerData`. */
export function workerInfoOf(worker: PiscinaWorker): PiscinaWorkerInfo | undefined {
  const key = Object.getOwnPropertySymbols(worker).find((symbol) => symbol.description === 'Piscina.kWorkerData');
  return key === undefined ? undefined : ((worker as unknown as Record<symbol, PiscinaWorkerInfo | undefined>)[key] ?? undefined);
}

/**
 * Read-ahead: a worker that dies may have answered a job whose answer still
 * waits in its port; piscina would close the port and fail that job with the
 * others. Reading the port first, on the worker's 'exit' before piscina's own
 * listener, delivers it: the job ran, and it succeeds or fails as it did.
 */
function drainOnExit(worker: PiscinaWorker): void {
  const info = workerInfoOf(worker);
  info?.worker.prependListener('exit', () => info.processPendingMessages());
}

/** A job that piscina failed with its worker: its slot's state and thread then, and its two possible outcomes. */
interface Death {
  readonly state: number;
  readonly thread: number;
  readonly notRun: () => void;
  readonly fail: () => void;
}

let piscinaClass: typeof Piscina | undefined;

/**
 * piscina itself, loaded by the first pool: a thread that only imports parapool (a task module
 * that uses `Value`, every worker) never loads it.
 */
function loadPiscina(): typeof Piscina {
  piscinaClass ??= (require('piscina') as typeof import('piscina')).Piscina;
  return piscinaClass;
}

export class PiscinaAdapter implements WorkerEngine {
  readonly workers: number;
  readonly depth: number;
  readonly #piscina: Piscina;
  /** Read-ahead: SLOT_WORDS Int32 words per slot, shared with every worker; undefined at depth 1. */
  readonly #slots: Int32Array | undefined;
  /** Read-ahead: the slots no job holds. */
  readonly #freeSlots: number[] = [];
  /** Read-ahead: the slot of the job being posted now (the balancer marks it HANDED when it picks an idle worker), else -1. */
  #posting = -1;
  /** Read-ahead: settlements of jobs whose worker died, delivered together (the "not run" ones first). */
  #deaths: Death[] = [];
  /** Read-ahead: threads stop() terminated, until their deaths are delivered. */
  readonly #stopped = new Set<number>();
  readonly #maxTasksPerChild: number | undefined;
  readonly #hasInitializer: boolean;
  /** Threads whose initializer has settled. */
  readonly #initialized = new Set<number>();
  #initWaiter: (() => void) | undefined;
  /** Tasks assigned to each worker (recycling only). */
  readonly #assigned = new Map<number, number>();
  /** Had their share, still finishing their last task. */
  readonly #retiring = new Map<number, PiscinaWorker>();
  /** Told to exit; piscina still lists them until their 'exit' event. */
  readonly #retired = new Set<number>();
  /** Booted workers (piscina's 'workerCreate'), recycling only: the balancer never hands a task to a booting spare. */
  readonly #booted = new Set<number>();
  /** A worker given this many tasks reserves its replacement (recycling only): half its share. */
  readonly #reserveAt: number;
  /** True while a look at the spares is queued (it runs on the next microtask, outside piscina's own calls). */
  #sparesQueued = false;
  /** True while a spare is being started: the balancer refuses that run, and piscina starts a worker for it. */
  #startingSpare = false;
  /** Set by close() and destroy(): no spare starts after it. */
  #stopping = false;

  constructor(options: PiscinaAdapterOptions) {
    this.workers = options.workers;
    this.#maxTasksPerChild = options.maxTasksPerChild;
    this.#hasInitializer = options.workerData.initializer !== undefined;
    this.#reserveAt = Math.ceil((options.maxTasksPerChild ?? 0) / 2);
    this.depth = options.maxTasksPerChild === undefined ? Math.max(1, options.depth ?? READ_AHEAD_DEPTH) : 1;
    let workerData = options.workerData;
    if (this.depth > 1) {
      const count = options.workers * this.depth;
      this.#slots = new Int32Array(new SharedArrayBuffer(count * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT));
      for (let slot = count - 1; slot >= 0; slot--) this.#freeSlots.push(slot);
      workerData = { ...workerData, slots: this.#slots };
    }
    const PiscinaClass = loadPiscina();
    this.#piscina = new PiscinaClass({
      filename: options.filename,
      minThreads: options.idleTimeout === undefined ? options.workers : 0,
      maxThreads: options.workers,
      idleTimeout: options.idleTimeout ?? Infinity,
      concurrentTasksPerWorker: this.depth,
      workerData,
      resourceLimits: options.resourceLimits,
      execArgv: threadExecArgv(),
      loadBalancer: (_task, workers) => this.#balance(workers),
    });
    // piscina reports worker failures through the tasks they fail; with none in
    // flight it emits 'error', which must not crash the program.
    this.#piscina.on('error', () => undefined);
    if (this.depth > 1) this.#piscina.on('workerCreate', (worker: PiscinaWorker) => drainOnExit(worker));
    // A destroyed worker's id reads -1 once it has exited, and piscina drops it from its list right after
    // this event: see who is gone on the next microtask.
    this.#piscina.on('workerDestroy', () => queueMicrotask(() => this.#forgetGone()));
    if (this.#maxTasksPerChild !== undefined) {
      // Emitted before piscina offers the worker its queued tasks, so the balancer already counts it as booted.
      this.#piscina.on('workerCreate', (worker: PiscinaWorker) => this.#booted.add(worker.id));
    }
    if (this.#hasInitializer) {
      this.#piscina.on('message', (message: WorkerInitializedMessage) => {
        if (message?.type !== 'parapool.pool.initialized') return;
        this.#initialized.add(message.threadId);
        this.#initWaiter?.();
      });
    }
  }

  /**
   * Runs one request; a worker's death rejects it with WorkerExitedError, an
   * abort with piscina's AbortError (depth 1). With read-ahead it resolves
   * `undefined` for a job its worker did not start.
   */
  run(
    request: TaskRequest,
    transferList: TransferListItem[] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TaskResponse | undefined> {
    if (this.#slots !== undefined) return this.#runHeld(this.#slots, request, transferList);
    const options =
      transferList === undefined && signal === undefined ? undefined : { transferList: transferList as never, signal: signal ?? null };
    return this.#piscina.run(request, options).then(
      (response: TaskResponse) => {
        if (this.#retiring.size > 0) this.#retireIdleWorkers();
        return response;
      },
      (failure: unknown) => {
        if (this.#retiring.size > 0) this.#retireIdleWorkers();
        throw workerExitedError(failure);
      },
    );
  }

  /** A read-ahead job: a slot QUEUED before it is posted; no signal (see the module comment). */
  #runHeld(slots: Int32Array, request: TaskRequest, transferList: TransferListItem[] | undefined): Promise<TaskResponse | undefined> {
    const slot = this.#freeSlots.pop()!;
    Atomics.store(slots, slot * SLOT_WORDS, SlotState.Queued);
    request.slot = slot;
    this.#posting = slot;
    let running: Promise<TaskResponse>;
    try {
      running = this.#piscina.run(request, transferList === undefined ? undefined : { transferList: transferList as never });
    } finally {
      this.#posting = -1;
    }
    return running.then(
      (response: TaskResponse) => (response.notRun === true ? undefined : response),
      (failure: unknown) => this.#afterDeath(slots, slot, failure),
    );
  }

  /** A held job's worker died (or the pool is being destroyed): "not run" unless it had started; see #deliverDeaths. */
  #afterDeath(slots: Int32Array, slot: number, failure: unknown): Promise<TaskResponse | undefined> {
    const word = slot * SLOT_WORDS;
    const state = Atomics.load(slots, word);
    const thread = Atomics.load(slots, word + 1);
    return new Promise<TaskResponse | undefined>((resolve, reject) => {
      this.#deaths.push({ state, thread, notRun: () => resolve(undefined), fail: () => reject(workerExitedError(failure)) });
      // piscina rejects all the jobs of a dead worker in one go: deliver them together, after every one of them is in.
      if (this.#deaths.length === 1) setImmediate(() => this.#deliverDeaths());
    });
  }

  /**
   * The "not run" jobs first, so that they are back in the queue before the
   * failures make room for anything else. A worker that died running none of
   * the jobs it held (it could not boot, or crashed between jobs) fails the
   * first of them, as a worker given one job at a time would: else a worker
   * that can never boot would take the same job back for ever. A death that
   * stop() caused fails none of them: the job it stopped has failed already.
   */
  #deliverDeaths(): void {
    const deaths = this.#deaths;
    this.#deaths = [];
    let stopped = false;
    for (const death of deaths) if (this.#stopped.delete(death.thread)) stopped = true;
    const unstarted = (death: Death): boolean =>
      death.state === SlotState.Queued || death.state === SlotState.Handed || death.state === SlotState.Cancelled;
    const failing = new Set(deaths.filter((death) => !unstarted(death)));
    if (failing.size === 0 && !stopped) {
      const first = deaths.find((death) => death.state !== SlotState.Cancelled);
      if (first !== undefined) failing.add(first);
    }
    for (const death of deaths) if (!failing.has(death)) death.notRun();
    for (const death of failing) death.fail();
  }

  withdraw(request: TaskRequest): boolean {
    const word = request.slot! * SLOT_WORDS;
    return Atomics.compareExchange(this.#slots!, word, SlotState.Queued, SlotState.Cancelled) === SlotState.Queued;
  }

  /** True once the job started, or was handed to an idle worker (it runs next there). */
  started(request: TaskRequest): boolean {
    const state = Atomics.load(this.#slots!, request.slot! * SLOT_WORDS);
    return state === SlotState.Handed || state === SlotState.Started || state === SlotState.Done;
  }

  /** Terminates the thread that runs the job (or runs it next), if any; piscina then fails the jobs that thread held. */
  stop(request: TaskRequest): boolean {
    const word = request.slot! * SLOT_WORDS;
    const state = Atomics.load(this.#slots!, word);
    if (state !== SlotState.Started && state !== SlotState.Handed) return false;
    const threadId = Atomics.load(this.#slots!, word + 1);
    const thread = this.#piscina.threads.find((candidate) => candidate.threadId === threadId);
    if (thread !== undefined) this.#stopped.add(threadId);
    void thread?.terminate();
    return thread !== undefined;
  }

  held(): { waiting: number; withdrawn: number } {
    let waiting = 0;
    let withdrawn = 0;
    const slots = this.#slots!;
    for (let word = 0; word < slots.length; word += SLOT_WORDS) {
      const state = Atomics.load(slots, word);
      if (state === SlotState.Queued) waiting++;
      else if (state === SlotState.Cancelled) withdrawn++;
    }
    return { waiting, withdrawn };
  }

  release(request: TaskRequest): void {
    if (this.#slots === undefined || request.slot === undefined) return;
    Atomics.store(this.#slots, request.slot * SLOT_WORDS, SlotState.Free);
    this.#freeSlots.push(request.slot);
    request.slot = undefined;
  }

  /** Lets every live worker's initializer settle (Python runs it in each worker), then stops the workers. */
  async close(): Promise<void> {
    this.#stopping = true;
    if (this.#hasInitializer) {
      // piscina unrefs idle workers: without a handle of our own the program could end while we wait.
      const keepAlive = setInterval(() => undefined, 2 ** 30);
      try {
        await this.#untilInitialized();
      } finally {
        clearInterval(keepAlive);
      }
    }
    await this.#piscina.destroy();
  }

  async #untilInitialized(): Promise<void> {
    while (this.#piscina.threads.some((thread) => !this.#initialized.has(thread.threadId))) {
      let onDestroy: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        this.#initWaiter = resolve;
        // A worker that dies before it reports leaves piscina's list: look again then too.
        onDestroy = resolve;
        this.#piscina.on('workerDestroy', onDestroy);
      });
      this.#initWaiter = undefined;
      this.#piscina.off('workerDestroy', onDestroy!);
    }
  }

  /** Stops every worker now. */
  destroy(): Promise<void> {
    this.#stopping = true;
    return this.#piscina.destroy();
  }

  /** The live workers' thread ids (stats()). */
  threadIds(): number[] {
    return this.#piscina.threads.map((thread) => thread.threadId);
  }

  /**
   * piscina's load balancer: an idle worker (with recycling: see
   * #balanceRecycling). piscina calls it synchronously when it distributes, so
   * a worker's count can never be overtaken by a dispatch we did not see.
   */
  #balance(workers: PiscinaWorker[]): PiscinaWorker | null {
    if (this.#startingSpare) return null;
    const limit = this.#maxTasksPerChild;
    if (limit === undefined && this.depth > 1) return this.#leastBusy(workers);
    if (limit !== undefined) return this.#balanceRecycling(workers, limit);
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      return worker;
    }
    return null;
  }

  /** Read-ahead: an idle worker, else the one holding the fewest jobs below the depth. */
  #leastBusy(workers: PiscinaWorker[]): PiscinaWorker | null {
    let best: PiscinaWorker | null = null;
    let bestUsage = this.depth;
    for (const worker of workers) {
      if (worker.terminating || worker.destroyed) continue;
      const usage = worker.currentUsage;
      if (usage === 0) {
        if (this.#posting !== -1) {
          // Before piscina posts it: the thread id first, so that stop() finds the thread.
          const word = this.#posting * SLOT_WORDS;
          Atomics.store(this.#slots!, word + 1, worker.id);
          Atomics.store(this.#slots!, word, SlotState.Handed);
        }
        return worker;
      }
      if (usage < bestUsage) {
        best = worker;
        bestUsage = usage;
      }
    }
    // The thread that holds it (its deaths are told apart by it); the worker writes it again when it starts the job.
    if (best !== null && this.#posting !== -1) Atomics.store(this.#slots!, this.#posting * SLOT_WORDS + 1, best.id);
    return best;
  }

  /**
   * The idle, booted worker that has had the most tasks and not its share; the
   * task it is given is counted at once, and the one that reaches the limit is
   * on its way out. None (the task waits in piscina's queue) while every such
   * worker is busy or still booting.
   */
  #balanceRecycling(workers: PiscinaWorker[], limit: number): PiscinaWorker | null {
    let chosen: PiscinaWorker | null = null;
    let chosenCount = -1;
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      const id = worker.id;
      if (!this.#booted.has(id) || this.#retiring.has(id) || this.#retired.has(id)) continue;
      const count = this.#assigned.get(id) ?? 0;
      if (count > chosenCount) {
        chosen = worker;
        chosenCount = count;
      }
    }
    if (chosen === null) return null;
    const count = chosenCount + 1;
    this.#assigned.set(chosen.id, count);
    if (count >= limit) this.#retiring.set(chosen.id, chosen);
    if (count >= this.#reserveAt) this.#wantSpare();
    return chosen;
  }

  /** Has the spares looked at on the next microtask (the balancer runs inside piscina's own calls). */
  #wantSpare(): void {
    if (this.#sparesQueued) return;
    this.#sparesQueued = true;
    queueMicrotask(() => {
      this.#sparesQueued = false;
      this.#startSpares();
    });
  }

  /**
   * Starts the spares missing: `workers` serving workers (not on their way
   * out), plus one more for each that has reserved its replacement, up to
   * `workers` more. Each is a run that the balancer refuses and that is
   * withdrawn at once, which makes piscina start one worker since it is below
   * `maxThreads`, raised by one for it.
   */
  #startSpares(): void {
    if (this.#stopping) return;
    let serving = 0;
    let reserving = 0;
    for (const thread of this.#piscina.threads) {
      const id = thread.threadId;
      if (this.#retiring.has(id) || this.#retired.has(id)) continue;
      serving++;
      if ((this.#assigned.get(id) ?? 0) >= this.#reserveAt) reserving++;
    }
    for (let missing = this.workers + Math.min(this.workers, reserving) - serving; missing > 0; missing--) {
      this.#piscina.options.maxThreads = this.#piscina.threads.length + 1;
      const withdraw = new AbortController();
      this.#startingSpare = true;
      try {
        this.#piscina.run(undefined, { signal: withdraw.signal }).catch(() => undefined);
      } finally {
        this.#startingSpare = false;
      }
      withdraw.abort();
    }
    this.#syncMaxThreads();
  }

  /**
   * Room for every worker piscina lists (spares and workers on their way out
   * included), and never less than `workers` serving ones: piscina starts a
   * worker by itself only when fewer serve (one died, or idleTimeout ended it).
   */
  #syncMaxThreads(): void {
    if (this.#maxTasksPerChild === undefined) return;
    this.#piscina.options.maxThreads = Math.max(this.#piscina.threads.length, this.workers + this.#retiring.size + this.#retired.size);
  }

  /** Ends workers that had their share once they are idle, without waiting for their exit. */
  #retireIdleWorkers(): void {
    for (const [id, worker] of this.#retiring) {
      if (worker.currentUsage !== 0) continue;
      this.#retiring.delete(id);
      this.#assigned.delete(id);
      this.#retired.add(id);
      const thread = this.#piscina.threads.find((candidate) => candidate.threadId === id);
      void thread?.terminate();
    }
  }

  /** Drops what was kept about workers piscina no longer lists, and lowers `maxThreads` for the ones that were on their way out. */
  #forgetGone(): void {
    const live = new Set(this.#piscina.threads.map((thread) => thread.threadId));
    for (const id of [...this.#retired, ...this.#retiring.keys(), ...this.#assigned.keys(), ...this.#initialized, ...this.#booted]) {
      if (live.has(id)) continue;
      this.#retired.delete(id);
      this.#retiring.delete(id);
      this.#assigned.delete(id);
      this.#initialized.delete(id);
      this.#booted.delete(id);
    }
    this.#syncMaxThreads();
  }
}

const devEntry = __filename.endsWith('.ts');
/** The pool worker entry: its TypeScript source through tsx under jest/tsx, the built file otherwise. */
export const WORKER_ENTRY = path.join(__dirname, '..', 'entry', devEntry ? 'pool-worker-dev.cjs' : 'pool-worker.js');

/** How `localDispatcher` reads ahead, for the specs and benchmarks/experiments/per-task.mjs (through DISPATCHER_FACTORY). */
export interface ReadAheadOptions {
  /** @default READ_AHEAD_DEPTH */
  readonly depth?: number;
  /** @default READ_AHEAD_MAX_MS */
  readonly maxMs?: number;
}

/** The local dispatcher over piscina: what `new Pool()` and `new Executor()` run on unless given another. */
export function localDispatcher(settings: RuntimeSettings, readAhead: ReadAheadOptions = {}): Dispatcher {
  return new LocalDispatcher(new PiscinaAdapter({ filename: WORKER_ENTRY, ...settings, depth: readAhead.depth }), {
    selfScheduling: settings.maxTasksPerChild === undefined,
    readAheadMaxMs: readAhead.maxMs,
  });
}
