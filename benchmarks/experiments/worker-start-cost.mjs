#!/usr/bin/env node
// Where a worker's start-up goes (issue 11, cold start and Process): what loading
// each of parapool's dependencies costs inside a fresh worker thread, what the pool
// and process worker entries load, and what a task module that imports 'parapool'
// or is TypeScript adds to a new pool's first result.
//
//   npm run build && node benchmarks/experiments/worker-start-cost.mjs [--runs 15]
//
// Every figure is the median over --runs fresh worker threads (or pools), one after
// another, in this process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BUILD_DIR, buildWorkers, ROOT } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 15 : Number(process.argv[i + 1]);
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { mp } = parapool;
const LIBRARY = path.join(BUILD_DIR, 'parapool', 'cjs');
const dir = path.join(BUILD_DIR, 'experiments', 'start-cost');
fs.mkdirSync(dir, { recursive: true });

// A task module that imports parapool (as a user's module that also uses, say, Value types would).
const importsParapool = path.join(dir, 'math-imports-parapool.js');
fs.writeFileSync(
  importsParapool,
  `require(${JSON.stringify(path.join(LIBRARY, 'index.js'))});\nmodule.exports = require(${JSON.stringify(files.js.math)});\n`,
);

/** Runs `body` (CommonJS source, may use `time(label, fn)`) in a fresh worker; resolves with its timings. */
function inWorker(body) {
  const source = `
const { parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const require2 = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
const out = {};
const time = (label, fn) => { const t = performance.now(); const v = fn(); out[label] = performance.now() - t; return v; };
${body}
parentPort.postMessage(out);`;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const worker = new Worker(source, { eval: true });
    worker.once('message', (out) => resolve({ ...out, 'worker start → its report': performance.now() - start }));
    worker.once('error', reject);
  });
}

/** Per key: [median, smallest] over `runs` results of `make()`. */
async function medians(runs, make) {
  const all = [];
  for (let r = 0; r < runs; r++) all.push(await make());
  return Object.fromEntries(
    Object.keys(all[0]).map((key) => [key, [median(all.map((one) => one[key])), Math.min(...all.map((one) => one[key]))]]),
  );
}

const print = (title, row) => {
  console.log(`\n**${title}** (ms: median of ${RUNS}, and the smallest)\n`);
  for (const [key, [value, least]] of Object.entries(row)) console.log(`- ${key}: ${value.toFixed(2)} (${least.toFixed(2)})`);
};

// 1. Each dependency alone, first require in a fresh worker.
for (const name of ['piscina', 'acorn', 'esbuild']) {
  print(
    `require('${name}') in a fresh worker`,
    await medians(RUNS, () => inWorker(`time('require', () => require2(${JSON.stringify(name)}));`)),
  );
}
print(
  "tsx: require('tsx/cjs/api') + register(), then require(math.ts), in a fresh worker",
  await medians(RUNS, () =>
    inWorker(`
time('require tsx/cjs/api', () => require2('tsx/cjs/api'));
time('register()', () => require2('tsx/cjs/api').register());
time('require(workers/math.ts)', () => require(${JSON.stringify(files.ts.math)}));`),
  ),
);
print(
  'require(compiled workers/math.js) in a fresh worker',
  await medians(RUNS, () => inWorker(`time('require(math.js)', () => require(${JSON.stringify(files.js.math)}));`)),
);

// 2. The entries and the whole library.
const packagesLoaded = `
out['modules from node_modules'] = Object.keys(require.cache).filter((f) => f.includes('node_modules')).length;
out['parapool modules'] = Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(LIBRARY)})).length;`;
for (const [label, file] of [
  ['the pool worker entry (entry/pool-worker.js)', path.join(LIBRARY, 'entry', 'pool-worker.js')],
  ['every shared type (entry/shared-types.js: loaded on the first shared argument)', path.join(LIBRARY, 'entry', 'shared-types.js')],
  ["the whole library (index.js: what a task module importing 'parapool' loads)", path.join(LIBRARY, 'index.js')],
]) {
  print(
    `require(${label}) in a fresh worker`,
    await medians(RUNS, () => inWorker(`time('require', () => require(${JSON.stringify(file)}));${packagesLoaded}`)),
  );
}
// The process worker entry needs its workerData, so its imports are required instead (the same module graph;
// the codec, the error codec and the shared types load only for shared arguments or an error to report).
const processImports = ['process/protocol.js', 'entry/load-task.js'];
print(
  "require(the process worker entry's imports) in a fresh worker",
  await medians(RUNS, () =>
    inWorker(
      `time('require', () => { for (const f of ${JSON.stringify(processImports.map((f) => path.join(LIBRARY, f)))}) require(f); });${packagesLoaded}`,
    ),
  ),
);
print('an empty worker (eval) to its first message', await medians(RUNS, () => inWorker('')));

// 3. New pool → first result, per task module.
async function poolFirstResult(file) {
  const start = performance.now();
  const pool = new mp.Pool({ workers: 2 });
  await pool.apply(mp.tasks(file).noop, []);
  const ms = performance.now() - start;
  pool.close();
  await pool.join();
  return ms;
}
const rows = { '.js task module': [], '.js task module that imports parapool': [], '.ts task module': [] };
const modules = {
  '.js task module': files.js.math,
  '.js task module that imports parapool': importsParapool,
  '.ts task module': files.ts.math,
};
for (const file of Object.values(modules)) await poolFirstResult(file);
for (let r = 0; r < RUNS; r++) for (const [label, file] of Object.entries(modules)) rows[label].push(await poolFirstResult(file));
print(
  'new Pool({ workers: 2 }) → first no-op result, by task module (interleaved)',
  Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, [median(v), Math.min(...v)]])),
);
process.exit(0);
