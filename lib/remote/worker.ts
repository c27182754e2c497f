/**
 * A remote worker process (`npx parapool worker`): a BullMQ Worker whose
 * processor runs each job on a local parapool Pool, so the event loop stays
 * free to renew BullMQ's locks while tasks use every thread, and TypeScript
 * task modules, packed chunks and coded errors work as they do locally.
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
import { type Job as BullJob, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { encodeError } from '../codec/error-codec';
import {
  AuthenticationError,
  InvalidArgumentError,
  isParapoolError,
  TaskNotFoundError,
  TaskVersionError,
  WorkerExitedError,
} from '../errors';
import { Pool } from '../pool/pool';
import { CallKind, type TaskResponse } from '../runtime/protocol';
import { task } from '../tasks/task-ref';
import {
  BEGIN_SCRIPT,
  clientKeys,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_SCRIPT,
  HEARTBEAT_TTL_MS,
  PUSH_SCRIPT,
  queueKeys,
  type QueueKeys,
} from './keys';
import { contentHash, verify } from './signing';
import { fromWire, toWire, type JobData, type ResultMessage } from './wire';

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

export class RemoteWorker {
  readonly #settings: WorkerSettings;
  readonly #keys: QueueKeys;
  readonly #served = new Map<string, ServedModule>();
  readonly #host = os.hostname();
  readonly #runner: string;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #pool: Pool;
  readonly #active = new Map<string, AbortController>();
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
    this.#pool = new Pool({
      workers: settings.threads,
      initializer: settings.initializer === undefined ? undefined : task(settings.initializer.file, settings.initializer.name),
      initargs: settings.initargs,
      maxTasksPerChild: settings.maxTasksPerChild,
    });
    this.#redis = new Redis(settings.redis, { maxRetriesPerRequest: null });
    this.#subscriber = this.#redis.duplicate();
    for (const connection of [this.#redis, this.#subscriber]) {
      connection.on('error', (error: unknown) => this.#log(`redis: ${messageOf(error)}`));
    }
  }

  /** The task modules this worker serves, relative to its root. */
  get modules(): string[] {
    return [...this.#served.keys()];
  }

  async start(): Promise<void> {
    const settings = this.#settings;
    this.#subscriber.on('message', (_channel: string, text: string) => this.#onCancel(text));
    await this.#subscriber.subscribe(this.#keys.cancelChannel);
    this.#worker = new Worker<JobData>(settings.queue, (job, _token, signal) => this.#process(job, signal), {
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
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat().catch(() => undefined), HEARTBEAT_INTERVAL_MS);
    void this.#worker.run().catch((error: unknown) => this.#log(`worker stopped: ${messageOf(error)}`));
    await this.#worker.waitUntilReady();
    this.#log(`serving queue "${settings.queue}" with ${settings.threads} threads (${this.#runner}); tasks: ${this.modules.join(', ')}`);
  }

  /** Finishes the jobs it runs, then leaves: heartbeat removed, pool joined, connections closed. */
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
      this.#pool.close();
      await this.#pool.join();
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

  #onCancel(text: string): void {
    let ids: unknown;
    try {
      ids = (JSON.parse(text) as { ids?: unknown }).ids;
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    for (const id of ids) if (typeof id === 'string') this.#active.get(id)?.abort();
  }

  async #push(client: string, id: string, message: ResultMessage): Promise<void> {
    const keys = clientKeys(this.#settings.prefix, this.#settings.queue, client);
    await this.#redis.eval(PUSH_SCRIPT, 3, keys.alive, keys.results, keys.runners, id, toWire(message, 'message'));
  }

  async #fail(client: string, id: string, error: unknown): Promise<void> {
    await this.#push(client, id, { id, type: 'failure', error: encodeError(error).error });
  }

  async #process(job: BullJob<JobData>, signal: AbortSignal | undefined): Promise<void> {
    const id = job.id ?? '';
    const data = job.data;
    const client = typeof data?.client === 'string' && CLIENT_ID.test(data.client) ? data.client : undefined;
    if (client === undefined) return;
    if (!verify(this.#settings.authkey, id, data)) {
      this.#log(`refused job ${id}: its signature does not match this worker's authkey`);
      await this.#fail(
        client,
        id,
        new AuthenticationError(
          `The worker (${this.#runner}) refused the job: its signature does not match the worker's authkey (the caller's authkey and the worker's --authkey-file differ)`,
        ),
      );
      return;
    }
    const keys = clientKeys(this.#settings.prefix, this.#settings.queue, client);
    const started = toWire({ id, type: 'started' } satisfies ResultMessage, 'message');
    const begin = await this.#redis.eval(
      BEGIN_SCRIPT,
      4,
      keys.alive,
      keys.cancelled,
      keys.runners,
      keys.results,
      id,
      this.#runner,
      started,
    );
    if (begin === 0) return;
    if (begin === 1) {
      await this.#push(client, id, { id, type: 'skipped' });
      return;
    }
    const served = this.#served.get(data.module);
    if (served === undefined) {
      await this.#fail(
        client,
        id,
        new TaskNotFoundError(
          `Task module ${data.module} is not served by the worker ${this.#runner} (its --tasks: ${this.modules.join(', ') || 'none'})`,
        ),
      );
      return;
    }
    if (served.hash !== data.sha256) {
      await this.#fail(
        client,
        id,
        new TaskVersionError(
          `Task module ${data.module} on the worker ${this.#runner} differs from the caller's copy (sha256 ${served.hash.slice(0, 12)}… there, ${data.sha256.slice(0, 12)}… here): deploy the same version to the workers, then restart them`,
        ),
      );
      return;
    }
    const controller = new AbortController();
    this.#active.set(id, controller);
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    let message: ResultMessage;
    try {
      const response = await this.#run(served, data, controller.signal);
      message = controller.signal.aborted ? { id, type: 'skipped' } : { id, type: 'response', response };
    } finally {
      this.#active.delete(id);
    }
    let text: string;
    try {
      text = toWire(message, 'result');
    } catch (error) {
      text = toWire({ id, type: 'response', response: errorResponse(error, undefined) } satisfies ResultMessage, 'result');
    }
    await this.#redis.eval(PUSH_SCRIPT, 3, keys.alive, keys.results, keys.runners, id, text);
  }

  async #run(served: ServedModule, data: JobData, signal: AbortSignal): Promise<TaskResponse> {
    let args: unknown[];
    try {
      args = fromWire(data.args) as unknown[];
      if (!Array.isArray(args)) throw new InvalidArgumentError('The job carries no argument list');
    } catch (error) {
      return errorResponse(error, undefined);
    }
    const ref = task(served.file, data.export);
    if (data.kind === CallKind.Apply) {
      try {
        return { result: await this.#pool.apply(ref, args as [], { signal }), shared: false };
      } catch (error) {
        this.#onPoolError(error);
        return errorResponse(error, undefined);
      }
    }
    const results: unknown[] = [];
    try {
      const spec = this.#pool.prepareCall(ref, 'remote');
      const kind = data.kind === CallKind.Starmap ? CallKind.Starmap : CallKind.Map;
      for await (const value of this.#pool.iterateChunks(
        spec,
        args,
        kind,
        { chunksize: Math.max(1, args.length), signal },
        true,
        'remote',
      )) {
        results.push(value);
      }
      return { result: results, shared: false };
    } catch (error) {
      this.#onPoolError(error);
      return errorResponse(error, results);
    }
  }

  /** A broken local pool (the initializer failed) cannot serve anything: leave, so the jobs go elsewhere. */
  #onPoolError(error: unknown): void {
    if (isParapoolError(error) && error.code === 'ERR_POOL_BROKEN') {
      this.#log(`the local pool is broken (${messageOf(error)}): leaving`);
      process.exitCode = 1;
      void this.close();
    }
  }

  /** BullMQ failed a job: after a second stall, the worker that ran it last died too. */
  async #reportFailed(job: BullJob<JobData>, error: Error): Promise<void> {
    const id = job.id ?? '';
    const client = typeof job.data?.client === 'string' && CLIENT_ID.test(job.data.client) ? job.data.client : undefined;
    if (client === undefined) return;
    try {
      if (error.message === STALLED_REASON) {
        const keys = clientKeys(this.#settings.prefix, this.#settings.queue, client);
        const runner = (await this.#redis.hget(keys.runners, id)) ?? 'an unknown host';
        await this.#fail(
          client,
          id,
          new WorkerExitedError(
            `The worker process running this task died (last on ${runner}): it had been run once more after a first worker died, and remote tasks run at most twice`,
            { exitCode: 1 },
          ),
        );
      } else {
        await this.#fail(client, id, error);
      }
    } catch (failure) {
      this.#log(`could not report the failure of job ${id}: ${messageOf(failure)}`);
    }
  }
}

function errorResponse(error: unknown, partial: unknown[] | undefined): TaskResponse {
  return { result: partial, shared: false, error: encodeError(error).error };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
