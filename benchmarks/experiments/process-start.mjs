#!/usr/bin/env node
// Process start → join (issue 11) side by side: `new Process({ target })`, `start()`,
// `join()` on a no-op task module export, against a bare `new Worker()` that loads
// the same compiled task module and calls its no-op, to its 'exit' (workload 7's
// Process group), alternating one sample of each.
//
//   npm run build && node benchmarks/experiments/process-start.mjs [--runs 30] [--base <dist>]
//
// --base adds the Process row for another build (e.g. main's dist/), interleaved.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BENCH_DIR, buildWorkers } from '../lib/build.mjs';
import { loadBase, loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 30 : Number(process.argv[i + 1]);
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { mp } = parapool;
const BARE_WORKER = path.join(BENCH_DIR, 'peers', 'bare-worker.cjs');
const target = mp.tasks(files.js.math).noop;
const base = loadBase();

function bare() {
  return new Promise((resolve, reject) => {
    const begin = performance.now();
    const worker = new Worker(BARE_WORKER, { workerData: { taskModule: files.js.math } });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve(performance.now() - begin) : reject(new Error(`exit code ${code}`))));
  });
}

async function processSample(lib = mp) {
  const begin = performance.now();
  const child = new lib.Process({ target: lib === mp ? target : lib.tasks(files.js.math).noop });
  child.start();
  await child.join();
  if (child.exitCode !== 0) throw new Error(`exit code ${child.exitCode}`);
  return performance.now() - begin;
}

const samples = { 'bare new Worker()': [], 'parapool Process': [], ...(base ? { 'parapool Process (base)': [] } : {}) };
console.log(`load average before: ${loadAverage()}`);
await bare();
await processSample();
if (base) await processSample(base.mp);
for (let r = 0; r < RUNS; r++) {
  samples['bare new Worker()'].push(await bare());
  samples['parapool Process'].push(await processSample());
  if (base) samples['parapool Process (base)'].push(await processSample(base.mp));
}
console.log(`load average after: ${loadAverage()}`);
console.log(`\nstart → exit of one worker running a no-op (ms: median of ${RUNS}, smallest)\n`);
for (const [label, list] of Object.entries(samples))
  console.log(`- ${label}: ${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)})`);
console.log(`\nProcess ÷ bare Worker: ${(median(samples['parapool Process']) / median(samples['bare new Worker()'])).toFixed(2)}×`);
if (base)
  console.log(
    `Process (base) ÷ bare Worker: ${(median(samples['parapool Process (base)']) / median(samples['bare new Worker()'])).toFixed(2)}×`,
  );
