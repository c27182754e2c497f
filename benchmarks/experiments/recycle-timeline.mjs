#!/usr/bin/env node
// Where the time of worker recycling goes (issue 11): Pool({ workers: 2,
// maxTasksPerChild: 3 }) over 100 no-op tasks at chunksize 1, on the instrumented
// copy of dist/cjs (instrumented-copy.mjs), against the boot of a bare worker.
//
//   npm run build && node benchmarks/experiments/recycle-timeline.mjs [--runs 5]
//
// Per run: wall time, worker threads used, and for each replacement the gap from the
// retired worker's last task end to the first task start on its replacement (the time
// one of the two slots had no worker), and the share of the wall time during which
// at least one slot was without a worker.
import { buildWorkers } from '../lib/build.mjs';
import { median } from '../lib/stats.mjs';
import { instrumentedCopy, now } from './instrumented-copy.mjs';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 5 : Number(process.argv[i + 1]);
const TASKS = 100;
const files = buildWorkers();
const { mp, stamps } = instrumentedCopy('recycle');
const noop = mp.tasks(files.js.math).noop;

async function run() {
  const pool = new mp.Pool({ workers: 2, maxTasksPerChild: 3 });
  await pool.apply(noop, []);
  stamps();
  const t0 = now();
  await pool.map(noop, new Array(TASKS).fill(0), { chunksize: 1 });
  const t1 = now();
  const records = stamps().filter((r) => r.stamps !== undefined);
  pool.close();
  await pool.join();
  const threads = new Map();
  for (const r of records) {
    const [start, end, id] = r.stamps;
    const t = threads.get(id) ?? { first: start, last: end, tasks: 0 };
    t.first = Math.min(t.first, start);
    t.last = Math.max(t.last, end);
    t.tasks++;
    threads.set(id, t);
  }
  // Match each retired worker to the replacement whose first task is the next to start after its end.
  const ordered = [...threads.values()].sort((a, b) => a.first - b.first);
  const gaps = [];
  const taken = new Set();
  for (const old of [...ordered].sort((a, b) => a.last - b.last)) {
    const next = ordered.find((t) => !taken.has(t) && t !== old && t.first > old.last);
    if (next === undefined) continue;
    taken.add(next);
    gaps.push(next.first - old.last);
  }
  const runTimes = records.map((r) => r.stamps[1] - r.stamps[0]);
  const handoffs = records.map((r) => r.stamps[0] - r.dispatched);
  return {
    wall: t1 - t0,
    threads: threads.size,
    'tasks per thread (median)': median([...threads.values()].map((t) => t.tasks)),
    'replacement gap, median': median(gaps),
    'replacement gaps, sum ÷ 2 slots': gaps.reduce((a, b) => a + b, 0) / 2,
    'task run time, median (ms)': median(runTimes),
    'dispatch → task start, median (ms)': median(handoffs),
  };
}

await run();
const all = [];
for (let r = 0; r < RUNS; r++) all.push(await run());
console.log(`Pool({ workers: 2, maxTasksPerChild: 3 }), ${TASKS} no-op tasks at chunksize 1; medians of ${RUNS} runs (ms)\n`);
const fastest = [...all].sort((a, b) => a.wall - b.wall)[0];
for (const key of Object.keys(all[0]))
  console.log(`- ${key}: ${median(all.map((one) => one[key])).toFixed(2)} (fastest run: ${fastest[key].toFixed(2)})`);
process.exit(0);
