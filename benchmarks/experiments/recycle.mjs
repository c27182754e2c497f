#!/usr/bin/env node
// Recycling (issue 11) side by side: Pool({ workers: 2, maxTasksPerChild: 3 }) over
// 100 no-op tasks at chunksize 1 against Python's Pool(2, maxtasksperchild=3) (the
// recycle cycle of benchmarks/python/startup.py), alternating one sample of each. As
// workload 7: a fresh pool per sample, one untimed apply first, then the timed map.
//
//   npm run build && node benchmarks/experiments/recycle.mjs [--runs 9] [--no-python]
import * as os from 'node:os';
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { runPython } from '../lib/python.mjs';
import { median } from '../lib/stats.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 9 : Number(process.argv[i + 1]);
const PYTHON = !process.argv.includes('--no-python');
const TASKS = 100;
const PER_CHILD = 3;
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { mp } = parapool;
const noop = mp.tasks(files.js.math).noop;
const items = new Array(TASKS).fill(0);

async function parapoolSample() {
  const pool = new mp.Pool({ workers: 2, maxTasksPerChild: PER_CHILD });
  try {
    await pool.apply(noop, []);
    const start = performance.now();
    const results = await pool.map(noop, items, { chunksize: 1 });
    if (results.length !== TASKS) throw new Error(`${results.length} results`);
    return performance.now() - start;
  } finally {
    pool.close();
    await pool.join();
  }
}

async function pythonSample() {
  const out = await runPython('startup.py', [2, 0, 1, TASKS, PER_CHILD]);
  if (out.error) throw new Error(out.error);
  return out.rows.find((row) => row.kind === 'recycle').samples[0];
}

const samples = { parapool: [], python: [] };
console.log(
  `load average before: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
await parapoolSample(); // warm-up
for (let r = 0; r < RUNS; r++) {
  samples.parapool.push(await parapoolSample());
  if (PYTHON) samples.python.push(await pythonSample());
}
console.log(
  `load average after: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`\nmaxTasksPerChild ${PER_CHILD}, ${TASKS} no-op tasks at chunksize 1, 2 workers (ms: median of ${RUNS}, smallest)\n`);
for (const [label, list] of Object.entries(samples)) {
  if (list.length > 0) console.log(`- ${label}: ${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)})`);
}
if (PYTHON) console.log(`\nparapool ÷ Python: ${(median(samples.parapool) / median(samples.python)).toFixed(2)}×`);
