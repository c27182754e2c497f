// Workload 10, the remote backend (API.md §10): a local redis-server and worker processes
// started with the CLI (`parapool worker`, from dist), everything on this machine.
// - chunks/s through one Redis: a map of no-op chunks (chunksize 1) over 2 workers;
// - recovery: the time from SIGKILL of one of 3 workers to the end of the map it was serving,
//   with the CLI's default locks (5 s) and with short ones (2 s lock, 1 s stall check);
// - scaling: a timer-based task (nap 100 ms, so 2 cores are not the limit) over 1, 2, 4, 8
//   worker processes of 2 threads each; throughput relative to 1 process (and to linear).
// The throughput group also runs BullMQ alone (no parapool) in the same run, as the engine's ceiling here.
// Run alone: `npm run build && node benchmarks/workloads/10-remote.mjs [--quick] [--only=throughput,recovery,scaling]`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishRow } from '../lib/measure.mjs';
import { startChild } from '../lib/children.mjs';

export const number = 10;
export const id = 'remote';
export const title = 'Remote backend: chunks/s through one Redis, recovery from a killed worker, scaling with processes';
export const description =
  'parapool Pool with redisBackend against a local redis-server and `parapool worker` processes on the same machine. ' +
  'Chunks/s of no-op chunks; seconds from SIGKILL of a worker to the end of its map; throughput of a 100 ms timer task over 1–8 processes.';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const CLI = path.join(ROOT, 'dist', 'cjs', 'cli', 'main.js');
const KEY = 'benchmark-key';

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const binary = execFileSync('sh', ['-c', 'command -v redis-server || true'], { encoding: 'utf8' }).trim();
  if (binary === '') throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  const child = await startChild(binary, [...args, '--dir', dir], 'Ready to accept connections');
  return { url: `redis://127.0.0.1:${port}`, child };
}

function startWorker(url, queue, keyFile, threads, locks = []) {
  const args = [
    CLI,
    'worker',
    '--redis',
    url,
    '--queue',
    queue,
    '--root',
    ROOT,
    '--tasks',
    'workers/math.ts',
    '--tasks',
    'workers/sleepy.ts',
  ];
  return startChild(process.execPath, [...args, '--threads', String(threads), '--authkey-file', keyFile, ...locks], 'serving queue');
}

async function stopAll(workers) {
  await Promise.all(
    workers.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Jobs/s of BullMQ by itself: one Queue.addBulk of `count` jobs and one in-process Worker that does nothing. */
async function bareBullmq(url, count, rounds) {
  const { Queue, Worker } = require(path.join(ROOT, 'node_modules', 'bullmq'));
  const connection = { url, maxRetriesPerRequest: null };
  const queue = new Queue('bare', { connection: { ...connection }, streams: { events: { maxLen: 100 } } });
  let done = 0;
  const worker = new Worker('bare', async () => undefined, { connection: { ...connection }, concurrency: 64 });
  worker.on('completed', () => done++);
  await worker.waitUntilReady();
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    done = 0;
    const jobs = Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true } }));
    const started = performance.now();
    await queue.addBulk(jobs);
    await until(() => done === count);
    samples.push(count / ((performance.now() - started) / 1000));
  }
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return samples;
}

/** CPU time so far (µs) of this process, of the worker processes (threads included) and of Redis. */
async function cpuOf(url, workers) {
  const { Redis } = require(path.join(ROOT, 'node_modules', 'ioredis'));
  const own = process.cpuUsage();
  const result = { client: own.user + own.system };
  try {
    const ticks = (pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
    };
    result.workers = workers.reduce((sum, child) => sum + ticks(child.pid), 0);
  } catch {
    // not Linux: no per-process figures
  }
  const redis = new Redis(url);
  const info = await redis.info('cpu');
  redis.disconnect();
  result.redis = (Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1])) * 1e6;
  return result;
}

async function until(check) {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}

export async function run(ctx) {
  const quick = ctx.quick;
  const wanted = (part) => ctx.only === undefined || ctx.only.includes(part);
  const { Pool, tasks } = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));
  const { redisBackend } = require(path.join(ROOT, 'dist', 'cjs', 'remote', 'index.js'));
  const math = tasks(path.join(ROOT, 'workers', 'math.ts'));
  const sleepy = tasks(path.join(ROOT, 'workers', 'sleepy.ts'));
  const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-bench-key-')), 'key');
  writeFileSync(keyFile, KEY);
  const redis = await startRedis();
  const backendOf = (queue) => redisBackend({ connection: redis.url, queue, root: ROOT, authkey: KEY });
  const groups = [];
  const notes = [];
  const report = (group) => {
    groups.push(group);
    ctx.log(`${group.title} (${group.unit})`);
    for (const row of group.rows) {
      ctx.log(
        `  ${row.label}: median ${row.median?.toFixed(2)} [${row.min?.toFixed(2)}–${row.max?.toFixed(2)}] ${row.extra ? JSON.stringify(row.extra) : ''}`,
      );
    }
  };
  try {
    // 1. Chunks/s through one Redis.
    if (wanted('throughput')) {
      const workers = await Promise.all([1, 2].map(() => startWorker(redis.url, 'throughput', keyFile, 2)));
      const pool = new Pool({ backend: backendOf('throughput') });
      await until(() => pool.workers === 4);
      const items = Array.from({ length: quick ? 3000 : 10000 }, (_, i) => i);
      await pool.map(math.noop, items.slice(0, 500), { chunksize: 1 });
      const samples = [];
      const cpuBefore = await cpuOf(redis.url, workers);
      for (let round = 0; round < (quick ? 2 : 4); round++) {
        const started = performance.now();
        await pool.map(math.noop, items, { chunksize: 1 });
        samples.push(items.length / ((performance.now() - started) / 1000));
      }
      const cpuAfter = await cpuOf(redis.url, workers);
      await pool.terminate();
      await stopAll(workers);
      // CPU time per chunk in each process (the load-independent part of the figure; Linux /proc).
      const chunks = items.length * samples.length;
      const perChunk = (key) => (cpuAfter[key] === undefined ? 'n/a' : `${Math.round((cpuAfter[key] - cpuBefore[key]) / chunks)} µs`);
      const cpu = {
        'CPU/chunk, client': perChunk('client'),
        'CPU/chunk, workers': perChunk('workers'),
        'CPU/chunk, Redis': perChunk('redis'),
      };
      // The engine alone, in this process: what BullMQ reaches here with no parapool around it.
      const bullmq = await bareBullmq(redis.url, items.length, quick ? 2 : 4);
      report({
        title: `chunks/s through one local Redis: map of ${items.length} no-op chunks (chunksize 1), 2 workers × 2 threads`,
        unit: 'chunks/s',
        better: 'higher',
        rows: [
          { ...finishRow({ label: 'parapool Pool + redisBackend', samples }), extra: cpu },
          finishRow({ label: 'BullMQ alone: addBulk + one Worker (concurrency 64, no-op), one process', samples: bullmq }),
        ],
      });
    }
    // 2. Recovery from a killed worker.
    if (wanted('recovery')) {
      const rows = [];
      for (const [label, locks] of [
        ['CLI defaults (lock 5 s, stall check 5 s)', []],
        ['--lock-duration 2000 --stalled-interval 1000', ['--lock-duration', '2000', '--stalled-interval', '1000']],
      ]) {
        const queue = `recovery${rows.length}`;
        const workers = await Promise.all([1, 2, 3].map(() => startWorker(redis.url, queue, keyFile, 2, locks)));
        const pool = new Pool({ backend: backendOf(queue) });
        await until(() => pool.workers === 6);
        await pool.starmap(
          sleepy.nap,
          Array.from({ length: 6 }, (_, i) => [i, 1]),
          { chunksize: 1 },
        );
        const tuples = Array.from({ length: 60 }, (_, i) => [i, 100]);
        let done = 0;
        const map = pool.starmap(sleepy.nap, tuples, { chunksize: 1, onProgress: (n) => (done = n) });
        await until(() => done >= 6);
        workers[0].kill('SIGKILL');
        const killedAt = performance.now();
        const results = await map;
        const ms = performance.now() - killedAt;
        if (results.length !== tuples.length) throw new Error('recovery: missing results');
        rows.push(finishRow({ label, samples: [ms / 1000] }));
        await pool.terminate();
        await stopAll(workers);
      }
      report({
        title: 'seconds from SIGKILL of 1 of 3 workers to the end of its map (60 chunks of nap 100 ms, 6 threads)',
        unit: 's',
        better: 'lower',
        rows,
      });
    }
    // 3. Scaling with worker processes on a timer task.
    if (wanted('scaling')) {
      const rows = [];
      let base;
      for (const processes of [1, 2, 4, 8]) {
        const queue = `scaling${processes}`;
        const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(redis.url, queue, keyFile, 2)));
        const pool = new Pool({ backend: backendOf(queue) });
        await until(() => pool.workers === 2 * processes);
        const warm = Array.from({ length: 2 * processes }, (_, i) => [i, 10]);
        await pool.starmap(sleepy.nap, warm, { chunksize: 1 });
        const tuples = Array.from({ length: 40 * processes }, (_, i) => [i, 100]);
        const samples = [];
        for (let round = 0; round < (quick ? 2 : 3); round++) {
          const started = performance.now();
          await pool.starmap(sleepy.nap, tuples, { chunksize: 1 });
          samples.push(tuples.length / ((performance.now() - started) / 1000));
        }
        await pool.terminate();
        await stopAll(workers);
        const row = finishRow({ label: `${processes} process${processes === 1 ? '' : 'es'} × 2 threads`, samples });
        base ??= row.median;
        row.extra = {
          scaling: `${(row.median / base).toFixed(2)}×`,
          'of linear': `${(row.median / base / processes).toFixed(2)}`,
          'of ideal (20/s per process)': `${(row.median / (20 * processes)).toFixed(2)}`,
        };
        rows.push(row);
      }
      report({
        title: 'throughput of nap(100 ms) chunks over worker processes (ideal: 20 chunks/s per process)',
        unit: 'chunks/s',
        better: 'higher',
        rows,
      });
    }
  } finally {
    redis.child.kill('SIGKILL');
  }
  notes.push('Everything (client, Redis, worker processes) shares this machine; a real cluster puts Redis and workers elsewhere.');
  return { sizes: 'see each group', warmup: 1, repeats: quick ? 2 : 4, groups, ratios: [], notes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const only = process.argv
    .find((arg) => arg.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const load = () =>
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ');
  process.stdout.write(`load average before: ${load()} (${os.availableParallelism()} cores)\n`);
  await run({ quick, only, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`load average after: ${load()}\n`);
  process.exit(0);
}
