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
import type { Dispatcher } from './dispatch';
import { LocalDispatcher, type WorkerEngine } from './local-dispatcher';
import type { TaskRequest, TaskResponse, WorkerInitializedMessage } from './protocol';
import type { RuntimeSettings } from './runtime';

/** piscina's view of one worker, as its load balancer sees it. */
export type PiscinaWorker = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

export interface PiscinaAdapterOptions extends RuntimeSettings {
  /** The worker entry module (lib/entry/pool-worker). */
  readonly filename: string;
}

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
  readonly #piscina: Piscina;
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
    const PiscinaClass = loadPiscina();
    this.#piscina = new PiscinaClass({
      filename: options.filename,
      minThreads: options.idleTimeout === undefined ? options.workers : 0,
      maxThreads: options.workers,
      idleTimeout: options.idleTimeout ?? Infinity,
      concurrentTasksPerWorker: 1,
      workerData: options.workerData,
      resourceLimits: options.resourceLimits,
      loadBalancer: (_task, workers) => this.#balance(workers),
    });
    // piscina reports worker failures through the tasks they fail; with none in
    // flight it emits 'error', which must not crash the program.
    this.#piscina.on('error', () => undefined);
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

  /** Runs one request; a worker's death rejects it with WorkerExitedError, an abort with piscina's AbortError. */
  run(request: TaskRequest, transferList: TransferListItem[] | undefined, signal: AbortSignal | undefined): Promise<TaskResponse> {
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
    if (limit !== undefined) return this.#balanceRecycling(workers, limit);
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      return worker;
    }
    return null;
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
const WORKER_ENTRY = path.join(__dirname, '..', 'entry', devEntry ? 'pool-worker-dev.cjs' : 'pool-worker.js');

/** The local dispatcher over piscina: what `new Pool()` and `new Executor()` run on unless given another. */
export function localDispatcher(settings: RuntimeSettings): Dispatcher {
  return new LocalDispatcher(new PiscinaAdapter({ filename: WORKER_ENTRY, ...settings }), {
    selfScheduling: settings.maxTasksPerChild === undefined,
  });
}
