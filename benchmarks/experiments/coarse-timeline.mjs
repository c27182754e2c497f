#!/usr/bin/env node
// Workload 1 (coarse: countPrimes below N in 4 × workers ranges) side by side with raw
// piscina, with a timeline of which worker ran which range when (issue 11, goal ≥ 0.97×
// piscina's speedup). One run per runner per round, the order rotating each round.
//
//   npm run build -- --no-check && chrt -f 1 node benchmarks/experiments/coarse-timeline.mjs [--rounds 12] [--limit 2000000] [--base benchmarks/.build/base] [--show 3]
//
// `--base` adds a row for another build's starmap (a copy of its dist/cjs kept inside this
// checkout, so that it finds the same node_modules). The task (coarse-timeline-task.cjs)
// is the workload's countPrimes stamped with its thread and its start and end.
//
// Prints the load average before and after; per runner the median time (best in brackets),
// the median speedup over the sequential loop and its ratio to piscina's; and, from the
// timelines, medians of: `first start` (call → the first range begins), `gap` (per worker,
// the time between two of its ranges, not computing), `tail` (the first worker's last end →
// the other's) and `end` (the last range's end → the call settled), plus the most frequent
// orders in which the workers ran the ranges (`--show` timelines per runner are printed).
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { buildWorkers } from '../lib/build.mjs';
import { loadWorkers } from '../lib/runners.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
};
const ROUNDS = Number(arg('rounds', 12));
const LIMIT = Number(arg('limit', 2_000_000));
const SHOW = Number(arg('show', 0));
const BASE = arg('base', undefined);
const WORKERS = 2;
const TASK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'coarse-timeline-task.cjs');
const now = () => performance.timeOrigin + performance.now();

console.log(`load average before: ${loadAverage(', ')}; ${WORKERS} workers, ${ROUNDS} rounds, N = ${LIMIT}`);
const files = buildWorkers();
const { primes } = loadWorkers(files);
const step = Math.ceil(LIMIT / (4 * WORKERS));
const ranges = Array.from({ length: 4 * WORKERS }, (_, i) => [i * step, Math.min(LIMIT, (i + 1) * step)]);
const expected = ranges.reduce((sum, [s, e]) => sum + primes.countPrimes(s, e), 0);

const parapoolOf = (mp) => {
  const pool = new mp.Pool({ workers: WORKERS });
  const { timedCount } = mp.tasks(TASK);
  return { run: () => pool.starmap(timedCount, ranges), close: () => pool.terminate() };
};
const current = loadParapool();
if (current.error) throw new Error(current.error);
const piscina = new Piscina({ filename: TASK, minThreads: WORKERS, maxThreads: WORKERS });
const runners = {
  'sequential loop': { run: async () => ranges.map(([s, e]) => [primes.countPrimes(s, e), 0, 0, 0]), close: () => undefined },
  piscina: {
    run: () => Promise.all(ranges.map((range) => piscina.run(range, { name: 'timedCountRange' }))),
    close: () => piscina.destroy(),
  },
  'parapool starmap (this build)': parapoolOf(current.mp),
};
if (BASE !== undefined)
  runners['parapool starmap (--base build)'] = parapoolOf(createRequire(import.meta.url)(path.resolve(BASE, 'index.js')));
const labels = Object.keys(runners);

/** One run's timeline: per range its worker (1, 2 in order of first appearance), start and end, relative to the call. */
function timeline(answers, called, settled) {
  const workers = [];
  const rows = answers.map(([, thread, began, ended], range) => {
    if (!workers.includes(thread)) workers.push(thread);
    return { range, worker: workers.indexOf(thread) + 1, began: began - called, ended: ended - called };
  });
  const byWorker = workers.map((_, w) => rows.filter((row) => row.worker === w + 1).sort((a, b) => a.began - b.began));
  const gaps = byWorker.flatMap((list) => list.slice(1).map((row, i) => row.began - list[i].ended));
  const lastEnds = byWorker.map((list) => list.at(-1).ended).sort((a, b) => a - b);
  return {
    rows,
    firstStart: Math.min(...rows.map((row) => row.began)),
    gap: gaps.length === 0 ? 0 : median(gaps),
    tail: lastEnds.length < 2 ? lastEnds[0] : lastEnds.at(-1) - lastEnds[0],
    end: settled - called - lastEnds.at(-1),
    order: byWorker.map((list) => list.map((row) => row.range).join(',')).join(' | '),
  };
}

const samples = Object.fromEntries(labels.map((label) => [label, { ms: [], lines: [] }]));
for (const label of labels) await runners[label].run();
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[(i + round) % labels.length];
    const called = now();
    const answers = await runners[label].run();
    const settled = now();
    const total = answers.reduce((sum, [count]) => sum + count, 0);
    if (total !== expected) throw new Error(`${label}: ${total} primes, expected ${expected}`);
    samples[label].ms.push(settled - called);
    if (label !== 'sequential loop') samples[label].lines.push(timeline(answers, called, settled));
  }
  process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
}
for (const label of labels) await runners[label].close();

const sequential = median(samples['sequential loop'].ms);
const piscinaSpeedup = sequential / median(samples.piscina.ms);
console.log(`\n${ranges.length} ranges below ${LIMIT}, ${WORKERS} workers, ${ROUNDS} rounds: medians (best run in brackets)\n`);
console.log(
  "| runner | ms | speedup | ÷ piscina's speedup | first start | gap | tail | end | most frequent orders (worker 1 | worker 2) |",
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const label of labels) {
  const { ms, lines } = samples[label];
  const speedup = sequential / median(ms);
  const cells = [`${median(ms).toFixed(1)} (${Math.min(...ms).toFixed(1)})`, label === 'sequential loop' ? '' : `${speedup.toFixed(2)}×`];
  if (lines.length === 0) {
    console.log(`| ${label} | ${cells.join(' | ')} | | | | | | |`);
    continue;
  }
  const orders = new Map();
  for (const line of lines) orders.set(line.order, (orders.get(line.order) ?? 0) + 1);
  const frequent = [...orders]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([order, n]) => `${order} (${n}×)`)
    .join('; ');
  const m = (key) => median(lines.map((line) => line[key])).toFixed(2);
  console.log(
    `| ${label} | ${cells.join(' | ')} | ${(speedup / piscinaSpeedup).toFixed(3)} | ${m('firstStart')} | ${m('gap')} | ${m('tail')} | ${m('end')} | ${frequent} |`,
  );
}
for (const label of labels.slice(1)) {
  for (const line of samples[label].lines.slice(0, SHOW)) {
    console.log(`\n${label}: range worker began–ended (ms from the call)`);
    for (const row of line.rows) console.log(`  ${row.range} w${row.worker} ${row.began.toFixed(1)}–${row.ended.toFixed(1)}`);
  }
}
console.log(`\nload average after: ${loadAverage(', ')}`);
process.exit(0);
