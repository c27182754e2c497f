/**
 * The remote dispatcher: the runtime's Dispatcher over BullMQ on Redis. Each
 * job (a chunk, an apply) becomes a part of a BullMQ job on the user's queue:
 * one part per BullMQ job, or several when their task is measured short (see
 * JOB_MS); the BullMQ jobs of one event-loop turn go in one `addBulk`, each
 * signed with the authkey. Workers push what happens to each part (started,
 * its response, a failure) to this client's own result list,
 * which one blocking connection drains in order. A job is named by its task
 * module relative to `root`, its export and the module's sha256, so a worker
 * runs exactly the code the client names, or refuses with a coded error.
 *
 * Failure semantics (docs/remote.md): a job whose worker dies is run once more
 * by BullMQ's stall check (its parts that had ended are skipped), then its
 * unfinished parts fail with ERR_WORKER_EXITED naming the host
 * (pushed by the worker that detects it); duplicates after a stall are dropped
 * by job id; task errors are responses, never retried; Redis unreachable for
 * `backendTimeout` fails every pending job with ERR_BACKEND.
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { decodeError } from '../codec/error-codec';
import { AuthenticationError, BackendError, CancelledError, InvalidArgumentError, TaskNotFoundError } from '../errors';
import { REMOTE_TARGET_CHUNK_MS } from '../runtime/chunk-source';
import type { Dispatcher, Job, JobEntry } from '../runtime/dispatch';
import { setLongTimeout, type LongTimer } from '../timers';
import {
  CLIENT_TTL_MS,
  clientKeys,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TTL_MS,
  LIVE_WORKERS_SCRIPT,
  queueKeys,
  type ClientKeys,
  type QueueKeys,
} from './keys';
import { contentHash, openResult, sign, signCancel } from './signing';
import { fromWire, type JobPart, plainArgs, toWire, type ResultMessage } from './wire';

/** The options a dispatcher needs, validated by redisBackend(). */
export interface RemoteSettings {
  readonly connection: string | RedisOptions;
  readonly queue: string;
  readonly prefix: string;
  readonly root: string;
  readonly authkey: Buffer;
  readonly backendTimeout: number;
  /** How much measured work a BullMQ job carries (ms) before its parts go in separate jobs; default JOB_MS. */
  readonly jobMs?: number | undefined;
}

/** A heartbeat of a worker process, as workers publish it. */
export interface WorkerInfo {
  readonly host: string;
  readonly pid: number;
  readonly threads: number;
  readonly modules: readonly string[];
}

interface RemoteEntry extends JobEntry {
  readonly id: string;
  /** The task (module#export): jobs are sized by its measured run time. */
  readonly task: string;
  /** The BullMQ job that carries it (set when it is sent), and that job's parts. */
  bundle?: Bundle | undefined;
  detach?: (() => void) | undefined;
}

/** One BullMQ job: its id (its first part's) and its parts that have not ended for the caller. */
interface Bundle {
  readonly id: string;
  readonly open: Set<string>;
}

/** Above this, a job's arguments draw one warning per client: chunks that big belong in shared storage. */
const LARGE_JOB_BYTES = 1024 * 1024;
/** How long a task module's hash is trusted before its file is checked again. */
const HASH_RECHECK_MS = 1000;
/** A job answered longer ago than this was removed by its worker long since. */
const ANSWERED_MEMORY_MS = 10000;
/**
 * Chunks a call keeps in Redis and in the workers' hands ahead of its consumer: enough to cover the round
 * trips (a worker prefetches short jobs), still a bound for an imap over an infinite input.
 */
export const MIN_READ_AHEAD = 256;
/**
 * Short chunks share a BullMQ job (what BullMQ and Redis do per job is paid once for them): as many as take
 * about this long by their task's mean run time, at most MAX_PARTS, and at most what leaves two jobs per
 * live thread within the read-ahead; a multiple of the fewest threads a live worker has, so that a job's
 * parts keep all of its worker's threads busy. A task not measured yet goes one chunk per job.
 */
const JOB_MS = 20;
const MAX_PARTS = 64;
/** The weight of the latest run time in a task's mean. */
const RUN_TIME_WEIGHT = 0.2;
/** The most results one read takes from the result list. */
const RESULTS_PER_READ = 1000;
export const READ_AHEAD_PER_THREAD = 8;

export class RemoteDispatcher implements Dispatcher {
  readonly #settings: RemoteSettings;
  readonly #client = randomBytes(6).toString('hex');
  readonly #keys: ClientKeys;
  readonly #queueKeys: QueueKeys;
  readonly #redis: Redis;
  readonly #blocking: Redis;
  readonly #queue: Queue;
  readonly #entries = new Map<string, RemoteEntry>();
  /** Parts that ended for the caller but may still be in Redis (cancelled, failed by a timeout), with their job. */
  readonly #lingering = new Map<string, Bundle | undefined>();
  /** Parts whose response arrived, with their job: the worker removes the job after its last part; close() checks they are gone. */
  readonly #answered = new Map<string, { at: number; bundle: string | undefined }>();
  #batch: { entry: RemoteEntry; part: JobPart }[] = [];
  /** BullMQ jobs sent whose parts the caller still waits for (some of them), by their id. */
  readonly #openBundles = new Map<string, Bundle>();
  #forgeries = 0;
  #jobsSent = 0;
  /** Each task's mean run time on a worker thread (ms), from the workers' responses. */
  readonly #runMs = new Map<string, number>();
  #flushScheduled = false;
  #cancelBatch: string[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  #seq = 0;
  #liveThreads = 0;
  #liveWorkers: WorkerInfo[] = [];
  #pollTimer: NodeJS.Timeout | undefined;
  #polls = 0;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closed: Promise<void> | undefined;
  #reachable = false;
  #lastError: unknown;
  #unreachableTimer: LongTimer | undefined;
  #backendFailure: BackendError | undefined;
  #warnedLarge = false;
  #duplicates = 0;
  readonly #bySignal = new Map<AbortSignal, { entries: Set<RemoteEntry>; onAbort: () => void }>();
  readonly #modules = new Map<string, { filePath: string; module: string }>();
  readonly #hashes = new Map<string, { hash: string; mtimeMs: number; size: number; checkedAt: number }>();
  #settledWaiters: (() => void)[] = [];

  constructor(settings: RemoteSettings) {
    this.#settings = settings;
    this.#keys = clientKeys(settings.prefix, settings.queue, this.#client);
    this.#queueKeys = queueKeys(settings.prefix, settings.queue);
    const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };
    this.#redis =
      typeof settings.connection === 'string' ? new Redis(settings.connection, options) : new Redis({ ...settings.connection, ...options });
    this.#blocking = this.#redis.duplicate();
    for (const connection of [this.#redis, this.#blocking]) {
      connection.on('error', (error: unknown) => (this.#lastError = error));
      connection.on('close', () => this.#lostBackend());
      connection.on('end', () => this.#lostBackend());
    }
    this.#redis.on('ready', () => this.#foundBackend());
    this.#queue = new Queue(settings.queue, {
      connection: this.#redis,
      prefix: settings.prefix,
      streams: { events: { maxLen: 100 } },
    });
    this.#queue.on('error', (error: unknown) => (this.#lastError = error));
    this.#armUnreachable();
    void this.#redis.set(this.#keys.alive, '1', 'PX', CLIENT_TTL_MS).catch(() => undefined);
    this.#poll();
    void this.#readResults();
  }

  /** The number of threads of the workers that heartbeat on this queue now. */
  get workers(): number {
    return this.#liveThreads;
  }

  /** Chunks a chunked call keeps submitted ahead of its consumer. */
  get readAhead(): number {
    return Math.max(MIN_READ_AHEAD, READ_AHEAD_PER_THREAD * this.#liveThreads);
  }

  /** A map without a chunksize aims at this much work per remote chunk (docs/remote.md, "Chunk sizes"). */
  get targetChunkMs(): number {
    return REMOTE_TARGET_CHUNK_MS;
  }

  /** The live workers, as they describe themselves. */
  get liveWorkers(): readonly WorkerInfo[] {
    return this.#liveWorkers;
  }

  /** Messages that arrived for jobs already answered (a job re-run after a stall, at least once): dropped. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Refusals of jobs this client did not send under that id, or no longer waits for (a forged job's): ignored. */
  get forgeries(): number {
    return this.#forgeries;
  }

  /** BullMQ jobs sent so far (short parts share one: see JOB_MS). */
  get jobsSent(): number {
    return this.#jobsSent;
  }

  /** This client's id: the prefix of its job ids and its keys. */
  get clientId(): string {
    return this.#client;
  }

  submit(job: Job): JobEntry {
    const id = `${this.#client}-${(this.#seq++).toString(36)}`;
    const entry: RemoteEntry = { job, state: 'queued', id, task: `${job.request.file}#${job.request.name}` };
    if (this.#state !== 'open') return this.#failNow(entry, new CancelledError('The remote backend is closed'));
    if (this.#backendFailure !== undefined) return this.#failNow(entry, this.#backendFailure);
    if (job.signal?.aborted) return this.#failNow(entry, job.signal.reason);
    let part: JobPart;
    try {
      part = this.#partOf(id, job);
    } catch (error) {
      return this.#failNow(entry, error);
    }
    this.#entries.set(id, entry);
    if (job.signal !== undefined) this.#watch(entry, job.signal);
    this.#batch.push({ entry, part });
    this.#scheduleFlush();
    return entry;
  }

  cancel(entry: JobEntry): boolean {
    const remote = entry as RemoteEntry;
    if (entry.state !== 'queued' || this.#entries.get(remote.id) !== remote) return false;
    entry.state = 'cancelled';
    this.#forget(remote, true);
    return true;
  }

  failQueued(error: unknown): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.state !== 'queued') continue;
      entry.state = 'done';
      this.#forget(entry, true);
      entry.job.onFailure(error);
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  terminate(error: unknown): Promise<void> {
    for (const entry of [...this.#entries.values()]) {
      entry.state = 'done';
      this.#forget(entry, true);
      entry.job.onFailure(error);
    }
    return this.close();
  }

  // ---- submitting ----

  #partOf(id: string, job: Job): JobPart {
    const { request } = job;
    if (request.file === '') {
      throw new InvalidArgumentError(
        'An inline function cannot run on a remote backend: workers run only the task modules they were started with (--tasks). Use tasks() or task() to name an exported function of a task module.',
      );
    }
    const { filePath, module } = this.#moduleOf(request.file);
    const rootName = request.kind === 0 ? 'args' : request.kind === 2 ? 'tuples' : 'items';
    const plain = plainArgs(request, (job.transferList?.length ?? 0) > 0, rootName);
    const args = toWire(plain.args, rootName);
    if (args.length > LARGE_JOB_BYTES && !this.#warnedLarge) {
      this.#warnedLarge = true;
      process.emitWarning(
        `A remote job of ${(args.length / 1048576).toFixed(1)} MiB: every job crosses the network and sits in Redis; send smaller chunks (chunksize) or references to the data (paths, keys)`,
        { code: 'PARAPOOL_LARGE_JOB' },
      );
    }
    return { id, module, export: request.name, sha256: this.#hashOf(filePath), kind: request.kind, args, escaped: plain.escaped };
  }

  /** A task module's path and its name for the workers (relative to root, `/` separators), once per file. */
  #moduleOf(file: string): { filePath: string; module: string } {
    let named = this.#modules.get(file);
    if (named === undefined) {
      const filePath = fileURLToPath(file);
      const relative = path.relative(this.#settings.root, filePath);
      if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
        throw new InvalidArgumentError(
          `Task module ${filePath} is outside the remote backend's root ${this.#settings.root}: workers name task modules by their path under --root`,
        );
      }
      named = { filePath, module: relative.split(path.sep).join('/') };
      this.#modules.set(file, named);
    }
    return named;
  }

  #hashOf(filePath: string): string {
    const now = performance.now();
    const cached = this.#hashes.get(filePath);
    if (cached !== undefined && now - cached.checkedAt < HASH_RECHECK_MS) return cached.hash;
    let stat: { mtimeMs: number; size: number };
    try {
      stat = statSync(filePath);
    } catch (error) {
      throw new TaskNotFoundError(`Task module not found: ${filePath}`, { cause: error });
    }
    if (cached !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
      cached.checkedAt = now;
      return cached.hash;
    }
    const hash = contentHash(readFileSync(filePath));
    this.#hashes.set(filePath, { hash, mtimeMs: stat.mtimeMs, size: stat.size, checkedAt: now });
    return hash;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch.filter(({ entry }) => entry.state === 'queued' && this.#entries.get(entry.id) === entry);
    this.#batch = [];
    if (batch.length > 0) {
      const groups = this.#bundle(batch);
      const jobs = groups.map((group) => {
        const first = group[0]!.part;
        const bundle: Bundle = { id: first.id, open: new Set(group.map(({ entry }) => entry.id)) };
        this.#openBundles.set(bundle.id, bundle);
        this.#jobsSent++;
        for (const { entry } of group) entry.bundle = bundle;
        const unsigned = { v: 2 as const, client: this.#client, parts: group.map(({ part }) => part) };
        const data = { ...unsigned, mac: sign(this.#settings.authkey, bundle.id, unsigned) };
        return { name: `${first.module}#${first.export}`, data, opts: { jobId: bundle.id, removeOnComplete: true, removeOnFail: true } };
      });
      this.#track(
        this.#queue.addBulk(jobs).then(
          () => undefined,
          (error: unknown) => {
            const failure = new BackendError(`Could not add jobs to the Redis queue "${this.#settings.queue}": ${messageOf(error)}`, {
              cause: error,
            });
            for (const { entry } of batch) this.#failEntry(entry, failure);
          },
        ),
      );
    }
    const cancelled = this.#cancelBatch;
    this.#cancelBatch = [];
    if (cancelled.length > 0) this.#sendCancels(cancelled);
  }

  /**
   * Groups the jobs waiting to be sent into BullMQ jobs: consecutive jobs of one task share a BullMQ job
   * when the task is measured short (about JOB_MS of work per BullMQ job, at most MAX_PARTS, and at most
   * what lets every live thread have two jobs within the read-ahead). A group that is not full yet waits
   * in #batch while two BullMQ jobs per live thread are in flight: one of them ending sends it.
   */
  #bundle(batch: readonly { entry: RemoteEntry; part: JobPart }[]): { entry: RemoteEntry; part: JobPart }[][] {
    const threads = Math.max(1, this.#liveThreads);
    const cap = Math.max(1, Math.min(MAX_PARTS, Math.floor(this.readAhead / (2 * threads))));
    const perWorker = Math.max(1, Math.min(...this.#liveWorkers.map((worker) => worker.threads)));
    const groups: { entry: RemoteEntry; part: JobPart }[][] = [];
    for (let i = 0; i < batch.length; ) {
      const task = batch[i]!.entry.task;
      const ms = this.#runMs.get(task);
      const jobMs = this.#settings.jobMs ?? JOB_MS;
      const fit = ms === undefined ? 1 : Math.min(cap, Math.max(1, Math.floor(jobMs / Math.max(ms, 0.001))));
      const most = fit < perWorker ? fit : fit - (fit % perWorker);
      const group = [batch[i++]!];
      while (i < batch.length && group.length < most && batch[i]!.entry.task === task) group.push(batch[i++]!);
      if (group.length < most && this.#openBundles.size + groups.length >= 2 * threads) this.#batch.push(...group);
      else groups.push(group);
    }
    return groups;
  }

  /** A part of `task` ran `ms` on a worker thread. */
  #measured(task: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const mean = this.#runMs.get(task);
    this.#runMs.set(task, mean === undefined ? ms : (1 - RUN_TIME_WEIGHT) * mean + RUN_TIME_WEIGHT * ms);
  }

  // ---- cancelling ----

  /** One abort listener per signal, however many chunks of a call share it. */
  #watch(entry: RemoteEntry, signal: AbortSignal): void {
    let watched = this.#bySignal.get(signal);
    if (watched === undefined) {
      const entries = new Set<RemoteEntry>();
      const onAbort = (): void => {
        this.#bySignal.delete(signal);
        for (const aborted of [...entries]) this.#abort(aborted, signal.reason);
      };
      watched = { entries, onAbort };
      this.#bySignal.set(signal, watched);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const { entries, onAbort } = watched;
    entries.add(entry);
    entry.detach = () => {
      entries.delete(entry);
      if (entries.size === 0 && this.#bySignal.get(signal) === watched) {
        this.#bySignal.delete(signal);
        signal.removeEventListener('abort', onAbort);
      }
    };
  }

  #abort(entry: RemoteEntry, reason: unknown): void {
    if (this.#entries.get(entry.id) !== entry) return;
    entry.state = 'done';
    this.#forget(entry, true);
    entry.job.onFailure(reason);
  }

  /** The entry ended for the caller; with `cancel`, the job is removed from the queue or stopped where it runs. */
  #forget(entry: RemoteEntry, cancel: boolean): void {
    this.#entries.delete(entry.id);
    const bundle = entry.bundle;
    if (bundle?.open.delete(entry.id) === true && bundle.open.size === 0) {
      this.#openBundles.delete(bundle.id);
      // Jobs held back to fill a BullMQ job go now if the pipeline needs them.
      if (this.#batch.length > 0) this.#scheduleFlush();
    }
    entry.detach?.();
    entry.detach = undefined;
    if (!cancel) return;
    if (this.#batch.some((queued) => queued.entry === entry)) {
      // Not sent yet: the flush drops it.
      this.#settled();
      return;
    }
    this.#lingering.set(entry.id, entry.bundle!);
    this.#cancelBatch.push(entry.id);
    this.#scheduleFlush();
  }

  #sendCancels(ids: string[]): void {
    const redis = this.#redis;
    this.#track(
      (async () => {
        await redis
          .multi()
          .sadd(this.#keys.cancelled, ...ids)
          .pexpire(this.#keys.cancelled, CLIENT_TTL_MS * 4)
          .publish(this.#queueKeys.cancelChannel, signCancel(this.#settings.authkey, this.#client, ids))
          .exec();
        // A job none of whose parts the caller still waits for is removed from the queue; one that holds
        // parts still wanted runs, and its worker skips the cancelled ones.
        const bundles = [...new Set(ids.map((id) => this.#lingering.get(id)).filter((bundle) => bundle !== undefined))];
        const removable = bundles.filter((bundle) => bundle.open.size === 0);
        const removed = await Promise.all(removable.map((bundle) => this.#queue.remove(bundle.id).catch(() => 0)));
        const gone = new Set(removable.filter((_, i) => removed[i] === 1));
        // A job that could not be removed is running or just finished: its worker reports its parts (skipped
        // or answered); the check below covers one that finished before the cancellation arrived.
        const rest = bundles.filter((bundle) => !gone.has(bundle));
        const exists = await Promise.all(rest.map((bundle) => redis.exists(`${this.#queueKeys.base}:${bundle.id}`)));
        rest.forEach((bundle, i) => {
          if (exists[i] === 0) gone.add(bundle);
        });
        for (const id of ids) {
          const bundle = this.#lingering.get(id);
          if (bundle !== undefined && gone.has(bundle)) this.#lingering.delete(id);
        }
        this.#settled();
      })().catch(() => undefined),
    );
  }

  // ---- results ----

  /**
   * Drains this client's result list: one blocking pop of up to RESULTS_PER_READ entries (BLMPOP, Redis 7),
   * which returns at once while results flow; on a Redis without BLMPOP, an LPOP of many and a blocking pop
   * of one when the list is empty.
   */
  async #readResults(): Promise<void> {
    const key = this.#keys.results;
    let blmpop = true;
    while (this.#state !== 'closed') {
      let texts: string[];
      try {
        if (blmpop) {
          const popped = await this.#blocking.call('BLMPOP', 1, 1, key, 'LEFT', 'COUNT', RESULTS_PER_READ).catch((error: unknown) => {
            if (!/unknown command/i.test(messageOf(error))) throw error;
            blmpop = false;
            return null;
          });
          texts = popped === null ? [] : (popped as [string, string[]])[1];
        } else {
          texts = (await this.#blocking.lpop(key, RESULTS_PER_READ)) ?? [];
          if (texts.length === 0) {
            const first = await this.#blocking.blpop(key, 1);
            if (first === null) continue;
            texts = [first[1]];
          }
        }
      } catch {
        if (this.#isClosed()) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      for (const text of texts) this.#onEntry(text);
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** One entry of the result list: the messages of one worker turn, one per line, under one seal. */
  #onEntry(sealed: string): void {
    const { text, authentic } = openResult(this.#settings.authkey, sealed);
    for (const line of text.split('\n')) this.#onMessage(line, authentic);
  }

  #onMessage(text: string, authentic: boolean): void {
    let message: ResultMessage;
    try {
      message = fromWire(text) as ResultMessage;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || typeof message.id !== 'string') return;
    if (message.type === 'refused') {
      this.#refused(message.id, authentic ? decodeError(message.error, false) : undefined);
      return;
    }
    if (!authentic) {
      this.#forged(message.id);
      return;
    }
    const entry = this.#entries.get(message.id);
    if (message.type !== 'started') {
      if (entry === undefined && this.#answered.has(message.id)) this.#duplicates++;
      const lingering = this.#lingering.get(message.id);
      this.#remember(message.id, entry?.bundle?.id ?? lingering?.id);
      if (this.#lingering.delete(message.id)) this.#settled();
    }
    if (entry === undefined) return;
    switch (message.type) {
      case 'started':
        if (entry.state === 'queued') {
          entry.state = 'running';
          entry.job.onStart?.();
        }
        return;
      case 'response':
        if (typeof message.ms === 'number') this.#measured(entry.task, message.ms);
        // A part that started and ended within one turn of its worker sends no `started`.
        if (entry.state === 'queued') entry.job.onStart?.();
        entry.state = 'done';
        this.#forget(entry, false);
        this.#settled();
        entry.job.onResponse(message.response);
        return;
      case 'failure':
        entry.state = 'done';
        this.#forget(entry, false);
        this.#settled();
        entry.job.onFailure(decodeError(message.error, false));
        return;
      case 'skipped':
        // A worker skipped a job this client still waits for: it was cancelled in a race; the caller knows.
        entry.state = 'done';
        this.#forget(entry, false);
        this.#settled();
        entry.job.onFailure(new CancelledError('The job was cancelled'));
        return;
    }
  }

  /** A message whose MAC fails: never trusted; the job it names fails with ERR_AUTH (a genuine answer after it is a duplicate). */
  #forged(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.state = 'done';
    this.#forget(entry, true);
    entry.job.onFailure(
      new AuthenticationError(
        `A result for this job failed its signature check: it was not made with this client's authkey (a worker with another --authkey-file, or someone else writing to Redis)`,
      ),
    );
  }

  /**
   * A worker refused the BullMQ job `id` (its signature failed there): the parts of the job this client sent
   * under that id fail with ERR_AUTH, and nothing else. A forged job can name any parts in its data, but
   * only its own id here, which BullMQ gives no second job while the first is in the queue, so it can
   * affect no job of this client's that could still run. `error` is the worker's, when its message passed
   * this client's check (else the worker's key differs, or someone else wrote the message).
   */
  #refused(id: string, error: unknown): void {
    const bundle = this.#openBundles.get(id);
    if (bundle === undefined) {
      this.#forgeries++;
      return;
    }
    const failure =
      error ??
      new AuthenticationError(
        `A worker refused the job, and its message failed this client's check: the job's signature did not match the worker's authkey (the caller's authkey and the workers' --authkey-file differ, or someone else writes to Redis)`,
      );
    for (const partId of [...bundle.open]) {
      const entry = this.#entries.get(partId);
      if (entry === undefined) continue;
      entry.state = 'done';
      this.#forget(entry, false);
      this.#remember(partId, id);
      this.#settled();
      entry.job.onFailure(failure);
    }
  }

  /** Keeps the ids answered lately, with their job when known (older ones are long gone from Redis). */
  #remember(id: string, bundle: string | undefined): void {
    const now = performance.now();
    const known = this.#answered.get(id);
    this.#answered.delete(id);
    this.#answered.set(id, { at: now, bundle: bundle ?? known?.bundle });
    if (this.#answered.size < 4096) return;
    for (const [old, { at }] of this.#answered) {
      if (now - at < ANSWERED_MEMORY_MS) break;
      this.#answered.delete(old);
    }
  }

  // ---- the backend's health ----

  #foundBackend(): void {
    this.#reachable = true;
    this.#backendFailure = undefined;
    this.#unreachableTimer?.clear();
    this.#unreachableTimer = undefined;
  }

  #lostBackend(): void {
    if (this.#state === 'closed') return;
    this.#reachable = false;
    this.#armUnreachable();
  }

  #armUnreachable(): void {
    if (this.#unreachableTimer !== undefined || this.#reachable) return;
    this.#unreachableTimer = setLongTimeout(() => {
      this.#unreachableTimer = undefined;
      if (this.#reachable || this.#state === 'closed') return;
      const cause = this.#lastError;
      this.#backendFailure = new BackendError(
        `Redis (queue "${this.#settings.queue}") was unreachable for ${this.#settings.backendTimeout} ms (backendTimeout)${cause === undefined ? '' : `: ${messageOf(cause)}`}`,
        { cause },
      );
      for (const entry of [...this.#entries.values()]) this.#failEntry(entry, this.#backendFailure);
    }, this.#settings.backendTimeout).unref();
  }

  #failEntry(entry: RemoteEntry, error: unknown): void {
    if (this.#entries.get(entry.id) !== entry) return;
    entry.state = 'done';
    this.#forget(entry, false);
    this.#lingering.set(entry.id, entry.bundle);
    this.#settled();
    entry.job.onFailure(error);
  }

  #failNow(entry: RemoteEntry, error: unknown): JobEntry {
    entry.state = 'done';
    entry.job.onFailure(error);
    return entry;
  }

  // ---- workers' heartbeats ----

  #poll(): void {
    if (this.#state === 'closed') return;
    const refresh = this.#polls++ % Math.max(1, Math.floor(CLIENT_TTL_MS / (4 * HEARTBEAT_INTERVAL_MS))) === 0;
    const work: Promise<unknown>[] = [
      this.#redis.eval(LIVE_WORKERS_SCRIPT, 2, this.#queueKeys.workers, this.#queueKeys.workerInfo, HEARTBEAT_TTL_MS).then((infos) => {
        const live: WorkerInfo[] = [];
        for (const info of infos as (string | null)[]) {
          if (info === null) continue;
          try {
            live.push(JSON.parse(info) as WorkerInfo);
          } catch {
            // a malformed heartbeat counts for nothing
          }
        }
        this.#liveWorkers = live;
        this.#liveThreads = live.reduce((sum, worker) => sum + worker.threads, 0);
      }),
    ];
    if (refresh) work.push(this.#redis.set(this.#keys.alive, '1', 'PX', CLIENT_TTL_MS));
    void Promise.all(work)
      .catch(() => undefined)
      .then(() => {
        if (this.#state === 'closed') return;
        this.#pollTimer = setTimeout(() => this.#poll(), HEARTBEAT_INTERVAL_MS);
        this.#pollTimer.unref();
      });
  }

  // ---- shutting down ----

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
  }

  #settled(): void {
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves once `done()` holds, re-checked whenever a job settles, or at the deadline. */
  async #until(done: () => boolean, deadline: number): Promise<void> {
    while (!done() && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#settledWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closing';
    // Every accepted job ends first (Pool and Executor close after their calls ended; terminate() ended them).
    await this.#until(() => this.#entries.size === 0, Infinity);
    this.#flush();
    const deadline = performance.now() + (this.#reachable ? this.#settings.backendTimeout : 0);
    await this.#until(() => this.#lingering.size === 0 && this.#inFlight.size === 0, deadline);
    if (this.#reachable) {
      // A worker removes a job just after pushing its response: wait until the answered ones are gone.
      const answered = [...new Set([...this.#answered.values()].map(({ bundle }) => bundle).filter((id) => id !== undefined))].map(
        (id) => `${this.#queueKeys.base}:${id}`,
      );
      for (let start = 0; start < answered.length && performance.now() < deadline; ) {
        const slice = answered.slice(start, start + 1000);
        const exists = await this.#redis.exists(...slice).catch(() => 0);
        if (exists === 0) start += slice.length;
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const leftovers = new Set([...this.#lingering.values()].map((bundle) => bundle?.id).filter((id) => id !== undefined));
      await Promise.all([...leftovers].map((id) => this.#queue.remove(id).catch(() => 0)));
      await this.#redis
        .multi()
        .del(this.#keys.alive, this.#keys.results, this.#keys.cancelled, this.#keys.runners, this.#keys.done)
        // BullMQ's event stream and id counter of the queue: parapool reads neither (job ids are its own),
        // and they hold entries of this client's jobs.
        .del(`${this.#queueKeys.base}:events`, `${this.#queueKeys.base}:id`)
        .exec()
        .catch(() => undefined);
    }
    this.#state = 'closed';
    this.#unreachableTimer?.clear();
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    this.#blocking.disconnect();
    if (this.#reachable) await this.#queue.close().catch(() => undefined);
    this.#redis.disconnect();
    // An unreachable Redis: the queue's close would wait for it.
    if (!this.#reachable) void this.#queue.close().catch(() => undefined);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
