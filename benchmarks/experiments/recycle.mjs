#!/usr/bin/env node
// Recycling (issue 11) side by side: Pool({ workers: 2, maxTasksPerChild: 3 }) over
// 100 no-op tasks at chunksize 1, against the hand-written floor on raw worker_threads
// (benchmarks/peers/handwritten-recycle.mjs) and Python's Pool(2, maxtasksperchild=3)
// (the recycle cycle of benchmarks/python/startup.py), one sample of each per round. As
// workload 7: a fresh pool per sample, one untimed task first, then the timed 100.
// Besides the wall time, the CPU time of this process (every thread) during the timed
// part, and that CPU time per thread booted there: what one recycled worker costs. The
// last line is the cost of the thread alone: an empty worker (`new Worker('', { eval: true })`)
// booted and terminated, two at a time, as often as the timed part boots them.
//
//   npm run build && node benchmarks/experiments/recycle.mjs [--runs 9] [--no-python] [--base <dist>]
//
// --base adds the same parapool row for another build (e.g. main's dist/), interleaved.
import { Worker } from 'node:worker_threads';
import { buildWorkers } from '../lib/build.mjs';
import { loadBase, loadParapool } from '../lib/parapool.mjs';
import { runPython } from '../lib/python.mjs';
import { median } from '../lib/stats.mjs';
import { createHandwrittenRecycler } from '../peers/handwritten-recycle.mjs';
import { loadAverage } from '../lib/machine.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 9 : Number(process.argv[i + 1]);
const PYTHON = !process.argv.includes('--no-python');
const TASKS = 100;
const PER_CHILD = 3;
const WORKERS = 2;
// The first task runs before the timed part: the timed tasks need this many threads besides the first two.
const BOOTED = Math.ceil((TASKS + 1) / PER_CHILD) - WORKERS;
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { mp } = parapool;
const base = loadBase();
const noop = mp.tasks(files.js.math).noop;
const items = new Array(TASKS).fill(0);

/** Wall and CPU ms of `body()`. */
async function measured(body) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

async function parapoolSample(lib = mp) {
  const pool = new lib.Pool({ workers: WORKERS, maxTasksPerChild: PER_CHILD });
  const task = lib === mp ? noop : lib.tasks(files.js.math).noop;
  try {
    await pool.apply(task, []);
    return await measured(async () => {
      const results = await pool.map(task, items, { chunksize: 1 });
      if (results.length !== TASKS) throw new Error(`${results.length} results`);
    });
  } finally {
    pool.close();
    await pool.join();
  }
}

async function handwrittenSample() {
  const pool = createHandwrittenRecycler({ workers: WORKERS, perChild: PER_CHILD, taskModule: files.js.math });
  try {
    await pool.run('noop');
    return await measured(async () => {
      const results = await Promise.all(items.map(() => pool.run('noop')));
      if (results.length !== TASKS) throw new Error(`${results.length} results`);
    });
  } finally {
    await pool.close();
  }
}

async function pythonSample() {
  const out = await runPython('startup.py', [WORKERS, 0, 1, TASKS, PER_CHILD]);
  if (out.error) throw new Error(out.error);
  return { wall: out.rows.find((row) => row.kind === 'recycle').samples[0] };
}

/** Boots and terminates BOOTED empty workers, two at a time: the floor of a worker thread's cost. */
async function emptyWorkersSample() {
  const boot = () =>
    new Promise((resolve, reject) => {
      const worker = new Worker("require('node:worker_threads').parentPort.postMessage(0)", { eval: true });
      worker.once('error', reject);
      worker.once('message', () => worker.terminate().then(resolve, reject));
    });
  return measured(async () => {
    for (let booted = 0; booted < BOOTED; booted += WORKERS) await Promise.all(Array.from({ length: WORKERS }, boot));
  });
}

const runners = {
  parapool: () => parapoolSample(),
  ...(base ? { 'parapool (base)': () => parapoolSample(base.mp) } : {}),
  'hand-written': handwrittenSample,
  ...(PYTHON ? { python: pythonSample } : {}),
  [`${BOOTED} empty workers, ${WORKERS} at a time`]: emptyWorkersSample,
};
const samples = Object.fromEntries(Object.keys(runners).map((label) => [label, []]));
const load = () => loadAverage();
console.log(`load average before: ${load()}`);
await parapoolSample(); // warm-up
if (base) await parapoolSample(base.mp);
await handwrittenSample();
for (let r = 0; r < RUNS; r++) {
  const order = Object.entries(runners);
  for (let k = 0; k < order.length; k++) {
    const [label, sample] = order[(k + r) % order.length];
    samples[label].push(await sample());
  }
}
console.log(`load average after: ${load()}`);
console.log(
  `\nmaxTasksPerChild ${PER_CHILD}, ${TASKS} no-op tasks at chunksize 1, ${WORKERS} workers, ${BOOTED} threads booted in the timed part` +
    ` (ms: median of ${RUNS}, smallest)\n`,
);
const wall = (label) => median(samples[label].map((s) => s.wall));
for (const [label, list] of Object.entries(samples)) {
  const walls = list.map((s) => s.wall);
  const cpu =
    list[0].cpu === undefined
      ? ''
      : `; CPU ${median(list.map((s) => s.cpu)).toFixed(0)}, per thread booted ${(median(list.map((s) => s.cpu)) / BOOTED).toFixed(1)}`;
  console.log(`- ${label}: ${median(walls).toFixed(1)} (${Math.min(...walls).toFixed(1)})${cpu}`);
}
console.log(`\nparapool ÷ hand-written: ${(wall('parapool') / wall('hand-written')).toFixed(2)}×`);
if (base) console.log(`parapool (base) ÷ hand-written: ${(wall('parapool (base)') / wall('hand-written')).toFixed(2)}×`);
if (PYTHON) {
  console.log(`parapool ÷ Python: ${(wall('parapool') / wall('python')).toFixed(2)}×`);
  console.log(`hand-written ÷ Python: ${(wall('hand-written') / wall('python')).toFixed(2)}×`);
}
