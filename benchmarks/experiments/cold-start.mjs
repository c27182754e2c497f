#!/usr/bin/env node
// Cold start (issue 11): a fresh `node` process to its first no-op result on 2 workers,
// parapool against raw piscina, interleaved round by round in one run. The same spawn →
// `first-result` line as workload 7's cold group (benchmarks/peers/cold-start.cjs), plus
// a task module that imports parapool itself (what a task using `Value` does in every
// worker).
//
//   npm run build && node benchmarks/experiments/cold-start.mjs [--runs 15] [--base <dist>]
//
// --base adds the .js and the "type": "module" .mjs/.ts rows for another build (e.g. main's dist/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, BUILD_DIR, buildEsmWorkers, buildWorkers } from '../lib/build.mjs';
import { loadBase, loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { coldStart } from '../lib/cold-start.mjs';
import { loadAverage } from '../lib/machine.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 15 : Number(process.argv[i + 1]);
const WORKERS = '2';
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const library = path.join(BUILD_DIR, 'parapool', 'cjs', 'index.js');
const base = loadBase();
const COLD_START = path.join(BENCH_DIR, 'peers', 'cold-start.cjs');
const dir = path.join(BUILD_DIR, 'experiments', 'cold-start');
fs.mkdirSync(dir, { recursive: true });
const importsParapool = path.join(dir, 'math-imports-parapool.js');
fs.writeFileSync(importsParapool, `require(${JSON.stringify(library)});\nmodule.exports = require(${JSON.stringify(files.js.math)});\n`);

// The same task module in a "type": "module" package, as .mjs and as .ts.
const esm = buildEsmWorkers();

const runners = {
  piscina: [COLD_START, 'piscina', path.join(BENCH_DIR, 'peers', 'tasks.mjs'), WORKERS],
  'parapool (.js task module)': [COLD_START, 'parapool', library, files.js.math, WORKERS],
  'parapool (.js task module that imports parapool)': [COLD_START, 'parapool', library, importsParapool, WORKERS],
  'parapool (.ts task module)': [COLD_START, 'parapool', library, files.ts.math, WORKERS],
  'parapool (.mjs task module, "type": "module")': [COLD_START, 'parapool', library, esm.mjs, WORKERS],
  'parapool (.ts task module, "type": "module")': [COLD_START, 'parapool', library, esm.ts, WORKERS],
  ...(base
    ? {
        'base (.js task module)': [COLD_START, 'parapool', base.library, files.js.math, WORKERS],
        'base (.mjs task module, "type": "module")': [COLD_START, 'parapool', base.library, esm.mjs, WORKERS],
        'base (.ts task module, "type": "module")': [COLD_START, 'parapool', base.library, esm.ts, WORKERS],
      }
    : {}),
};
const samples = Object.fromEntries(Object.keys(runners).map((label) => [label, []]));
console.log(`load average before: ${loadAverage()}`);
for (const args of Object.values(runners)) await coldStart(args); // warm the file cache
for (let r = 0; r < RUNS; r++) for (const [label, args] of Object.entries(runners)) samples[label].push(await coldStart(args));
console.log(`load average after: ${loadAverage()}`);
const piscinaMedian = median(samples.piscina);
console.log(`\nfresh node → first no-op result, ${WORKERS} workers (ms: median of ${RUNS}, smallest; ratio of medians to piscina)\n`);
for (const [label, list] of Object.entries(samples)) {
  const m = median(list);
  console.log(`- ${label}: ${m.toFixed(1)} (${Math.min(...list).toFixed(1)})  ${(m / piscinaMedian).toFixed(2)}×`);
}
