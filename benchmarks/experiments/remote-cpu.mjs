#!/usr/bin/env node
// Where a remote no-op chunk's CPU goes (workload 10's throughput group, taken apart): a local
// redis-server, 2 `parapool worker` processes of 2 threads, a map of no-op chunks (chunksize 1),
// and the CPU per chunk of this client, of Redis and of every thread of the worker processes
// (/proc/<pid>/task, Linux). With --cpu-prof the workers write V8 CPU profiles (main thread and
// each worker thread) into --dir, for `node --cpu-prof`-style reading.
//
//   npm run build && node benchmarks/experiments/remote-cpu.mjs [--chunks 3000] [--rounds 3] [--cpu-prof --dir /tmp/prof]

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from '../lib/children.mjs';
import { loadAverage } from '../lib/machine.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const CLI = path.join(ROOT, 'dist', 'cjs', 'cli', 'main.js');
const flag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};
const CHUNKS = Number(flag('chunks', 3000));
const ROUNDS = Number(flag('rounds', 3));
const PROFILE = process.argv.includes('--cpu-prof')
  ? ['--cpu-prof', '--cpu-prof-dir', flag('dir', mkdtempSync(path.join(os.tmpdir(), 'parapool-prof-')))]
  : [];

const port = await new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = server.address();
    server.close(() => resolve(free));
  });
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-remote-cpu-'));
const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
const redis = await startChild('redis-server', args, 'Ready to accept connections');
const url = `redis://127.0.0.1:${port}`;
const keyFile = path.join(dir, 'key');
writeFileSync(keyFile, 'remote-cpu-key');
const workerArgs = ['worker', '--redis', url, '--queue', 'cpu', '--root', ROOT, '--tasks', 'workers/math.ts', '--threads', '2'];
const workers = await Promise.all(
  [1, 2].map(() => startChild(process.execPath, [...PROFILE, CLI, ...workerArgs, '--authkey-file', keyFile], 'serving queue')),
);
const { Pool, tasks } = require(path.join(ROOT, 'dist', 'cjs', 'index.js'));
const { redisBackend } = require(path.join(ROOT, 'dist', 'cjs', 'remote', 'index.js'));
const math = tasks(path.join(ROOT, 'workers', 'math.ts'));
const pool = new Pool({ backend: redisBackend({ connection: url, queue: 'cpu', root: ROOT, authkey: 'remote-cpu-key' }) });
while (pool.workers !== 4) await new Promise((resolve) => setTimeout(resolve, 20));
const items = Array.from({ length: CHUNKS }, (_, i) => i);
await pool.map(math.noop, items.slice(0, 500), { chunksize: 1 });

/** CPU time (µs) of a process or thread from its /proc stat line. */
const cpuOf = (stat) => {
  const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
};
const threadsOf = () =>
  new Map(
    workers.flatMap((child) =>
      readdirSync(`/proc/${child.pid}/task`).map((tid) => {
        const stat = `/proc/${child.pid}/task/${tid}/stat`;
        const raw = readFileSync(stat, 'utf8');
        return [`worker ${child.pid} thread ${tid} (${raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'))})`, cpuOf(stat)];
      }),
    ),
  );
const ownCpu = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
console.log(`load average before: ${loadAverage()} (${os.availableParallelism()} cores)`);
const before = { client: ownCpu(), redis: cpuOf(`/proc/${redis.pid}/stat`), threads: threadsOf() };
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  await pool.map(math.noop, items, { chunksize: 1 });
  console.log(`round ${round + 1}: ${Math.round(CHUNKS / ((performance.now() - started) / 1000))} chunks/s`);
}
const total = CHUNKS * ROUNDS;
const perChunk = (after, was) => `${Math.round((after - (was ?? 0)) / total)} µs`;
console.log(
  `CPU per chunk: client ${perChunk(ownCpu(), before.client)}, Redis ${perChunk(cpuOf(`/proc/${redis.pid}/stat`), before.redis)}`,
);
let workersTotal = 0;
for (const [name, cpu] of threadsOf()) {
  workersTotal += cpu - (before.threads.get(name) ?? 0);
  if (cpu > (before.threads.get(name) ?? 0)) console.log(`  ${name}: ${perChunk(cpu, before.threads.get(name))}`);
}
console.log(`CPU per chunk, worker processes: ${Math.round(workersTotal / total)} µs`);
console.log(`load average after: ${loadAverage()}`);
await pool.close();
await Promise.all(
  workers.map(
    (child) =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  ),
);
if (PROFILE.length > 0) console.log(`profiles in ${PROFILE[2]}`);
process.exit(0);
