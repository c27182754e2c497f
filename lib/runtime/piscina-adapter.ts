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
 * The port path (read-ahead without `idleTimeout`, the default pool): piscina
 * only starts, watches and replaces the threads. Each worker that is ready
 * gets one piscina job, which hands it its end of a MessageChannel and never
 * settles while the worker lives (piscina sees it busy and gives it nothing
 * else); its jobs are then posted on that port and answered there, in order,
 * with the same slot words, so piscina's per-task costs (its task object, the
 * Atomics.notify of every post, its queue and histogram) are gone. The death
 * of a worker is piscina's rejection of that job: the answers left in the port
 * are read first (receiveMessageOnPort), then the jobs it held but had not
 * started go back to the front of the jobs waiting for room in a worker,
 * inside this engine, and the one it ran fails (the rule of #settleDeaths).
 * A stop() of a job handed to an idle worker that has not reached it yet moves
 * its slot HANDED → CANCELLED instead of terminating the thread. The port path
 * also runs bundles (TaskRequest.bundle: a remote job's parts as one job): the
 * worker answers each part as it ends, `run`'s `onPart` gets every answer, and
 * the last one settles the job; a bundle that ran is never "not run".
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
import { MessageChannel, type MessagePort, receiveMessageOnPort, type TransferListItem } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { InvalidArgumentError, WorkerExitedError } from '../errors';
// Threads begin with the dead-thread bitmap that robust locks read (it must exist before they start).
import '../atomics/liveness';
import { reserveDirectory } from '../shared/shm-env';
import { threadExecArgv } from '../tasks/exec-argv';
import type { Dispatcher } from './dispatch';
import { LocalDispatcher, type WorkerEngine } from './local-dispatcher';
import {
  type PortAttachRequest,
  SLOT_WORDS,
  SlotState,
  type TaskRequest,
  type TaskResponse,
  type WorkerInitializedMessage,
} from './protocol';
import type { RuntimeSettings } from './runtime';

/** piscina's view of one worker, as its load balancer sees it. */
export type PiscinaWorker = Parameters<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'] & {}>[1][number];

export interface PiscinaAdapterOptions extends RuntimeSettings {
  /** The worker entry module (lib/entry/pool-worker). */
  readonly filename: string;
  /** Jobs a worker may hold at once without recycling (1 with `maxTasksPerChild`). @default READ_AHEAD_DEPTH */
  readonly depth?: number;
  /**
   * The port path: jobs go straight to each worker's own MessagePort instead of through
   * piscina's `run()`, when reading ahead and without `idleTimeout`. @default true
   */
  readonly ports?: boolean;
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
  /** Lets piscina's own port to the worker stop keeping the program alive. */
  unref(): void;
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

/** A job of the port path: posted to a worker's port, or waiting in the engine for room in one. */
interface PortJob {
  readonly request: TaskRequest;
  readonly transferList: TransferListItem[] | undefined;
  readonly resolve: (response: TaskResponse | undefined) => void;
  readonly reject: (failure: unknown) => void;
  /** A bundle's: takes each part's answer (see TaskRequest.bundle). */
  readonly onPart: ((response: TaskResponse) => void) | undefined;
}

/** A worker of the port path: its thread, the main thread's end of its port, and the jobs posted to it, oldest first. */
interface PortWorker {
  readonly id: number;
  readonly port: MessagePort;
  held: PortJob[];
  dead: boolean;
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
  /** Bundles run on the port path only (its workers answer a bundle's parts one by one). */
  readonly bundles: boolean;
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
  /** True on the port path (see the module comment). */
  readonly #ports: boolean;
  /** Port path: true while a port is being handed over (the balancer gives that piscina job to an idle worker). */
  #attaching = false;
  /** Port path: the worker the balancer gave the port's job to. */
  #attached: PiscinaWorker | undefined;
  /** Port path: the workers whose port is attached, alive. */
  readonly #portWorkers: PortWorker[] = [];
  /** Port path: jobs no worker had room for yet, in the order they came; `#unplacedHead` is the next one. */
  #unplaced: PortJob[] = [];
  #unplacedHead = 0;
  /** Port path: jobs given to run() and not settled; while there are any, `#keepAlive` keeps the program alive. */
  #inFlight = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Set by destroy(): every job held or waiting ends "not run" (the dispatcher fails it with its reason). */
  #destroyed = false;
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
    this.#ports = (options.ports ?? true) && this.depth > 1 && options.idleTimeout === undefined;
    this.bundles = this.#ports;
    let workerData = options.workerData;
    if (this.depth > 1) {
      const count = options.workers * this.depth;
      this.#slots = new Int32Array(new SharedArrayBuffer(count * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT));
      for (let slot = count - 1; slot >= 0; slot--) this.#freeSlots.push(slot);
      workerData = { ...workerData, slots: this.#slots };
    }
    // Workers begin with the SharedMemory directory's identity, even if no block exists yet.
    reserveDirectory();
    const PiscinaClass = loadPiscina();
    this.#piscina = new PiscinaClass({
      filename: options.filename,
      minThreads: options.idleTimeout === undefined ? options.workers : 0,
      maxThreads: options.workers,
      idleTimeout: options.idleTimeout ?? Infinity,
      concurrentTasksPerWorker: this.#ports ? 1 : this.depth,
      workerData,
      resourceLimits: options.resourceLimits,
      execArgv: threadExecArgv(),
      loadBalancer: (_task, workers) => this.#balance(workers),
    });
    // piscina reports worker failures through the tasks they fail; with none in
    // flight it emits 'error', which must not crash the program.
    this.#piscina.on('error', () => undefined);
    if (this.#ports) {
      // The first workers are ready at once; piscina emits 'workerCreate' for a later one before it lists it as ready.
      this.#attachIdle();
      this.#piscina.on('workerCreate', () => queueMicrotask(() => this.#attachIdle()));
    } else if (this.depth > 1) this.#piscina.on('workerCreate', (worker: PiscinaWorker) => drainOnExit(worker));
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
    onPart?: (response: TaskResponse) => void,
  ): Promise<TaskResponse | undefined> {
    if (request.bundle !== undefined && (!this.#ports || onPart === undefined)) {
      return Promise.reject(
        new InvalidArgumentError('A bundle runs on the port path only (no recycling, no idleTimeout), with a part listener'),
      );
    }
    if (this.#ports) return this.#runOnPort(this.#slots!, request, transferList, onPart);
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

  /**
   * Port path: every worker piscina has ready and idle (the first ones from the start, a
   * replacement once booted) gets the one piscina job that hands it its end of a new
   * MessageChannel, and its jobs go there from now on.
   */
  #attachIdle(): void {
    while (!this.#stopping && this.#piscina.idleThreads > 0 && this.#attach()) {}
  }

  /** Port path: attaches an idle worker (see #attachIdle); false when piscina had none to give. */
  #attach(): boolean {
    const { port1, port2 } = new MessageChannel();
    const withdraw = new AbortController();
    this.#attaching = true;
    this.#attached = undefined;
    let lifetime: Promise<unknown>;
    try {
      lifetime = this.#piscina.run({ port: port2 } satisfies PortAttachRequest, {
        transferList: [port2] as never,
        signal: withdraw.signal,
      });
    } finally {
      this.#attaching = false;
    }
    const worker = this.#attached as PiscinaWorker | undefined;
    this.#attached = undefined;
    if (worker === undefined) {
      // None was free after all: take the job back from piscina's queue.
      withdraw.abort();
      lifetime.catch(() => undefined);
      port1.close();
      return false;
    }
    // The job never settles: piscina's port to the worker must not keep the program alive for it (#inFlight does).
    workerInfoOf(worker)?.unref();
    const record: PortWorker = { id: worker.id, port: port1, held: [], dead: false };
    port1.on('message', (response: TaskResponse) => this.#answered(record, response));
    port1.unref();
    this.#portWorkers.push(record);
    lifetime.catch((failure: unknown) => this.#portDeath(record, failure));
    // The newcomer first; with it every worker may be there again, and the others may read ahead once more.
    this.#fill(record);
    for (const other of this.#portWorkers) if (other !== record) this.#fill(other);
    return true;
  }

  /** Port path: a job in a slot QUEUED, posted to the least busy worker with room, else kept until one has room. */
  #runOnPort(
    slots: Int32Array,
    request: TaskRequest,
    transferList: TransferListItem[] | undefined,
    onPart: ((response: TaskResponse) => void) | undefined,
  ): Promise<TaskResponse | undefined> {
    if (request.bundle?.parts.length === 0) return Promise.resolve({ result: undefined, shared: false });
    const slot = this.#freeSlots.pop()!;
    Atomics.store(slots, slot * SLOT_WORDS, SlotState.Queued);
    request.slot = slot;
    return new Promise<TaskResponse | undefined>((resolve, reject) => {
      if (this.#destroyed) {
        resolve(undefined);
        return;
      }
      if (this.#inFlight++ === 0) this.#keepAlive = setInterval(() => undefined, 2 ** 30);
      const job: PortJob = { request, transferList, resolve, reject, onPart };
      // Jobs that wait for room go first: a new one never overtakes them.
      if (this.#unplacedHead === this.#unplaced.length && this.#place(job)) return;
      this.#unplaced.push(job);
    });
  }

  /**
   * The live worker holding the fewest jobs below the depth gets the job (true); false when all
   * are full. While a worker is missing (a replacement still booting), none holds a job behind
   * another: it waits here for the first worker free or attached, not behind a job that may be long.
   */
  #place(job: PortJob): boolean {
    let best: PortWorker | undefined;
    let bestHeld = this.#holdLimit();
    for (const worker of this.#portWorkers) {
      const held = worker.held.length;
      if (held < bestHeld) {
        best = worker;
        bestHeld = held;
        if (held === 0) break;
      }
    }
    if (best === undefined) return false;
    this.#post(best, job);
    return true;
  }

  /**
   * Posts the job to the worker: the thread id first (stop() finds the thread by it), and
   * HANDED when the worker holds nothing else (nothing runs before it there).
   */
  #post(worker: PortWorker, job: PortJob): void {
    const slots = this.#slots!;
    const word = job.request.slot! * SLOT_WORDS;
    Atomics.store(slots, word + 1, worker.id);
    if (worker.held.length === 0) Atomics.store(slots, word, SlotState.Handed);
    worker.held.push(job);
    worker.port.postMessage(job.request, job.transferList);
  }

  /** Jobs a worker of the port path may hold: the depth, or only the one it runs while a worker is missing (see #place). */
  #holdLimit(): number {
    return this.#portWorkers.length < this.workers ? 1 : this.depth;
  }

  /** Port path: the worker has room: the jobs that wait go to it, in order; a withdrawn one ends "not run" unposted. */
  #fill(worker: PortWorker): void {
    while (!worker.dead && worker.held.length < this.#holdLimit() && this.#unplacedHead < this.#unplaced.length) {
      const job = this.#unplaced[this.#unplacedHead]!;
      this.#unplaced[this.#unplacedHead++] = undefined as never;
      if (Atomics.load(this.#slots!, job.request.slot! * SLOT_WORDS) === SlotState.Cancelled) this.#settle(job, undefined);
      else this.#post(worker, job);
    }
    if (this.#unplacedHead === this.#unplaced.length) {
      this.#unplaced.length = 0;
      this.#unplacedHead = 0;
    }
  }

  /**
   * One answer from a worker's port: of the oldest job it holds (a worker answers its jobs in
   * the order they came). A bundle's parts are answered one by one; its last part's answer also
   * settles it (a bundle that ran is never "not run", whatever its last part was).
   */
  #answered(worker: PortWorker, response: TaskResponse): void {
    const job = worker.held[0];
    if (job === undefined) return;
    if (response.part !== undefined && job.onPart !== undefined) {
      job.onPart(response);
      if (response.part < job.request.bundle!.parts.length - 1) return;
      if (response.notRun === true) response = { result: undefined, shared: false, threadId: response.threadId };
    }
    worker.held.shift();
    this.#settle(job, response.notRun === true ? undefined : response);
    this.#fill(worker);
  }

  #settle(job: PortJob, response: TaskResponse | undefined): void {
    this.#leave();
    job.resolve(response);
  }

  /** A job given to run() settled: with none left, nothing keeps the program alive for them. */
  #leave(): void {
    if (--this.#inFlight === 0) clearInterval(this.#keepAlive);
  }

  /**
   * Port path: piscina rejected the worker's port job, so the worker died (or the pool is
   * being destroyed). The answers it posted first are read off its port (the jobs ran, and
   * succeed or fail as they did); then of the jobs it still held, the ones it had not
   * started go back to the front of the waiting jobs, for any worker (the withdrawn ones end
   * "not run"), and the one it ran fails, by the rule of #deliverDeaths. After destroy()
   * every job ends "not run".
   */
  #portDeath(worker: PortWorker, failure: unknown): void {
    const index = this.#portWorkers.indexOf(worker);
    if (index !== -1) this.#portWorkers.splice(index, 1);
    worker.dead = true;
    for (let message = receiveMessageOnPort(worker.port); message !== undefined; message = receiveMessageOnPort(worker.port)) {
      this.#answered(worker, message.message as TaskResponse);
    }
    worker.port.close();
    const held = worker.held;
    worker.held = [];
    if (this.#destroyed) {
      for (const job of held) this.#settle(job, undefined);
      this.#dropUnplaced();
      return;
    }
    const slots = this.#slots!;
    const back: PortJob[] = [];
    const deaths = held.map((job): Death => {
      const word = job.request.slot! * SLOT_WORDS;
      return {
        state: Atomics.load(slots, word),
        thread: worker.id,
        notRun: () => {
          if (Atomics.load(slots, word) === SlotState.Cancelled) {
            this.#settle(job, undefined);
            return;
          }
          Atomics.store(slots, word, SlotState.Queued);
          back.push(job);
        },
        fail: () => {
          this.#leave();
          job.reject(workerExitedError(failure));
        },
      };
    });
    this.#settleDeaths(deaths, this.#stopped.delete(worker.id));
    if (back.length > 0) {
      this.#unplaced = [...back, ...this.#unplaced.slice(this.#unplacedHead)];
      this.#unplacedHead = 0;
    }
    for (const other of this.#portWorkers) this.#fill(other);
  }

  /** destroy(): the jobs that wait for room end "not run". */
  #dropUnplaced(): void {
    const waiting = this.#unplaced.slice(this.#unplacedHead);
    this.#unplaced = [];
    this.#unplacedHead = 0;
    for (const job of waiting) this.#settle(job, undefined);
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
    this.#settleDeaths(deaths, stopped);
  }

  #settleDeaths(deaths: readonly Death[], stopped: boolean): void {
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

  /**
   * Stops the job: one handed to an idle worker that has not started it yet never will
   * (HANDED → CANCELLED; the worker answers it "not run"), else the thread that runs it is
   * terminated, and the jobs that thread held fail or come back as on any death.
   */
  stop(request: TaskRequest): boolean {
    const word = request.slot! * SLOT_WORDS;
    if (Atomics.compareExchange(this.#slots!, word, SlotState.Handed, SlotState.Cancelled) === SlotState.Handed) return true;
    if (Atomics.load(this.#slots!, word) !== SlotState.Started) return false;
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
    this.#destroyed = true;
    if (this.#ports) this.#dropUnplaced();
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
    if (this.#ports) return this.#attachee(workers);
    const limit = this.#maxTasksPerChild;
    if (limit === undefined && this.depth > 1) return this.#leastBusy(workers);
    if (limit !== undefined) return this.#balanceRecycling(workers, limit);
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      return worker;
    }
    return null;
  }

  /** Port path: piscina runs nothing but each worker's port job, on an idle worker (one without a port yet). */
  #attachee(workers: PiscinaWorker[]): PiscinaWorker | null {
    if (!this.#attaching) return null;
    for (const worker of workers) {
      if (worker.currentUsage !== 0 || worker.terminating || worker.destroyed) continue;
      this.#attached = worker;
      return worker;
    }
    return null;
  }

  /**
   * Read-ahead: an idle worker, else the one holding the fewest jobs below the depth; none while
   * fewer than `workers` are ready (one booting: a replacement, or one started on demand), so that
   * the job waits in piscina's queue for the first worker free or ready, not behind a running one.
   */
  #leastBusy(workers: PiscinaWorker[]): PiscinaWorker | null {
    let best: PiscinaWorker | null = null;
    let bestUsage = this.depth;
    let live = 0;
    for (const worker of workers) {
      if (worker.terminating || worker.destroyed) continue;
      live++;
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
    if (live < this.workers) return null;
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
  /** The port path (PiscinaAdapterOptions.ports). @default true */
  readonly ports?: boolean;
  /** @default READ_AHEAD_MAX_MS */
  readonly maxMs?: number;
}

/** The local dispatcher over piscina: what `new Pool()` and `new Executor()` run on unless given another. */
export function localDispatcher(settings: RuntimeSettings, readAhead: ReadAheadOptions = {}): Dispatcher {
  return new LocalDispatcher(new PiscinaAdapter({ filename: WORKER_ENTRY, ...settings, depth: readAhead.depth, ports: readAhead.ports }), {
    selfScheduling: settings.maxTasksPerChild === undefined,
    readAheadMaxMs: readAhead.maxMs,
  });
}
