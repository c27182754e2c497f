#!/usr/bin/env node
// Why a locked Value and Value.add are slower than the hand-written loops (issue 11):
// 2 workers × 100,000 increments, one thing changed per variant, in one pool, side
// by side with the hand-written limit (benchmarks/peers/handwritten-pool.mjs).
//
//   npm run build && node benchmarks/experiments/counter-variants.mjs [--runs 15] [--base <dist/cjs of another build>]
//
// Prints the median rate (M increments/s) of each variant; the total is checked exact.
// `--base` adds workload 4's row run on another build (e.g. `cp -r dist/cjs /tmp/base` before a change),
// in a pool of its own, interleaved round by round with the others.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { createHandwrittenPool } from '../peers/handwritten-pool.mjs';
import { loadAverage } from '../lib/machine.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 15 : Number(process.argv[i + 1]);
const b = process.argv.indexOf('--base');
const BASE = b === -1 ? undefined : path.resolve(process.argv[b + 1]);
const N = 100_000;
const WORKERS = 2;
buildWorkers();
const { mp, error } = loadParapool();
if (error) throw new Error(error);
const variantsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'counter-variants.cjs');
const variants = mp.tasks(variantsFile);

const pool = new mp.Pool({ workers: WORKERS });
const base = BASE === undefined ? undefined : createRequire(import.meta.url)(path.join(BASE, 'index.js'));
const basePool = base === undefined ? undefined : new base.Pool({ workers: WORKERS });
const baseVariants = base?.tasks(variantsFile);
const BASE_LABEL = 'base build: Value + its RLock (default), value += 1';
const hand = await createHandwrittenPool(WORKERS);
const cases = [
  ['Value + its RLock (default), value += 1 (workload 4)', () => mp.Value('i', 0), 'lockedValue'],
  ['Value + its RLock, view[0] += 1', () => mp.Value('i', 0), 'lockedView'],
  ['Value + its RLock, Atomics.store(view, 0, Atomics.load(view, 0) + 1)', () => mp.Value('i', 0), 'lockedAtomicView'],
  ['Value + a Lock, value += 1', () => mp.Value('i', 0, { lock: new mp.Lock() }), 'lockedValue'],
  ['Value + a Lock, view[0] += 1', () => mp.Value('i', 0, { lock: new mp.Lock() }), 'lockedView'],
  ['Value.add(1) (workload 4)', () => mp.Value('i', 0), 'valueAdd'],
  ['Atomics.add(value.view, 0, 1)', () => mp.Value('i', 0), 'viewAtomicsAdd'],
];
const rates = new Map([...cases.map(([label]) => [label, []]), ['hand-written futex mutex', []], ['hand-written Atomics.add', []]]);
if (base !== undefined) rates.set(BASE_LABEL, []);

async function once(record) {
  for (const [label, make, task] of cases) {
    const counter = make();
    const start = performance.now();
    await Promise.all(Array.from({ length: WORKERS }, () => pool.apply(variants[task], [counter, N])));
    const ms = performance.now() - start;
    if (counter.value !== N * WORKERS) throw new Error(`${label}: ${counter.value}`);
    if (record) rates.get(label).push((N * WORKERS) / ms / 1000);
  }
  if (base !== undefined) {
    // The worker loads the base build (the task file requires nothing of parapool's: it gets the Value).
    const counter = base.Value('i', 0);
    const start = performance.now();
    await Promise.all(Array.from({ length: WORKERS }, () => basePool.apply(baseVariants.lockedValue, [counter, N])));
    const ms = performance.now() - start;
    if (counter.value !== N * WORKERS) throw new Error(`${BASE_LABEL}: ${counter.value}`);
    if (record) rates.get(BASE_LABEL).push((N * WORKERS) / ms / 1000);
  }
  for (const [label, job] of [
    ['hand-written futex mutex', 'locked'],
    ['hand-written Atomics.add', 'atomicAdd'],
  ]) {
    const start = performance.now();
    const total = await hand[job](N);
    const ms = performance.now() - start;
    if (total !== N * WORKERS) throw new Error(`${label}: ${total}`);
    if (record) rates.get(label).push((N * WORKERS) / ms / 1000);
  }
}
console.log(`load average before: ${loadAverage()}`);
for (let r = 0; r < 3; r++) await once(false);
for (let r = 0; r < RUNS; r++) await once(true);
pool.close();
await pool.join();
if (basePool !== undefined) {
  basePool.close();
  await basePool.join();
}
await hand.destroy();
console.log(`load average after: ${loadAverage()}\n`);
console.log(`| ${WORKERS} workers × ${N.toLocaleString('en-US')} increments | M/s, median of ${RUNS} | best run |`);
console.log('| --- | ---: | ---: |');
for (const [label, values] of rates) console.log(`| ${label} | ${median(values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`);
process.exit(0);
