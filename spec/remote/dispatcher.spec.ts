// The remote dispatcher against the runtime's Dispatcher interface, on a real Redis with real
// worker processes: what a worker refuses (signature, module, version), what the client refuses
// before sending, worker deaths (SIGKILL, SIGSTOP past the lock, a second death), Redis down.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Value } from '../../lib';
import { encode, transfer } from '../../lib/codec/codec';
import { decodeError } from '../../lib/codec/error-codec';
import { RemoteDispatcher, type RemoteSettings } from '../../lib/remote/dispatcher';
import { sealResult, signCancel } from '../../lib/remote/signing';
import { toWire } from '../../lib/remote/wire';
import type { Job } from '../../lib/runtime/dispatch';
import { CallKind, type TaskRequest, type TaskResponse } from '../../lib/runtime/protocol';
import { type Child, describeRemote, keyFile, killAll, type RedisServer, ROOT, startRedis, startWorker, until } from './harness';

const TASKS = 'spec/fixtures/remote-tasks.ts';
const FILE = pathToFileURL(path.join(ROOT, TASKS)).href;
const KEY = 'dispatcher-spec-key';
const QUEUE = 'dispatch';

function request(name: string, kind: CallKind, args: unknown[], file = FILE): TaskRequest {
  return { file, name, kind, input: { kind: 'encoded', args, shared: false } };
}

interface Run {
  readonly promise: Promise<TaskResponse>;
  starts: number;
  responses: number;
  readonly job: Job;
}

function submit(dispatcher: RemoteDispatcher, req: TaskRequest, extra: Partial<Job> = {}): Run {
  let settle!: { resolve: (r: TaskResponse) => void; reject: (e: unknown) => void };
  const promise = new Promise<TaskResponse>((resolve, reject) => (settle = { resolve, reject }));
  const run: Run = {
    promise,
    starts: 0,
    responses: 0,
    job: {
      request: req,
      ...extra,
      onStart: () => run.starts++,
      onResponse: (response) => {
        run.responses++;
        settle.resolve(response);
      },
      onFailure: (error) => settle.reject(error),
    },
  };
  dispatcher.submit(run.job);
  return run;
}

async function value(run: Run): Promise<unknown> {
  const response = await run.promise;
  if (response.error !== undefined) throw decodeError(response.error, false);
  return response.result;
}

describeRemote('RemoteDispatcher on a real Redis', () => {
  let redis: RedisServer;
  let keyPath: string;
  let workers: Child[] = [];
  let settings: RemoteSettings;
  const dispatchers: RemoteDispatcher[] = [];

  function dispatcher(overrides: Partial<RemoteSettings> = {}): RemoteDispatcher {
    const created = new RemoteDispatcher({ ...settings, ...overrides });
    dispatchers.push(created);
    return created;
  }

  async function runnerOf(client: string, id: string): Promise<number | undefined> {
    const c = redis.client();
    try {
      const runner = await c.hget(`bull:${QUEUE}:pp:c:${client}:runners`, id);
      const pid = runner === null ? undefined : Number(/pid (\d+)/.exec(runner)?.[1]);
      return pid;
    } finally {
      c.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await startRedis();
    keyPath = keyFile(KEY);
    settings = { connection: redis.url, queue: QUEUE, prefix: 'bull', root: ROOT, authkey: Buffer.from(KEY), backendTimeout: 5000 };
    workers = await Promise.all([1, 2, 3].map(() => startWorker({ redis: redis.url, queue: QUEUE, tasks: [TASKS], authkeyFile: keyPath })));
    for (let i = 0; i < workers.length; i++) replaceWhenDead(i);
  }, 60000);

  afterAll(async () => {
    ending = true;
    await Promise.all(dispatchers.map((d) => d.terminate(new Error('spec ended')).catch(() => undefined)));
    await Promise.allSettled(restarts);
    await killAll();
  });

  /** Restarts worker `i` as soon as it dies (some tests kill workers), while the test that killed it goes on. */
  let ending = false;
  const restarts = new Set<Promise<void>>();
  function replaceWhenDead(i: number): void {
    void workers[i]!.exited.then(() => {
      if (ending) return;
      const restart = startWorker({ redis: redis.url, queue: QUEUE, tasks: [TASKS], authkeyFile: keyPath }).then((worker) => {
        workers[i] = worker;
        replaceWhenDead(i);
      });
      restarts.add(restart);
      void restart.finally(() => restarts.delete(restart)).catch(() => undefined);
    });
  }

  /** Waits for the restarts of the workers that died: every test that needs three live workers starts with it. */
  async function replaceDead(): Promise<void> {
    while (restarts.size > 0) await Promise.all(restarts);
  }

  it('runs applies, packed map chunks and starmap chunks, with the live thread count', async () => {
    const d = dispatcher();
    await until(() => d.workers === 6, 'three workers of two threads');
    const apply = submit(d, request('add', CallKind.Apply, [2, 3]));
    const packed = submit(d, {
      ...request('square', CallKind.Map, []),
      input: { kind: 'packed-range', packed: new Float64Array([1, 2, 3, 4, 5]), from: 1, to: 4 },
    });
    const star = submit(
      d,
      request('add', CallKind.Starmap, [
        [1, 2],
        [3, 4],
      ]),
    );
    const plain = submit(d, request('describe', CallKind.Apply, [new Map([[1, new Set([2n])]])]));
    expect(await value(apply)).toBe(5);
    expect(await value(packed)).toEqual([4, 9, 16]);
    expect(await value(star)).toEqual([3, 7]);
    expect(await value(plain)).toEqual({ value: new Map([[1, new Set([2n])]]), type: '[object Map]' });
    expect(apply.starts).toBe(1);
    await d.close();
  });

  it('delivers a task error with its class, code, data and the worker-side stack, and the results before it', async () => {
    const d = dispatcher();
    const response = await submit(
      d,
      request(
        'failAt',
        CallKind.Map,
        [1, 2, 3, 4].map((n) => n),
      ),
    ).promise;
    expect(response.result).toEqual([1, 4, 9, 16]);
    const failing = await submit(
      d,
      request('failAt', CallKind.Starmap, [
        [1, 3],
        [3, 3],
        [4, 3],
      ]),
    ).promise;
    expect(failing.result).toEqual([1]);
    const error = decodeError(failing.error!, false) as RangeError & { code: string; item: number };
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ message: 'bad item 3', code: 'E_BAD_ITEM', item: 3 });
    expect(error.stack).toContain('remote-tasks.ts');
    await d.close();
  });

  it('refuses a job signed with another authkey (ERR_AUTH), and the task does not run', async () => {
    const d = dispatcher({ authkey: Buffer.from('not-the-key') });
    await expect(submit(d, request('square', CallKind.Apply, [3])).promise).rejects.toMatchObject({ code: 'ERR_AUTH' });
    await d.close();
  });

  it('never accepts a result it cannot verify: one forged in Redis, one sealed with another key → ERR_AUTH', async () => {
    const d = dispatcher();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-marker-')), 'never');
    const runs = [0, 1].map(() => submit(d, request('waitForFile', CallKind.Apply, [marker])));
    await until(() => runs.every((run) => run.starts === 1), 'both jobs to start');
    const ids = [0, 1].map((n) => `${d.clientId}-${n.toString(36)}`);
    const forged = (id: string): string => toWire({ id, type: 'response', response: { result: 'forged', shared: false } }, 'message');
    const c = redis.client();
    await c.rpush(
      `bull:${QUEUE}:pp:c:${d.clientId}:results`,
      `${'0'.repeat(64)}${forged(ids[0]!)}`,
      sealResult(Buffer.from('another key'), forged(ids[1]!)),
    );
    c.disconnect();
    for (const run of runs) await expect(run.promise).rejects.toMatchObject({ code: 'ERR_AUTH' });
    expect(runs.map((run) => run.responses)).toEqual([0, 0]);
    // The jobs were stopped where they ran: the threads serve the next job.
    expect(await value(submit(d, request('square', CallKind.Apply, [6])))).toBe(36);
    await d.close();
  });

  it('a forged job (signed without the key) that names another job’s pending parts affects none of them', async () => {
    const d = dispatcher();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-marker-')), 'go');
    const victim = submit(d, request('waitForFile', CallKind.Apply, [marker]));
    await until(() => victim.starts === 1, 'the victim to start');
    const victimId = `${d.clientId}-0`;
    const part = {
      id: victimId,
      module: TASKS,
      export: 'square',
      sha256: '0'.repeat(64),
      kind: CallKind.Apply,
      args: toWire([1], 'args'),
      escaped: false,
    };
    const connection = redis.client();
    const queue = new Queue(QUEUE, { connection });
    try {
      // Under an id of its own, and under one this client never used: the workers refuse both, naming only those ids.
      for (const jobId of ['forged-1', `${d.clientId}-zz`]) {
        await queue.add(
          'forged',
          { v: 2, client: d.clientId, parts: [part], mac: 'f'.repeat(64) },
          { jobId, removeOnComplete: true, removeOnFail: true },
        );
      }
      await until(() => d.forgeries === 2, 'both refusals to reach the client');
    } finally {
      await queue.close();
      connection.disconnect();
    }
    writeFileSync(marker, '');
    expect(await value(victim)).toBe(marker);
    expect(victim.responses).toBe(1);
    await d.close();
  });

  it('refuses a module outside --tasks (ERR_TASK_NOT_FOUND) and a module whose content differs (ERR_TASK_VERSION)', async () => {
    const d = dispatcher();
    const other = pathToFileURL(path.join(ROOT, 'spec/fixtures/remote-other.ts')).href;
    await expect(submit(d, request('square', CallKind.Apply, [3], other)).promise).rejects.toMatchObject({
      code: 'ERR_TASK_NOT_FOUND',
      message: expect.stringContaining('spec/fixtures/remote-other.ts'),
    });
    // The caller's root holds another version of the module the workers serve.
    const root = mkdtempSync(path.join(os.tmpdir(), 'parapool-root-'));
    cpSync(path.join(ROOT, 'spec/fixtures'), path.join(root, 'spec/fixtures'), { recursive: true });
    writeFileSync(path.join(root, TASKS), 'export function square(n: number): number { return n * n * n; }\n');
    const changed = dispatcher({ root });
    const file = pathToFileURL(path.join(root, TASKS)).href;
    await expect(submit(changed, request('square', CallKind.Apply, [3], file)).promise).rejects.toMatchObject({
      code: 'ERR_TASK_VERSION',
    });
    await Promise.all([d.close(), changed.close()]);
  });

  it('refuses before sending: inline functions, modules outside root, shared objects, transfer()', async () => {
    const d = dispatcher();
    await expect(submit(d, { ...request('(x) => x', CallKind.Apply, []), file: '' }).promise).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    await expect(submit(d, request('square', CallKind.Apply, [1], pathToFileURL('/tmp/elsewhere.ts').href)).promise).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    const shared = encode([Value('i', 1)], 'args');
    await expect(
      submit(d, { ...request('describe', CallKind.Apply, []), input: { kind: 'encoded', args: shared.value, shared: shared.shared } })
        .promise,
    ).rejects.toMatchObject({
      code: 'ERR_UNCLONEABLE',
    });
    const moved = encode([transfer(new Uint8Array(4))], 'args');
    const withTransfer = submit(d, request('describe', CallKind.Apply, moved.value), { transferList: moved.transferList });
    await expect(withTransfer.promise).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
    class Point {
      constructor(readonly x: number) {}
    }
    await expect(submit(d, request('describe', CallKind.Apply, [new Point(1)])).promise).rejects.toMatchObject({
      code: 'ERR_UNCLONEABLE',
      message: expect.stringContaining('cannot be sent to another machine'),
    });
    await d.close();
  });

  it('cancel() removes a queued job; aborting a running one stops it; close() leaves no keys of the client', async () => {
    const d = dispatcher();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-marker-')), 'never');
    // Six blocking jobs fill the six threads (a worker that prefetched more than it can start gives
    // them back to the queue); a seventh then waits, in Redis or in a worker's hands.
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const blocking = controllers.map((controller) =>
      submit(d, request('waitForFile', CallKind.Apply, [marker]), { signal: controller.signal }),
    );
    await until(() => blocking.every((run) => run.starts === 1), 'the blocking jobs to start');
    const queued = submit(d, request('square', CallKind.Apply, [3]));
    expect(queued.starts).toBe(0);
    for (const controller of controllers) controller.abort(new Error('stop'));
    for (const run of blocking) await expect(run.promise).rejects.toThrow('stop');
    // The aborted jobs stopped: the threads are free for the queued one.
    expect(await value(queued)).toBe(9);
    await d.close();
    const c = redis.client();
    const keys = await c.keys('*');
    c.disconnect();
    expect(keys.filter((key) => key.includes(d.clientId))).toEqual([]);
    expect(keys.filter((key) => !key.includes(':pp:workers') && !key.includes(':pp:workerinfo')).sort()).toEqual(
      [`bull:${QUEUE}:meta`, `bull:${QUEUE}:stalled-check`].filter((key) => keys.includes(key)).sort(),
    );
  });

  it('a queued job cancelled with cancel() never runs', async () => {
    const d = dispatcher();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-marker-')), 'ready');
    const blocking = Array.from({ length: 6 }, () => submit(d, request('waitForFile', CallKind.Apply, [marker])));
    await until(() => blocking.every((run) => run.starts === 1), 'the blocking jobs to start');
    // Every thread is busy: these two wait, in Redis or prefetched by a worker.
    const victim = submit(d, request('square', CallKind.Apply, [4]));
    let ran = false;
    const entry = d.submit({ request: request('square', CallKind.Apply, [5]), onResponse: () => (ran = true), onFailure: () => undefined });
    expect(d.cancel(entry)).toBe(true);
    expect(entry.state).toBe('cancelled');
    writeFileSync(marker, '');
    await Promise.all(blocking.map((run) => run.promise));
    expect(await value(victim)).toBe(16);
    await d.close();
    expect(ran).toBe(false);
  });

  it('a cancel message not signed with the authkey stops nothing: the running job completes', async () => {
    await replaceDead();
    const d = dispatcher();
    const marker = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-marker-')), 'ready');
    const run = submit(d, request('waitForFile', CallKind.Apply, [marker]));
    await until(() => run.starts === 1, 'the job to start');
    const id = `${d.clientId}-0`;
    const ignored = (worker: Child): number => worker.output().split('ignored a cancel message').length - 1;
    const before = workers.map(ignored);
    const c = redis.client();
    const channel = `bull:${QUEUE}:pp:cancel`;
    // Unsigned, signed with another key, and a genuine MAC (over another id) with the ids swapped.
    const genuine = JSON.parse(signCancel(Buffer.from(KEY), d.clientId, [`${d.clientId}-zz`])) as object;
    for (const text of [
      JSON.stringify({ client: d.clientId, ids: [id] }),
      signCancel(Buffer.from('another key'), d.clientId, [id]),
      JSON.stringify({ ...genuine, ids: [id] }),
    ]) {
      await c.publish(channel, text);
    }
    c.disconnect();
    await until(() => workers.every((worker, i) => ignored(worker) >= before[i]! + 3), 'every worker to ignore the three messages');
    writeFileSync(marker, '');
    expect(await value(run)).toBe(marker);
    expect(run.responses).toBe(1);
    await d.close();
  });

  it('SIGSTOP of a worker past its lock, then SIGCONT: the job ran again elsewhere, one response, the duplicate dropped', async () => {
    const d = dispatcher();
    const run = submit(d, request('sleep', CallKind.Apply, [1500]));
    await until(() => run.starts === 1, 'the job to start');
    const id = `${d.clientId}-${(0).toString(36)}`;
    let pid: number | undefined;
    await until(async () => {
      pid = await runnerOf(d.clientId, id);
      return pid !== undefined;
    }, 'the runner of the job');
    const stopped = workers.find((worker) => worker.pid === pid)!;
    stopped.kill('SIGSTOP');
    try {
      expect(await value(run)).toBe(1500);
    } finally {
      stopped.kill('SIGCONT');
    }
    await until(() => d.duplicates === 1, 'the stopped worker to report its copy');
    expect(run.responses).toBe(1);
    await d.close();
  });

  it('SIGKILL of a worker mid-run: every job completes, once, with its own result', async () => {
    const d = dispatcher();
    const runs = Array.from({ length: 24 }, (_, i) => submit(d, request('sleepSquare', CallKind.Apply, [i, 300])));
    await until(() => runs.filter((run) => run.starts > 0).length >= 6, 'six jobs to run');
    workers[0]!.kill('SIGKILL');
    const values = await Promise.all(runs.map(value));
    expect(values).toEqual(runs.map((_, i) => i * i));
    expect(runs.every((run) => run.responses === 1)).toBe(true);
    await d.close();
  }, 20000);

  it('a second death on the same job → ERR_WORKER_EXITED naming the host', async () => {
    // Two workers die running it; a third one's stall check fails it.
    await replaceDead();
    const d = dispatcher();
    const run = submit(d, request('killProcess', CallKind.Apply, []));
    const error = await run.promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED', message: expect.stringContaining(`host ${os.hostname()} pid`) });
    await d.close();
  }, 20000);

  /** How many times `tally` ran for each item, from the bytes it appended. */
  function tallies(dir: string, items: readonly number[]): number[] {
    return items.map((i) => readFileSync(path.join(dir, String(i)), 'utf8').length);
  }

  /** A dispatcher that puts every part of a measured task in one job, with `tally` measured already, and three live workers. */
  async function sharingDispatcher(dir: string): Promise<RemoteDispatcher> {
    await replaceDead();
    const d = dispatcher({ jobMs: 1e9 });
    await until(() => d.workers === 6, 'three workers of two threads');
    expect(await value(submit(d, request('tally', CallKind.Apply, [dir, -1])))).toBe(-1);
    return d;
  }

  it('parts of a short task share one BullMQ job; its worker killed mid-job: the parts that ended do not run again, the others run once more', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-tally-'));
    const marker = path.join(dir, 'go');
    const d = await sharingDispatcher(dir);
    const sent = d.jobsSent;
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    // The worker's 2 threads run the job's parts as two bundles, [0..3] and [4..7]: the last part blocks.
    const runs = items.map((i) => submit(d, request('tally', CallKind.Apply, i === 7 ? [dir, i, marker] : [dir, i])));
    await until(() => runs[7]!.starts === 1 && runs.every((run, i) => i === 7 || run.responses === 1), 'seven parts answered, one running');
    expect(d.jobsSent).toBe(sent + 1);
    // The warm-up was part 0 of this client; the blocked part is its 8th.
    const pid = await runnerOf(d.clientId, `${d.clientId}-${(8).toString(36)}`);
    const victim = workers.find((worker) => worker.pid === pid)!;
    victim.kill('SIGKILL');
    await until(() => tallies(dir, [7])[0] === 2, 'the blocked part to run once more elsewhere');
    writeFileSync(marker, '');
    expect(await Promise.all(runs.map(value))).toEqual(items);
    expect(tallies(dir, items)).toEqual([1, 1, 1, 1, 1, 1, 1, 2]);
    expect(runs.every((run) => run.responses === 1)).toBe(true);
    await d.close();
  }, 20000);

  it('a part of a shared job cancelled while it waits for a thread never runs; the job’s other parts do; no keys left', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-tally-'));
    const marker = path.join(dir, 'go');
    const d = await sharingDispatcher(dir);
    const sent = d.jobsSent;
    // The worker that fetches the job runs it as two bundles on its 2 threads, [0, 1] and [2, 3]:
    // parts 0 and 2 hold the threads, 1 and 3 wait behind them.
    const first = submit(d, request('tally', CallKind.Apply, [dir, 0, marker]));
    const victim = d.submit({
      request: request('tally', CallKind.Apply, [dir, 1]),
      onResponse: () => undefined,
      onFailure: () => undefined,
    });
    const runs = [first, submit(d, request('tally', CallKind.Apply, [dir, 2, marker]))];
    const last = submit(d, request('tally', CallKind.Apply, [dir, 3]));
    await until(() => runs.every((run) => run.starts === 1), 'two parts to hold the threads');
    expect(d.jobsSent).toBe(sent + 1);
    expect(d.cancel(victim)).toBe(true);
    const c = redis.client();
    try {
      // The worker skipped it: its end is marked while the job is in BullMQ.
      await until(
        async () => (await c.sismember(`bull:${QUEUE}:pp:c:${d.clientId}:done`, `${d.clientId}-${(2).toString(36)}`)) === 1,
        'the skip',
      );
      writeFileSync(marker, '');
      expect(await Promise.all([...runs, last].map(value))).toEqual([0, 2, 3]);
      expect(tallies(dir, [0, 2, 3])).toEqual([1, 1, 1]);
      expect(existsSync(path.join(dir, '1'))).toBe(false);
      await d.close();
      expect((await c.keys('*')).filter((key) => key.includes(d.clientId))).toEqual([]);
    } finally {
      c.disconnect();
    }
  });

  it('a part stopped while it runs in a bundle: the part behind it runs once, after the stop', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-tally-'));
    const marker = path.join(dir, 'never');
    const d = await sharingDispatcher(dir);
    const controller = new AbortController();
    // Two bundles, [0, 1] and [2, 3]: part 0 blocks until it is stopped, part 1 waits behind it. (Where
    // the second bundle runs does not matter: a thread still booting leaves it behind the first one.)
    const stopped = submit(d, request('tally', CallKind.Apply, [dir, 0, marker]), { signal: controller.signal });
    const runs = [1, 2, 3].map((i) => submit(d, request('tally', CallKind.Apply, [dir, i])));
    await until(() => stopped.starts === 1, 'part 0 to run');
    expect(runs[0]!.responses).toBe(0);
    controller.abort(new Error('stop'));
    await expect(stopped.promise).rejects.toThrow('stop');
    expect(await Promise.all(runs.map(value))).toEqual([1, 2, 3]);
    expect(tallies(dir, [0, 1, 2, 3])).toEqual([1, 1, 1, 1]);
    await d.close();
  });

  it('a thread that dies in a bundle: its part fails with ERR_WORKER_EXITED, the parts before it keep their results, the ones behind it run once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-tally-'));
    const d = await sharingDispatcher(dir);
    const sent = d.jobsSent;
    // Two bundles on the 2 threads of the worker that fetches the job, [0..3] and [4..7]: part 1 ends its thread.
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    const runs = items.map((i) => submit(d, request('tally', CallKind.Apply, i === 1 ? [dir, i, undefined, false, true] : [dir, i])));
    await expect(value(runs[1]!)).rejects.toMatchObject({ code: 'ERR_WORKER_EXITED' });
    const others = items.filter((i) => i !== 1);
    expect(await Promise.all(others.map((i) => value(runs[i]!)))).toEqual(others);
    expect(tallies(dir, items)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(d.jobsSent).toBe(sent + 1);
    await d.close();
  });

  it('a second death of a shared job → ERR_WORKER_EXITED naming the host for its unfinished part only; its ended parts ran once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-tally-'));
    const marker = path.join(dir, 'go');
    const d = await sharingDispatcher(dir);
    const sent = d.jobsSent;
    const runs = [0, 1, 2].map((i) => submit(d, request('tally', CallKind.Apply, i === 2 ? [dir, i, marker, true] : [dir, i])));
    await until(() => runs[0]!.responses === 1 && runs[1]!.responses === 1 && runs[2]!.starts === 1, 'two parts answered, one running');
    expect(d.jobsSent).toBe(sent + 1);
    writeFileSync(marker, '');
    const error = await runs[2]!.promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED', message: expect.stringContaining(`host ${os.hostname()} pid`) });
    expect(await Promise.all(runs.slice(0, 2).map(value))).toEqual([0, 1]);
    expect(tallies(dir, [0, 1, 2])).toEqual([1, 1, 2]);
    await d.close();
  }, 20000);

  it('a worker whose threads are recycled (--max-tasks-per-child) runs every part of a shared job once, on fresh threads', async () => {
    const queue = 'recycled';
    await startWorker({ redis: redis.url, queue, tasks: [TASKS], authkeyFile: keyPath, extra: ['--max-tasks-per-child', '2'] });
    const d = dispatcher({ queue, jobMs: 1e9 });
    await until(() => d.workers === 2, 'the recycling worker');
    expect(await value(submit(d, request('threadOf', CallKind.Apply, [-1])))).toEqual([-1, expect.any(Number)]);
    const sent = d.jobsSent;
    const runs = Array.from({ length: 12 }, (_, i) => submit(d, request('threadOf', CallKind.Apply, [i])));
    const answers = (await Promise.all(runs.map(value))) as [number, number][];
    expect(answers.map(([i]) => i)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(runs.every((run) => run.responses === 1)).toBe(true);
    expect(d.jobsSent).toBe(sent + 1);
    // Two tasks per thread: twelve parts took at least six threads.
    expect(new Set(answers.map(([, thread]) => thread)).size).toBeGreaterThanOrEqual(6);
    await d.close();
  });

  it('a worker whose initializer fails answers ERR_POOL_BROKEN and leaves (exit code 1), so that its jobs go elsewhere', async () => {
    const queue = 'broken';
    const worker = await startWorker({
      redis: redis.url,
      queue,
      tasks: [TASKS],
      authkeyFile: keyPath,
      extra: ['--initializer', `${TASKS}#failAt`, '--initargs', '[1, 1]'],
    });
    const d = dispatcher({ queue });
    await until(() => d.workers === 2, 'the worker');
    await expect(value(submit(d, request('square', CallKind.Apply, [3])))).rejects.toMatchObject({
      code: 'ERR_POOL_BROKEN',
      message: expect.stringContaining('bad item 1'),
    });
    await worker.exited;
    expect(worker.process.exitCode).toBe(1);
    expect(worker.output()).toContain('the local pool is broken');
    await d.terminate(new Error('done'));
  });

  it('Redis unreachable → ERR_BACKEND after backendTimeout, never a hang', async () => {
    const d = dispatcher({ connection: 'redis://127.0.0.1:1', backendTimeout: 300 });
    await expect(submit(d, request('square', CallKind.Apply, [2])).promise).rejects.toMatchObject({ code: 'ERR_BACKEND' });
    await expect(submit(d, request('square', CallKind.Apply, [2])).promise).rejects.toMatchObject({ code: 'ERR_BACKEND' });
    await d.close();
  });
});
