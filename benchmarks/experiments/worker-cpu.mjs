#!/usr/bin/env node
// What one worker thread costs in CPU (issue 11, recycling): the CPU time of this process
// (every thread) per worker for a pool of 2 that boots, runs one no-op task in each
// worker and ends, for a bare `new Worker()` on the hand-written recycling worker
// (benchmarks/peers/handwritten-recycle-worker.cjs), raw piscina, and parapool's Pool.
// The difference between the rows is what a library adds to each recycled worker.
//
//   npm run build && node benchmarks/experiments/worker-cpu.mjs [--runs 5] [--base <dist>]
//
// --base adds the parapool row for another build (e.g. main's dist/).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { BENCH_DIR, buildWorkers } from '../lib/build.mjs';
import { loadBase, loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 5 : Number(process.argv[i + 1]);
const POOLS = 8;
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { mp } = parapool;
const base = loadBase();
const BARE = path.join(BENCH_DIR, 'peers', 'handwritten-recycle-worker.cjs');

function bareWorker() {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BARE, { workerData: { taskModule: files.js.math } });
    worker.once('error', reject);
    worker.once('message', () => {
      worker.once('message', () => worker.terminate().then(resolve, reject));
      worker.postMessage('noop');
    });
  });
}

const variants = {
  'bare new Worker()': () => Promise.all([bareWorker(), bareWorker()]),
  piscina: async () => {
    const pool = new Piscina({ filename: files.js.math, minThreads: 2, maxThreads: 2 });
    await Promise.all([pool.run(null, { name: 'noop' }), pool.run(null, { name: 'noop' })]);
    await pool.destroy();
  },
  parapool: () => parapoolPools(mp),
  ...(base ? { 'parapool (base)': () => parapoolPools(base.mp) } : {}),
};

async function parapoolPools(lib) {
  const pool = new lib.Pool({ workers: 2 });
  const noop = lib.tasks(files.js.math).noop;
  await Promise.all([pool.apply(noop, []), pool.apply(noop, [])]);
  pool.close();
  await pool.join();
}
const load = () => loadAverage();
const samples = Object.fromEntries(Object.keys(variants).map((label) => [label, []]));
for (const run of Object.values(variants)) await run(); // warm-up
console.log(`load average before: ${load()}`);
for (let r = 0; r < RUNS; r++) {
  for (const [label, run] of Object.entries(variants)) {
    const cpu = process.cpuUsage();
    for (let p = 0; p < POOLS; p++) await run();
    const used = process.cpuUsage(cpu);
    samples[label].push((used.user + used.system) / 1000 / (2 * POOLS));
  }
}
console.log(`load average after: ${load()}`);
console.log(`\nCPU ms per worker: boot, one no-op task, end (${POOLS} pools of 2 per sample; median of ${RUNS}, smallest)\n`);
for (const [label, list] of Object.entries(samples))
  console.log(`- ${label}: ${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)})`);
process.exit(0);
