/**
 * A remote worker process (`npx parapool worker`): a BullMQ Worker whose
 * processor runs each part of a job (a chunk, an apply; short ones share a
 * job) on the local threads a parapool Pool runs on, so the event loop stays
 * free to renew BullMQ's locks while tasks use every thread, and TypeScript
 * task modules, packed chunks and coded errors work as they do locally. A
 * job's parts go to the threads as bundles (one local job per thread at most,
 * each part answered as it ends: see #bundle), or one by one where threads are
 * recycled.
 *
 * It runs only the modules it was started with (`--tasks`, relative to
 * `--root`): a job naming another module fails with ERR_TASK_NOT_FOUND, one
 * whose sha256 differs from this copy's with ERR_TASK_VERSION, one whose
 * signature fails with ERR_AUTH, and none of them runs. It heartbeats its
 * threads (what `pool.workers` reads) and closes gracefully on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Job as BullJob, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { encodeError } from '../codec/error-codec';
import {
  AuthenticationError,
  InvalidArgumentError,
  isParapoolError,
  TaskNotFoundError,
  TaskVersionError,
  UncloneableError,
  WorkerExitedError,
} from '../errors';
import type { Dispatcher, JobEntry } from '../runtime/dispatch';
import { localDispatcher } from '../runtime/piscina-adapter';
import { CallKind, PartState, type TaskRequest, type TaskResponse } from '../runtime/protocol';
import { poolWorkerData } from '../runtime/worker-settings';
import { task } from '../tasks/task-ref';
import { clientKeys, HEARTBEAT_INTERVAL_MS, HEARTBEAT_SCRIPT, HEARTBEAT_TTL_MS, queueKeys, type QueueKeys } from './keys';
import { Outbox } from './outbox';
import { contentHash, openCancel, verify } from './signing';
import { describeShared, fromWire, sharedTagIn, toWire, type JobData, type JobPart, type ResultMessage } from './wire';

/** Everything a worker process is started with (the CLI's flags, checked). */
export interface WorkerSettings {
  readonly redis: string;
  readonly queue: string;
  readonly prefix: string;
  readonly root: string;
  /** Task modules relative to `root`. */
  readonly tasks: readonly string[];
  readonly threads: number;
  readonly authkey: Buffer;
  readonly initializer?: { readonly file: string; readonly name: string } | undefined;
  readonly initargs?: readonly unknown[] | undefined;
  readonly maxTasksPerChild?: number | undefined;
  /** BullMQ's lock duration: a dead worker's job is re-run after about this plus one or two stalled intervals. */
  readonly lockDuration: number;
  readonly stalledInterval: number;
  /** Where to report (stderr lines); silent when undefined. */
  readonly log?: ((line: string) => void) | undefined;
}

interface ServedModule {
  readonly file: string;
  readonly hash: string;
}

const STALLED_REASON = 'job stalled more than allowable limit';
const CLIENT_ID = /^[0-9a-f]{12}$/;
/** How long a cancelled id is remembered (well past a job's start check). */
const CANCEL_MEMORY_MS = 60000;
/**
 * Prefetch: a worker holds, per thread, the job it runs plus as many more as take about this long, so
 * that a thread that finishes a short job finds the next one here instead of waiting for a Redis round
 * trip. Jobs of this length or longer are not prefetched (no thread idles long, and no job waits here
 * while another worker's thread is free).
 */
const PREFETCH_MS = 10;
/** At most this many jobs per thread beyond the running one. */
const MAX_PREFETCH = 32;
/**
 * Jobs shorter than this (the chunk sizes docs/remote.md recommends) get one spare job per worker
 * process, so that a thread that finishes one starts the next at once instead of after a round trip
 * to Redis; longer jobs lose little to that round trip, and a held job would wait longer.
 */
const SPARE_JOB_MS = 1000;
/**
 * A prefetched job that has waited this long (or twice the mean run time, if longer) for a thread
 * here goes back to the queue: the jobs ahead of it turned out long, and another worker may have
 * idle threads.
 */
const HOLD_MS = 100;

export class RemoteWorker {
  readonly #settings: WorkerSettings;
  readonly #keys: QueueKeys;
  readonly #served = new Map<string, ServedModule>();
  readonly #host = os.hostname();
  readonly #runner: string;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #outbox: Outbox;
  /** The local dispatcher (what a local Pool runs on) that runs this worker's jobs on its threads. */
  readonly #threads: Dispatcher;
  /** How to cancel each part this worker holds (it never runs, or its thread is stopped), by part id. */
  readonly #active = new Map<string, () => void>();
  /** Ids cancelled lately: a cancellation may arrive between a job's start check and its registration here. */
  readonly #cancelled = new Map<string, number>();
  /** The jobs whose signature this worker checked and found good: only their parts' ids are trusted. */
  readonly #verified = new WeakSet<BullJob<JobData>>();
  /** When each local thread (by thread id) last answered a part: see #busyMs. */
  readonly #answeredAt = new Map<number, number>();
  /** The mean time a job runs on a thread (exponentially weighted), which sets the prefetch. */
  #meanRunMs: number | undefined;
  #worker: Worker<JobData> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(settings: WorkerSettings) {
    this.#settings = settings;
    this.#keys = queueKeys(settings.prefix, settings.queue);
    this.#runner = `host ${this.#host} pid ${process.pid}`;
    for (const module of settings.tasks) {
      const relative = path.normalize(module);
      if (path.isAbsolute(relative) || relative.startsWith('..')) {
        throw new InvalidArgumentError(`--tasks ${module}: a task module is named by its path under --root ${settings.root}`);
      }
      const file = path.join(settings.root, relative);
      let content: Buffer;
      try {
        content = readFileSync(file);
      } catch (error) {
        throw new TaskNotFoundError(`--tasks ${module}: no such file ${file}`, { cause: error });
      }
      this.#served.set(relative.split(path.sep).join('/'), { file: pathToFileURL(file).href, hash: contentHash(content) });
    }
    const initializer = settings.initializer === undefined ? undefined : task(settings.initializer.file, settings.initializer.name);
    this.#threads = localDispatcher({
      workers: settings.threads,
      maxTasksPerChild: settings.maxTasksPerChild,
      idleTimeout: undefined,
      resourceLimits: undefined,
      workerData: poolWorkerData(initializer, settings.initargs),
    });
    this.#redis = new Redis(settings.redis, { maxRetriesPerRequest: null });
    this.#subscriber = new Redis(settings.redis, { maxRetriesPerRequest: null });
    for (const connection of [this.#redis, this.#subscriber]) {
      connection.on('error', (error: unknown) => this.#log(`redis: ${messageOf(error)}`));
    }
    this.#outbox = new Outbox(this.#redis, settings.prefix, settings.queue, this.#runner, settings.authkey);
  }

  /** The task modules this worker serves, relative to its root. */
  get modules(): string[] {
    return [...this.#served.keys()];
  }

  async start(): Promise<void> {
    const settings = this.#settings;
    this.#subscriber.on('message', (_channel: string, text: string) => this.#onCancel(text));
    await this.#subscriber.subscribe(this.#keys.cancelChannel);
    this.#worker = new Worker<JobData>(settings.queue, (job, token, signal) => this.#process(job, token, signal), {
      connection: this.#redis,
      prefix: settings.prefix,
      concurrency: settings.threads,
      lockDuration: settings.lockDuration,
      stalledInterval: settings.stalledInterval,
      maxStalledCount: 1,
      name: this.#runner,
      autorun: false,
    });
    this.#worker.on('error', (error: unknown) => this.#log(`worker: ${messageOf(error)}`));
    this.#worker.on('failed', (job, error) => {
      if (job !== undefined) void this.#reportFailed(job, error);
    });
    this.#worker.on('completed', (job) => this.#left(job));
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat().catch(() => undefined), HEARTBEAT_INTERVAL_MS);
    void this.#worker.run().catch((error: unknown) => this.#log(`worker stopped: ${messageOf(error)}`));
    await this.#worker.waitUntilReady();
    this.#log(`serving queue "${settings.queue}" with ${settings.threads} threads (${this.#runner}); tasks: ${this.modules.join(', ')}`);
  }

  /** Finishes the jobs it holds, then leaves: heartbeat removed, threads stopped, connections closed. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
      await this.#redis
        .multi()
        .zrem(this.#keys.workers, this.#member())
        .hdel(this.#keys.workerInfo, this.#member())
        .exec()
        .catch(() => undefined);
      await this.#worker?.close();
      await this.#threads.close();
      this.#subscriber.disconnect();
      await this.#redis.quit().catch(() => undefined);
      this.#log('closed');
    })();
    return this.#closing;
  }

  #member(): string {
    return `${this.#host}-${process.pid}`;
  }

  async #beat(): Promise<void> {
    const info = JSON.stringify({ host: this.#host, pid: process.pid, threads: this.#settings.threads, modules: this.modules });
    await this.#redis.eval(HEARTBEAT_SCRIPT, 2, this.#keys.workers, this.#keys.workerInfo, this.#member(), info, HEARTBEAT_TTL_MS);
  }

  #log(line: string): void {
    this.#settings.log?.(`parapool worker: ${line}`);
  }

  /** A cancellation published by a client: acted on only when signed with the authkey (see signing.ts). */
  #onCancel(text: string): void {
    const ids = openCancel(this.#settings.authkey, text);
    if (ids === undefined) {
      this.#log(`ignored a cancel message that failed its signature check (not made with this worker's authkey)`);
      return;
    }
    const now = Date.now();
    for (const id of ids) {
      this.#active.get(id)?.();
      this.#cancelled.set(id, now);
    }
    for (const [id, at] of this.#cancelled) {
      if (now - at < CANCEL_MEMORY_MS) break;
      this.#cancelled.delete(id);
    }
  }

  /** Sends a message about a part to its client (batched per turn; see outbox.ts); `ended`: the part is over. */
  #send(client: string, message: ResultMessage, ended: boolean): Promise<void> {
    let text: string;
    try {
      text = toWire(message, 'result');
    } catch (error) {
      text = toWire({ id: message.id, type: 'response', response: errorResponse(error) } satisfies ResultMessage, 'result');
    }
    return this.#outbox.send(client, text, ended ? message.id : undefined);
  }

  #fail(client: string, id: string, error: unknown): Promise<void> {
    return this.#send(client, { id, type: 'failure', error: errorResponse(error).error! }, true);
  }

  async #process(job: BullJob<JobData>, token: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const id = job.id ?? '';
    const data = job.data;
    const client = clientOf(data);
    const parts = partsOf(data);
    if (client === undefined || parts === undefined) return;
    if (!verify(this.#settings.authkey, id, data)) {
      await this.#refuse(client, id);
      return;
    }
    this.#verified.add(job);
    const states = await Promise.all(parts.map((part) => this.#outbox.begin(client, part.id)));
    if (states.includes('gone')) return;
    const running: Running[] = [];
    const ended: Promise<void>[] = [];
    parts.forEach((part, i) => {
      if (states[i] === 'done') return;
      if (states[i] === 'cancelled' || this.#cancelled.has(part.id) || signal?.aborted === true) {
        ended.push(this.#send(client, { id: part.id, type: 'skipped' }, true));
        return;
      }
      const served = this.#servedFor(part);
      if ('error' in served) {
        ended.push(this.#fail(client, part.id, served.error));
        return;
      }
      running.push({ part, served });
    });
    const onAbort = (): void => {
      for (const { part } of running) this.#active.get(part.id)?.();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const outcomes = this.#threads.bundles ? this.#runBundles(client, running) : this.#runEach(client, running);
      // Each part's message goes as soon as it ends (a returned part sends none: its job goes back whole).
      for (const [i, outcome] of outcomes.entries()) {
        const partId = running[i]!.part.id;
        ended.push(
          outcome.then((result) => {
            this.#active.delete(partId);
            if (result === 'returned') return;
            return this.#send(client, result === 'cancelled' ? { id: partId, type: 'skipped' } : { id: partId, ...result }, true);
          }),
        );
      }
      if (outcomes.length > 0 && (await Promise.all(outcomes)).every((outcome) => outcome === 'returned')) {
        // Never started here: back to the queue, for a worker whose threads are free (BullMQ's own idiom).
        // Should the move fail (the lock lost meanwhile), BullMQ's stall check puts the job back instead.
        await Promise.all(ended);
        await job.moveToWait(token).catch((error: unknown) => this.#log(`could not return job ${id}: ${messageOf(error)}`));
        throw new WaitingError();
      }
      await Promise.all(ended);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const { part } of running) this.#active.delete(part.id);
    }
  }

  /**
   * A job whose signature fails: nothing in it is trusted but the id BullMQ holds it under, so the refusal
   * names that id only, never the parts the data claims (a forged job could name another job's pending
   * parts). The client fails the parts of the job it sent under that id, if it sent one (docs/remote.md).
   */
  #refuse(client: string, id: string): Promise<void> {
    this.#log(`refused job ${id}: its signature does not match this worker's authkey`);
    const refused = new AuthenticationError(
      `The worker (${this.#runner}) refused the job: its signature does not match the worker's authkey (the caller's authkey and the worker's --authkey-file differ)`,
    );
    return this.#send(client, { id, type: 'refused', error: errorResponse(refused).error! }, false);
  }

  /** The module a part names, if this worker serves it in the same version; else the coded error to answer with. */
  #servedFor(part: JobPart): ServedModule | { error: Error } {
    const served = this.#served.get(part.module);
    if (served === undefined) {
      return {
        error: new TaskNotFoundError(
          `Task module ${part.module} is not served by the worker ${this.#runner} (its --tasks: ${this.modules.join(', ') || 'none'})`,
        ),
      };
    }
    if (served.hash !== part.sha256) {
      return {
        error: new TaskVersionError(
          `Task module ${part.module} on the worker ${this.#runner} differs from the caller's copy (sha256 ${served.hash.slice(0, 12)}… there, ${String(part.sha256).slice(0, 12)}… here): deploy the same version to the workers, then restart them`,
        ),
      };
    }
    return served;
  }

  /**
   * Runs a job's parts on the local threads, exactly as a local Pool would run them (the arguments are
   * already codec-encoded by the caller), one local job per part (threads recycled: no bundles); tells
   * the client when a thread starts each. A part resolves with its response and run time, or
   * 'cancelled'; every part resolves 'returned' when none of them had started after waiting here too
   * long for a thread (see HOLD_MS): the job should go back to the queue.
   */
  #runEach(client: string, running: readonly Running[]): Promise<Outcome>[] {
    const gate = new GiveBack();
    const outcomes = running.map(({ part, served }) => {
      let request: TaskRequest;
      try {
        request = requestOf(part, served);
      } catch (error) {
        return Promise.resolve<Outcome>({ type: 'response', response: errorResponse(error) });
      }
      const controller = new AbortController();
      const signal = controller.signal;
      return new Promise<Outcome>((resolve) => {
        let startedAt = 0;
        let entry: JobEntry | undefined;
        const settle = (outcome: Outcome): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        };
        const onAbort = (): void => {
          // Still waiting for a thread here: it never starts. Running: the signal stops its thread.
          if (entry !== undefined && this.#threads.cancel(entry)) settle('cancelled');
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#active.set(part.id, () => controller.abort());
        entry = this.#threads.submit({
          request,
          signal,
          onStart: () => {
            gate.started();
            startedAt = performance.now();
            this.#outbox.started(client, part.id);
          },
          onResponse: (response) => {
            const ms = this.#busyMs(response.threadId, startedAt);
            this.#ran(ms);
            settle(signal.aborted ? 'cancelled' : { type: 'response', response: remoteResponse(response), ms });
          },
          onFailure: (error) => {
            if (signal.aborted) {
              settle('cancelled');
              return;
            }
            this.#onPoolError(error);
            settle({ type: 'response', response: errorResponse(error) });
          },
        });
        if (entry.state === 'queued') gate.held.push({ entry, back: () => settle('returned') });
      });
    });
    this.#arm(gate, running.length);
    return outcomes;
  }

  /**
   * Runs a job's parts as bundles (see TaskRequest.bundle), one per local thread at most: its parts
   * split in runs of consecutive ones, each run one local job whose thread answers its parts one
   * by one. Outcomes as #runEach's.
   */
  #runBundles(client: string, running: readonly Running[]): Promise<Outcome>[] {
    const gate = new GiveBack();
    const count = Math.min(running.length, this.#settings.threads);
    const outcomes: Promise<Outcome>[] = [];
    let bundles = 0;
    for (let b = 0, from = 0; b < count; b++) {
      const to = from + Math.ceil((running.length - from) / (count - b));
      const parts: BundlePart[] = [];
      for (const { part, served } of running.slice(from, to)) {
        try {
          const request = requestOf(part, served);
          outcomes.push(new Promise<Outcome>((resolve) => parts.push({ part, request, resolve })));
        } catch (error) {
          outcomes.push(Promise.resolve<Outcome>({ type: 'response', response: errorResponse(error) }));
        }
      }
      if (parts.length > 0) {
        this.#bundle(client, parts, gate);
        bundles++;
      }
      from = to;
    }
    this.#arm(gate, bundles);
    return outcomes;
  }

  /**
   * One bundle on the local threads. A part cancelled before its thread reached it never runs (its
   * state word QUEUED → CANCELLED); one cancelled while it runs stops its thread, after the parts
   * behind it are taken back (QUEUED → CANCELLED) to run again in a bundle of their own. When the
   * thread dies, the parts that answered keep their answers, the one it was running fails as a local
   * task would (ERR_WORKER_EXITED), and the ones it had not reached run again; a bundle that failed
   * before any part ran (the pool broken or closing) fails every part with its error.
   */
  #bundle(client: string, parts: readonly BundlePart[], gate: GiveBack | undefined): void {
    const count = parts.length;
    const states = new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
    const settled: boolean[] = new Array<boolean>(count).fill(false);
    const cancelled = new Set<number>();
    const withdrawn = new Set<number>();
    const controller = new AbortController();
    let entry: JobEntry | undefined;
    let handedAt = 0;
    let answers = 0;
    const settle = (i: number, outcome: Outcome): void => {
      if (settled[i]) return;
      settled[i] = true;
      parts[i]!.resolve(outcome);
    };
    const cancel = (i: number): void => {
      if (settled[i] || cancelled.has(i)) return;
      cancelled.add(i);
      const seen = Atomics.compareExchange(states, i, PartState.Queued, PartState.Cancelled);
      if (seen === PartState.Queued || seen === PartState.Cancelled) {
        withdrawn.delete(i);
        settle(i, 'cancelled');
        if (entry !== undefined && settled.every(Boolean)) this.#threads.cancel(entry);
      } else if (seen === PartState.Started) {
        for (let j = i + 1; j < count; j++) {
          if (Atomics.compareExchange(states, j, PartState.Queued, PartState.Cancelled) === PartState.Queued) withdrawn.add(j);
        }
        controller.abort();
      }
      // DONE: its answer is on its way, and it ends 'cancelled' when it comes.
    };
    const finish = (error: unknown): void => {
      let ran = answers > 0;
      for (let i = 0; i < count && !ran; i++) ran = Atomics.load(states, i) !== PartState.Queued && !withdrawn.has(i) && !cancelled.has(i);
      const again: BundlePart[] = [];
      for (let i = 0; i < count; i++) {
        if (settled[i]) continue;
        if (cancelled.has(i)) settle(i, 'cancelled');
        else if (withdrawn.has(i) || (ran && Atomics.load(states, i) === PartState.Queued)) {
          again.push({ ...parts[i]!, resolve: (outcome) => settle(i, outcome) });
        } else {
          const failure =
            error ??
            new WorkerExitedError(`The worker thread ended its bundle without answering this task (${this.#runner})`, { exitCode: 1 });
          if (!controller.signal.aborted) this.#onPoolError(failure);
          settle(i, { type: 'response', response: errorResponse(failure) });
        }
      }
      if (again.length > 0) this.#bundle(client, again, undefined);
    };
    for (const [i, { part }] of parts.entries()) this.#active.set(part.id, () => cancel(i));
    const first = parts[0]!.request;
    entry = this.#threads.submit({
      request: {
        file: first.file,
        name: first.name,
        kind: first.kind,
        input: NO_INPUT,
        bundle: { parts: parts.map(({ request }) => request), states },
      },
      signal: controller.signal,
      onStart: () => {
        gate?.started();
        handedAt = performance.now();
        this.#outbox.started(client, parts[0]!.part.id);
      },
      onPart: (response) => {
        const i = response.part!;
        answers++;
        if (i + 1 < count && Atomics.load(states, i + 1) !== PartState.Cancelled) this.#outbox.started(client, parts[i + 1]!.part.id);
        // Not run: cancelled (settled then) or taken back (runs again). Broken: the pool fails the bundle.
        if (response.notRun === true || response.broken !== undefined) return;
        const busy = this.#busyMs(response.threadId, handedAt);
        this.#ran(busy);
        settle(i, cancelled.has(i) ? 'cancelled' : { type: 'response', response: remoteResponse(response), ms: response.ms ?? busy });
      },
      onResponse: () => finish(undefined),
      onFailure: (error) => finish(error),
    });
    if (gate !== undefined && entry.state === 'queued') {
      gate.held.push({
        entry,
        back: () => {
          for (let i = 0; i < count; i++) settle(i, 'returned');
        },
      });
    }
  }

  /** Gives the job back to the queue if none of its `total` local jobs has started within the hold time (see HOLD_MS). */
  #arm(gate: GiveBack, total: number): void {
    gate.arm(total, Math.max(HOLD_MS, 2 * (this.#meanRunMs ?? 0)), this.#threads, () => this.#gaveBack());
  }

  /**
   * How long a part's thread worked on it, ending now: from its handoff to the thread, or from the thread's
   * previous answer if that came later (a thread holds several parts and runs them one after the other: the
   * time a part waited behind the others there is not its own, and would make short tasks look long).
   */
  #busyMs(threadId: number | undefined, handedAt: number): number {
    const now = performance.now();
    if (threadId === undefined) return now - handedAt;
    const previous = this.#answeredAt.get(threadId) ?? 0;
    // Recycled threads leave entries behind: past a few per thread, start afresh (a live thread's
    // next part then counts from its handoff, as its first one did).
    if (this.#answeredAt.size >= 4 * this.#settings.threads && !this.#answeredAt.has(threadId)) this.#answeredAt.clear();
    this.#answeredAt.set(threadId, now);
    return now - Math.max(handedAt, previous);
  }

  /** A held job waited too long: the measured mean is stale (jobs got longer); fetch no more than the threads until one ends. */
  #gaveBack(): void {
    const worker = this.#worker;
    if (worker !== undefined && worker.concurrency !== this.#settings.threads) worker.concurrency = this.#settings.threads;
  }

  /** A job ran `ms` on a thread: short jobs raise the prefetch, long ones lower it (BullMQ's concurrency). */
  #ran(ms: number): void {
    this.#meanRunMs = this.#meanRunMs === undefined ? ms : 0.8 * this.#meanRunMs + 0.2 * ms;
    const worker = this.#worker;
    if (worker === undefined) return;
    const perThread = 1 + Math.min(MAX_PREFETCH, Math.floor(PREFETCH_MS / Math.max(this.#meanRunMs, 0.001)));
    const concurrency = this.#settings.threads * perThread + (this.#meanRunMs < SPARE_JOB_MS ? 1 : 0);
    if (worker.concurrency !== concurrency) worker.concurrency = concurrency;
  }

  /** A broken local pool (the initializer failed) cannot serve anything: leave, so the jobs go elsewhere. */
  #onPoolError(error: unknown): void {
    if (isParapoolError(error) && error.code === 'ERR_POOL_BROKEN') {
      this.#log(`the local pool is broken (${messageOf(error)}): leaving`);
      process.exitCode = 1;
      void this.close();
    }
  }

  /** BullMQ failed a job: after a second stall, the worker that ran it last died too. Every part that had not ended fails. */
  async #reportFailed(job: BullJob<JobData>, error: Error): Promise<void> {
    const id = job.id ?? '';
    const client = clientOf(job.data);
    const parts = partsOf(job.data);
    if (client === undefined || parts === undefined) return;
    if (!this.#verified.has(job) && !verify(this.#settings.authkey, id, job.data)) {
      await this.#refuse(client, id).catch(() => undefined);
      return;
    }
    const ids = parts.map((part) => part.id);
    try {
      if (error.message === STALLED_REASON) {
        const keys = clientKeys(this.#settings.prefix, this.#settings.queue, client);
        const runners = await this.#redis.hmget(keys.runners, ...ids);
        await Promise.all(
          ids.map((partId, i) =>
            this.#fail(
              client,
              partId,
              new WorkerExitedError(
                `The worker process running this task died (last on ${runners[i] ?? 'an unknown host'}): it had been run once more after a first worker died, and remote tasks run at most twice`,
                { exitCode: 1 },
              ),
            ),
          ),
        );
      } else {
        await Promise.all(ids.map((partId) => this.#fail(client, partId, error)));
      }
    } catch (failure) {
      this.#log(`could not report the failure of job ${id}: ${messageOf(failure)}`);
    }
    this.#outbox.forget(client, ids);
  }

  /** A job left BullMQ: its parts' done marks (kept for a re-run after a death) go; a refused job's data names nothing. */
  #left(job: BullJob<JobData> | undefined): void {
    if (job === undefined || !this.#verified.has(job)) return;
    const client = clientOf(job.data);
    const parts = partsOf(job.data);
    if (client !== undefined && parts !== undefined)
      this.#outbox.forget(
        client,
        parts.map((part) => part.id),
      );
  }
}

type Outcome = { type: 'response'; response: TaskResponse; ms?: number } | 'cancelled' | 'returned';

/** A part that runs here: its module checked. */
interface Running {
  readonly part: JobPart;
  readonly served: ServedModule;
}

/** A part of a bundle: its request, and where its outcome goes. */
interface BundlePart {
  readonly part: JobPart;
  readonly request: TaskRequest;
  readonly resolve: (outcome: Outcome) => void;
}

/** A bundle's own request carries no input of its own: its parts do. */
const NO_INPUT: TaskRequest['input'] = { kind: 'encoded', args: [], shared: false };

/**
 * The local jobs of one BullMQ job that wait here for a thread: when none of them has started
 * within the hold time, they are withdrawn and the job goes back to the queue (see HOLD_MS).
 */
class GiveBack {
  readonly held: { readonly entry: JobEntry; readonly back: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** One of them started: the job stays. */
  readonly started = (): void => {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  };

  /** Starts the hold time, if all `total` of them wait (none started at once). */
  arm(total: number, ms: number, threads: Dispatcher, onGaveBack: () => void): void {
    if (total === 0 || this.held.length !== total) return;
    this.#timer = setTimeout(() => {
      if (!this.held.every(({ entry }) => entry.state === 'queued')) return;
      for (const { entry, back } of this.held) if (threads.cancel(entry)) back();
      onGaveBack();
    }, ms);
  }
}

/** The job's client id, when it is well formed. */
function clientOf(data: JobData | undefined): string | undefined {
  return typeof data?.client === 'string' && CLIENT_ID.test(data.client) ? data.client : undefined;
}

/** The job's parts, when they are well formed enough to be answered (each has a string id of its client). */
function partsOf(data: JobData | undefined): readonly JobPart[] | undefined {
  const parts = data?.parts;
  if (!Array.isArray(parts) || parts.length === 0) return undefined;
  const prefix = `${data!.client}-`;
  return parts.every((part: JobPart | null) => typeof part?.id === 'string' && part.id.startsWith(prefix)) ? parts : undefined;
}

/** The thread request of a part: its arguments parsed from the wire and checked. */
function requestOf(part: JobPart, served: ServedModule): TaskRequest {
  const args = fromWire(part.args);
  if (!Array.isArray(args)) throw new InvalidArgumentError('The job carries no argument list');
  if (part.escaped === true && sharedTagIn(args) !== undefined) {
    throw new InvalidArgumentError('The job carries a shared object, which cannot come from another machine');
  }
  if (part.kind !== CallKind.Apply && part.kind !== CallKind.Map && part.kind !== CallKind.Starmap) {
    throw new InvalidArgumentError(`The job's kind ${String(part.kind)} is not one of apply, map, starmap`);
  }
  return { file: served.file, name: part.export, kind: part.kind, input: { kind: 'encoded', args, shared: part.escaped === true } };
}

function errorResponse(error: unknown): TaskResponse {
  const encoded = encodeError(error);
  return { result: undefined, shared: encoded.shared, error: encoded.shared ? describeShared(encoded.error) : encoded.error };
}

/**
 * A thread's response as it may cross machines: shared objects cannot. A result that holds one fails
 * with ERR_UNCLONEABLE; an error keeps its class, code and stack, the properties that held one become
 * descriptions (as the error codec does for any property that cannot cross).
 */
function remoteResponse(response: TaskResponse): TaskResponse {
  if (!response.shared) return response;
  const tag = sharedTagIn(response.result);
  if (tag !== undefined) {
    return errorResponse(
      new UncloneableError(
        `The task returned a parapool shared object (${tag}), which cannot be sent to another machine: return plain data, or keep shared state on the machine that uses it`,
      ),
    );
  }
  if (response.error === undefined) return response;
  return { ...response, error: describeShared(response.error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
