#!/usr/bin/env node
// The fixed cost of one Pool call on this machine (issue 11): a self-scheduled map of 64 items
// (one job per worker), the same map cut into two chunk tasks, and one apply, each awaited one
// after another in a tight loop, so the figure is the call's own cost, not the work.
//
//   npm run build && node benchmarks/experiments/map-fixed-cost.mjs [--calls 2000]
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { loadAverage } from '../lib/machine.mjs';

const at = process.argv.indexOf('--calls');
const CALLS = at === -1 ? 2000 : Number(process.argv[at + 1]);
const files = buildWorkers();
const { mp, error } = loadParapool();
if (error) throw new Error(error);
const primes = mp.tasks(files.js.primes);
const pool = new mp.Pool({ workers: 2 });
const input = Array.from({ length: 64 }, (_, i) => 1_000_000 + i);
console.log(`load average before: ${loadAverage(', ')}`);
async function perCall(label, call) {
  await call();
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) await call();
  console.log(`| ${label} | ${(((performance.now() - start) / CALLS) * 1000).toFixed(0)} |`);
}
console.log(`\n| call, awaited ${CALLS} times in a row | µs per call |\n| --- | ---: |`);
await perCall('map of 64 items (self-scheduled: one job per worker)', () => pool.map(primes.isPrime, input));
await perCall('map of 64 items, chunksize 32 (two chunk tasks)', () => pool.map(primes.isPrime, input, { chunksize: 32 }));
await perCall('apply (one task)', () => pool.apply(primes.isPrime, [7]));
console.log(`\nload average after: ${loadAverage(', ')}`);
await pool.terminate();
