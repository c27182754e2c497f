#!/usr/bin/env node
// The fine map's share of the hand-written limit, measured side by side (issue 11): one map per
// runner per round, the order rotating each round, so that every runner sees the same load.
//
//   npm run build && node benchmarks/experiments/fine-map-share.mjs [--rounds 40] [--workers 2] [--base /tmp/base]
//
// `--base` adds rows for another build's default map and its one-task-per-chunk map (a copy of its dist/cjs, kept inside this
// checkout, e.g. benchmarks/.build/base, so that it finds the same node_modules).
//
// Runners: the sequential loop, the hand-written limit (benchmarks/peers/handwritten-pool.mjs),
// parapool `map` at its defaults (self-scheduled ranges over the packed input) and parapool `map`
// at Python's default chunksize given explicitly (one task per chunk: the path every map took
// before the self-scheduled one). Prints the median and the mean of the fastest quarter of each,
// and each parapool runner's share of the hand-written speedup (hand-written time ÷ its time),
// with the load average before and after.
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadWorkers } from '../lib/runners.mjs';
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { median, sorted } from '../lib/stats.mjs';
import { createHandwrittenPool } from '../peers/handwritten-pool.mjs';
import { loadAverage } from '../lib/machine.mjs';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const baseAt = process.argv.indexOf('--base');
const base = baseAt === -1 ? undefined : createRequire(import.meta.url)(path.resolve(process.argv[baseAt + 1], 'index.js'));
const rounds = option('rounds', 40);
const workers = option('workers', os.availableParallelism());
const FIRST = 1_000_000;
const numbers = Array.from({ length: 100_000 }, (_, i) => FIRST + i);
const files = buildWorkers();
const { primes } = loadWorkers(files);
const expected = numbers.filter((n) => primes.isPrime(n)).length;
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const { Pool, tasks } = parapool.mp;
const refs = tasks(files.js.primes);

const load = () => loadAverage(', ');
console.log(`load average before: ${load()}; ${workers} workers, ${rounds} rounds, Node ${process.version}`);

const handwritten = await createHandwrittenPool(workers);
const pool = new Pool({ workers });
const pythonChunksize = Math.ceil(numbers.length / (4 * workers));
const runners = {
  'sequential loop': () => numbers.map((n) => primes.isPrime(n)),
  'hand-written limit': () => handwritten.mapIsPrime(numbers),
  'parapool map (default: self-scheduled)': () => pool.map(refs.isPrime, numbers),
  [`parapool map (chunksize ${pythonChunksize}: one task per chunk)`]: () =>
    pool.map(refs.isPrime, numbers, { chunksize: pythonChunksize }),
};
const basePool = base === undefined ? undefined : new base.Pool({ workers });
if (basePool !== undefined) {
  const baseRefs = base.tasks(files.js.primes);
  runners['parapool map (default, --base build)'] = () => basePool.map(baseRefs.isPrime, numbers);
  runners[`parapool map (chunksize ${pythonChunksize}, --base build)`] = () =>
    basePool.map(baseRefs.isPrime, numbers, { chunksize: pythonChunksize });
}
const labels = Object.keys(runners);
const samples = Object.fromEntries(labels.map((label) => [label, []]));
const warmup = 10;
for (let round = 0; round < warmup + rounds; round++) {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[(i + round) % labels.length];
    const start = performance.now();
    const flags = await runners[label]();
    const ms = performance.now() - start;
    if (flags.length !== numbers.length || flags.filter(Boolean).length !== expected) throw new Error(`${label}: wrong result`);
    if (round >= warmup) samples[label].push(ms);
  }
}
await handwritten.destroy();
for (const each of [pool, basePool]) {
  each?.close();
  await each?.join();
}

const fastestQuarter = (values) => {
  const quarter = sorted(values).slice(0, Math.max(1, Math.floor(values.length / 4)));
  return quarter.reduce((sum, value) => sum + value, 0) / quarter.length;
};
const rows = labels.map((label) => ({ label, median: median(samples[label]), fast: fastestQuarter(samples[label]) }));
const limit = rows[1];
console.log(
  '\n| runner | median (ms) | fastest quarter (ms) | speedup over the loop (median) | share of the hand-written speedup (median / fastest quarter) |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const share = row === rows[0] ? '' : `${(limit.median / row.median).toFixed(2)} / ${(limit.fast / row.fast).toFixed(2)}`;
  console.log(
    `| ${row.label} | ${row.median.toFixed(1)} | ${row.fast.toFixed(1)} | ${(rows[0].median / row.median).toFixed(2)}× | ${share} |`,
  );
}
console.log(`\nload average after: ${load()}`);
process.exit(0);
