#!/usr/bin/env node
// Issue 11's per-task goal, side by side in one process: N no-op tasks through
// parapool's `map` at chunksize 1, `apply` per task and `Executor.submit` (all in
// flight at once), against raw piscina's `run` and poolifier's `execute`, 2 workers,
// interleaved round by round. Needs the built library (`npm run build`).
//
//   node benchmarks/experiments/per-task.mjs [--rounds 7] [--noop 20000] [--depths 1,4]
//
// `--depths`: extra `map` rows on pools at these read-ahead depths (the default pool
// reads ahead READ_AHEAD_DEPTH jobs per worker; depth 1 is piscina's one at a time).
// Prints the load average before and after, then per runner the median time of the
// rounds (best round in brackets), its ratio to piscina's and poolifier's time, and the
// median CPU time of the main thread (what parapool's own layer costs per task).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { BUILD_DIR } from '../lib/build.mjs';
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { createPeer } from '../lib/peers.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i === -1 ? fallback : process.argv[i + 1]);
};
const ROUNDS = option('rounds', 7);
const NOOPS = option('noop', 20_000);
const WORKERS = 2;
const files = buildWorkers();
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const mp = parapool.mp;
const load = () => loadAverage();
console.log(`load average before: ${load()}`);

// The same build's internals (loadParapool's snapshot), to run pools at other read-ahead depths.
const internal = (file) => createRequire(import.meta.url)(path.join(BUILD_DIR, 'parapool', 'cjs', 'runtime', file));
const { DISPATCHER_FACTORY } = internal('runtime.js');
const { localDispatcher } = internal('piscina-adapter.js');
const depthOf = (depth) => ({ [DISPATCHER_FACTORY]: (settings) => localDispatcher(settings, { depth }) });
const DEPTHS = String(process.argv.includes('--depths') ? process.argv[process.argv.indexOf('--depths') + 1] : '1,4')
  .split(',')
  .map(Number);

const pool = new mp.Pool({ workers: WORKERS });
const executor = new mp.Executor({ maxWorkers: WORKERS });
const pools = DEPTHS.map((depth) => [depth, new mp.Pool({ workers: WORKERS, ...depthOf(depth) })]);
const noop = mp.tasks(files.js.math).noop;
const piscina = createPeer('piscina', WORKERS);
const poolifier = createPeer('poolifier', WORKERS);
const zeros = new Array(NOOPS).fill(0);

const all = (call) => Promise.all(Array.from({ length: NOOPS }, call));
const runners = [
  ['piscina run', () => all(() => piscina.run('noop', null))],
  ['poolifier execute', () => all(() => poolifier.run('noop', null))],
  ['parapool map (chunksize 1)', () => pool.map(noop, zeros, { chunksize: 1 })],
  ['parapool apply per task', () => all(() => pool.apply(noop, []))],
  ['parapool Executor.submit', () => all(() => executor.submit(noop))],
  ...pools.map(([depth, other]) => [`parapool map (chunksize 1), depth ${depth}`, () => other.map(noop, zeros, { chunksize: 1 })]),
];

// The main thread's own CPU time (Linux: /proc, in clock ticks of 10 ms), which other
// processes on a shared machine do not inflate as they do the wall time.
const STAT = `/proc/self/task/${process.pid}/stat`;
const mainCpuMs = () => {
  if (!fs.existsSync(STAT)) return Number.NaN;
  const fields = fs.readFileSync(STAT, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

async function timed(fn) {
  const cpu = mainCpuMs();
  const start = performance.now();
  const results = await fn();
  const ms = performance.now() - start;
  if (results.length !== NOOPS) throw new Error(`lost results: ${results.length}`);
  return { ms, cpu: mainCpuMs() - cpu };
}

const samples = new Map(runners.map(([label]) => [label, []]));
const cpuSamples = new Map(runners.map(([label]) => [label, []]));
for (const [, fn] of runners) await timed(fn);
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < runners.length; i++) {
    const [label, fn] = runners[(i + round) % runners.length];
    const { ms, cpu } = await timed(fn);
    samples.get(label).push(ms);
    cpuSamples.get(label).push(cpu);
  }
  process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
}
for (const each of [pool, ...pools.map(([, other]) => other)]) {
  each.close();
  await each.join();
}
await executor.shutdown({ wait: true });
await piscina.destroy();
await poolifier.destroy().catch(() => undefined);

const best = (values) => Math.min(...values);
const ratio = (values, reference) => `${(median(values) / median(reference)).toFixed(2)} (${(best(values) / best(reference)).toFixed(2)})`;
const piscinaMs = samples.get('piscina run');
const poolifierMs = samples.get('poolifier execute');
console.log(`\n${NOOPS} no-op tasks, ${WORKERS} workers, ${ROUNDS} rounds: median ms (best)\n`);
console.log('| runner | ms | ÷ piscina | ÷ poolifier | main-thread CPU ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [label, values] of samples) {
  console.log(
    `| ${label} | ${median(values).toFixed(0)} (${best(values).toFixed(0)}) | ${ratio(values, piscinaMs)} | ${ratio(values, poolifierMs)} | ` +
      `${median(cpuSamples.get(label)).toFixed(0)} |`,
  );
}
console.log(`\nload average after: ${load()}`);
process.exit(0);
