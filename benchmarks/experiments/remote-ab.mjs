#!/usr/bin/env node
// Workload 10's first row (chunks/s through one Redis: a map of no-op chunks, chunksize 1, over
// 2 `parapool worker` processes of 2 threads) for two builds of parapool in one process,
// interleaved round by round (A/B on a shared machine, where back-to-back runs swing more than a
// change does). One local redis-server; each build has its own queue, its own 2 worker processes
// (started with that build's CLI) and its own Pool; the idle build's workers wait on Redis while
// the other runs. Each round prints chunks/s and the CPU per chunk of the client, the workers and
// Redis, which depends far less on the load than the rate does; medians and best at the end.
// `--base` is a copy of another build's dist/cjs inside this checkout, so that it finds
// node_modules (e.g. `cp -r dist/cjs .scratch/base/cjs` on the commit to compare with, then build
// this one); the other build is this checkout's dist/cjs. How many chunks share a BullMQ job follows
// the run time the workers report for a chunk: its thread's own since bundles, while builds before
// them measured it on the worker's main thread, where it swings with the load and then decides the
// CPU per chunk; `--fixed-jobs` puts as many chunks in a job as the client allows (the dispatcher's
// internal jobMs option), so that the rounds compare the cost of a chunk itself.
//
//   npm run build && node benchmarks/experiments/remote-ab.mjs --base .scratch/base/cjs [--rounds 5] [--chunks 3000] [--fixed-jobs]
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from '../lib/children.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const ROUNDS = Number(arg('rounds', 5));
const CHUNKS = Number(arg('chunks', 3000));
const BASE = arg('base', undefined);
if (BASE === undefined) throw new Error('usage: remote-ab.mjs --base <dist/cjs of the build to compare with, inside this checkout>');
const KEY = 'remote-ab-key';
const FIXED_JOBS = process.argv.includes('--fixed-jobs');

const port = await new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = server.address();
    server.close(() => resolve(free));
  });
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-remote-ab-'));
const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
const redis = await startChild('redis-server', redisArgs, 'Ready to accept connections');
const url = `redis://127.0.0.1:${port}`;
const keyFile = path.join(dir, 'key');
writeFileSync(keyFile, KEY);

/** CPU time (µs) of a process or thread from its /proc stat line. */
const cpuOf = (stat) => {
  const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
};
const processCpu = (pid) => readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + cpuOf(`/proc/${pid}/task/${tid}/stat`), 0);
const ownCpu = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
const load = () => loadAverage();

async function build(name, dist) {
  const cli = path.join(dist, 'cli', 'main.js');
  const queue = `ab-${name}`;
  const args = ['worker', '--redis', url, '--queue', queue, '--root', ROOT, '--tasks', 'workers/math.ts', '--threads', '2'];
  const workers = await Promise.all(
    [1, 2].map(() => startChild(process.execPath, [cli, ...args, '--authkey-file', keyFile], 'serving queue')),
  );
  const { Pool, tasks } = require(path.join(dist, 'index.js'));
  const { redisBackend } = require(path.join(dist, 'remote', 'index.js'));
  const math = tasks(path.join(ROOT, 'workers', 'math.ts'));
  let backend = redisBackend({ connection: url, queue, root: ROOT, authkey: KEY });
  if (FIXED_JOBS) {
    const { makeBackend } = require(path.join(dist, 'runtime', 'backend.js'));
    const { RemoteDispatcher } = require(path.join(dist, 'remote', 'dispatcher.js'));
    const settings = { connection: url, queue, prefix: 'bull', root: ROOT, authkey: Buffer.from(KEY), backendTimeout: 10000, jobMs: 1e9 };
    backend = makeBackend(`ab ${name}`, () => new RemoteDispatcher(settings));
  }
  const pool = new Pool({ backend });
  while (pool.workers !== 4) await new Promise((resolve) => setTimeout(resolve, 20));
  await pool.map(
    math.noop,
    Array.from({ length: 500 }, (_, i) => i),
    { chunksize: 1 },
  );
  return { name, workers, pool, math, rows: [] };
}

const builds = [await build('base', path.resolve(BASE)), await build('this', path.join(ROOT, 'dist', 'cjs'))];
const items = Array.from({ length: CHUNKS }, (_, i) => i);
console.log(
  `load average before: ${load()} (${os.availableParallelism()} cores); ${CHUNKS} no-op chunks a round${FIXED_JOBS ? ', jobs as full as the client allows' : ''}`,
);
for (let round = 0; round < ROUNDS; round++) {
  for (const b of round % 2 === 0 ? builds : [...builds].reverse()) {
    const before = { client: ownCpu(), redis: cpuOf(`/proc/${redis.pid}/stat`), workers: b.workers.map((w) => processCpu(w.pid)) };
    const started = performance.now();
    const results = await b.pool.map(b.math.noop, items, { chunksize: 1 });
    const rate = CHUNKS / ((performance.now() - started) / 1000);
    if (results.length !== CHUNKS) throw new Error(`${b.name}: ${results.length} results`);
    const row = {
      rate,
      client: (ownCpu() - before.client) / CHUNKS,
      workers: b.workers.reduce((sum, w, i) => sum + processCpu(w.pid) - before.workers[i], 0) / CHUNKS,
      redis: (cpuOf(`/proc/${redis.pid}/stat`) - before.redis) / CHUNKS,
    };
    b.rows.push(row);
    console.log(
      `round ${round + 1} ${b.name.padEnd(4)}: ${Math.round(rate)} chunks/s; CPU per chunk: client ${Math.round(row.client)}, workers ${Math.round(row.workers)}, Redis ${Math.round(row.redis)} µs (load ${load()})`,
    );
  }
}
for (const b of builds) {
  const of = (key) => Math.round(median(b.rows.map((row) => row[key])));
  const best = Math.round(Math.max(...b.rows.map((row) => row.rate)));
  console.log(
    `${b.name.padEnd(4)}: median ${of('rate')} chunks/s (best ${best}); CPU per chunk: client ${of('client')}, workers ${of('workers')}, Redis ${of('redis')} µs`,
  );
}
console.log(`load average after: ${load()}`);
for (const b of builds) await b.pool.close();
await Promise.all(
  builds
    .flatMap((b) => b.workers)
    .map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
);
process.exit(0);
