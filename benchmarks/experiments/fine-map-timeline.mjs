#!/usr/bin/env node
// Where the time of the fine map goes (issue 11): per-chunk timeline of
// pool.map(isPrime, 1,000,000..1,100,000) on an instrumented copy of dist/cjs
// (instrumented-copy.mjs), for piscina's atomics modes and several chunk sizes,
// side by side with the sequential loop and the hand-written limit.
//
//   npm run build && node benchmarks/experiments/fine-map-timeline.mjs [--runs 20] [--atomics sync,async,disabled] [--chunksizes default,2500,12500]
//
// Per run (medians over the runs are printed):
//   wall      call → promise settled
//   setup     call → first chunk dispatched (argument checks, packing the input)
//   handoff   Dispatcher.start → the worker's handler begins (postMessage, wake-up of a parked worker)
//   compute   the worker's handler, start → end (the chunk's items, packing its results)
//   back      the handler's end → Dispatcher.finished on the main thread (result message)
//   gap       per worker: time between its chunks, not computing (back + main thread + handoff)
//   tail      the first worker's last end → the other's (imbalance at the end)
//   finish    last result on the main thread → promise settled (assembling the output)
import { buildWorkers } from '../lib/build.mjs';
import { loadWorkers } from '../lib/runners.mjs';
import { median } from '../lib/stats.mjs';
import { createHandwrittenPool } from '../peers/handwritten-pool.mjs';
import { instrumentedCopy, now } from './instrumented-copy.mjs';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const RUNS = Number(option('runs', '20'));
const ATOMICS = option('atomics', 'sync,async,disabled').split(',');
const CHUNKSIZES = option('chunksizes', 'default,2500,12500').split(',');
const WORKERS = 2;
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);

const files = buildWorkers();
const { primes } = loadWorkers(files);
const expected = numbers.filter((n) => primes.isPrime(n)).length;
const check = (flags) => {
  if (flags.filter(Boolean).length !== expected) throw new Error('wrong result');
};

function analyse(t0, t1, records) {
  const chunks = records.filter((r) => r.stamps !== undefined);
  const byWorker = new Map();
  for (const r of chunks) {
    const list = byWorker.get(r.stamps[2]) ?? [];
    list.push(r);
    byWorker.set(r.stamps[2], list);
  }
  let gap = 0;
  let gaps = 0;
  const lastEnds = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.stamps[0] - b.stamps[0]);
    for (let i = 1; i < list.length; i++) {
      gap += list[i].stamps[0] - list[i - 1].stamps[1];
      gaps++;
    }
    lastEnds.push(list[list.length - 1].stamps[1]);
  }
  const sum = (f) => chunks.reduce((total, r) => total + f(r), 0);
  return {
    wall: t1 - t0,
    chunks: chunks.length,
    setup: Math.min(...chunks.map((r) => r.dispatched)) - t0,
    handoff: sum((r) => r.stamps[0] - r.dispatched) / chunks.length,
    compute: sum((r) => r.stamps[1] - r.stamps[0]) / chunks.length,
    back: sum((r) => r.received - r.stamps[1]) / chunks.length,
    gap: gaps ? gap / gaps : 0,
    tail: lastEnds.length > 1 ? Math.max(...lastEnds) - Math.min(...lastEnds) : 0,
    finish: t1 - Math.max(...chunks.map((r) => r.received)),
    workers: byWorker.size,
  };
}

const fmt = (value) => (Number.isInteger(value) ? String(value) : value >= 10 ? value.toFixed(1) : value.toFixed(3));

const hand = await createHandwrittenPool(WORKERS);
const seqTimes = [];
const handTimes = [];
async function baselines() {
  let t = now();
  check(numbers.map((n) => primes.isPrime(n)));
  seqTimes.push(now() - t);
  t = now();
  check(await hand.mapIsPrime(numbers));
  handTimes.push(now() - t);
}
for (let i = 0; i < 10; i++) await baselines();
seqTimes.length = 0;
handTimes.length = 0;

const rows = [];
for (const atomics of ATOMICS) {
  const { mp, stamps } = instrumentedCopy(`fine-map-${atomics}`, { atomics });
  const pool = new mp.Pool({ workers: WORKERS });
  const isPrime = mp.tasks(files.js.primes).isPrime;
  await pool.apply(mp.tasks(files.js.math).noop, []);
  for (const chunksize of CHUNKSIZES) {
    const options = chunksize === 'default' ? {} : { chunksize: Number(chunksize) };
    for (let i = 0; i < 10; i++) check(await pool.map(isPrime, numbers, options));
    stamps();
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      await baselines();
      const t0 = now();
      const flags = await pool.map(isPrime, numbers, options);
      const t1 = now();
      check(flags);
      runs.push(analyse(t0, t1, stamps()));
    }
    // On a shared machine the fastest runs are the least disturbed ones: the figures of the
    // fastest quarter (by wall time) are printed beside those of all runs.
    const fastest = [...runs].sort((a, b) => a.wall - b.wall).slice(0, Math.max(1, Math.round(runs.length / 4)));
    for (const [which, subset] of [
      ['all runs', runs],
      ['fastest quarter', fastest],
    ]) {
      const row = { atomics, chunksize, which };
      for (const key of Object.keys(runs[0])) row[key] = median(subset.map((run) => run[key]));
      rows.push(row);
    }
    const row = rows[rows.length - 2];
    process.stderr.write(`  ${atomics} chunksize ${chunksize}: wall ${fmt(row.wall)} ms\n`);
  }
  pool.close();
  await pool.join();
}
await hand.destroy();

const quarter = (times) => median([...times].sort((a, b) => a - b).slice(0, Math.max(1, Math.round(times.length / 4))));
const seq = median(seqTimes);
const handMs = median(handTimes);
const handBest = quarter(handTimes);
console.log(
  `sequential loop ${fmt(seq)} ms, hand-written ${fmt(handMs)} ms (speedup ${(seq / handMs).toFixed(2)}×): medians of ${seqTimes.length} runs interleaved with the maps below; ` +
    `their fastest quarters: ${fmt(quarter(seqTimes))} and ${fmt(handBest)} ms (${(quarter(seqTimes) / handBest).toFixed(2)}×)`,
);
console.log('');
const keys = ['wall', 'chunks', 'setup', 'handoff', 'compute', 'back', 'gap', 'tail', 'finish'];
console.log(`| atomics | chunksize | runs | ${keys.join(' | ')} | share of hand-written speedup |`);
console.log(`| --- | --- | --- | ${keys.map(() => '---:').join(' | ')} | ---: |`);
for (const row of rows) {
  const hand = row.which === 'all runs' ? handMs : handBest;
  console.log(
    `| ${row.atomics} | ${row.chunksize} | ${row.which} | ${keys.map((key) => fmt(row[key])).join(' | ')} | ${(hand / row.wall).toFixed(2)} |`,
  );
}
process.exit(0);
