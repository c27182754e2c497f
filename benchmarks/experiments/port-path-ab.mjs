#!/usr/bin/env node
// The port path (docs/design/performance.md §2, step 2) against another build and the
// peers, in one process, interleaved round by round: N no-op tasks through `map` at
// chunksize 1 (all in flight), 2 workers, on this checkout's build with the port path
// (the default) and without it (`ports: false`: every job through piscina's `run()`),
// on the `--base` build (a copy of another build's dist/cjs, e.g. main's:
// `git stash; npm run build -- --no-check; cp -r dist/cjs /tmp/base; git stash pop`),
// and on raw piscina and poolifier (benchmarks/lib/peers.mjs).
//
//   npm run build -- --no-check && chrt -f 1 node benchmarks/experiments/port-path-ab.mjs --base /tmp/base [--rounds 7] [--noop 20000]
//
// Prints the load average before and after, then per runner the median time of the rounds
// (best round in brackets), its ratio to piscina's and to poolifier's time (medians, best
// rounds in brackets), and the median CPU time of the main thread (from /proc).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BUILD_DIR, buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { createPeer } from '../lib/peers.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const ROUNDS = Number(arg('rounds', 7));
const NOOPS = Number(arg('noop', 20_000));
const BASE = arg('base', undefined);
const WORKERS = 2;
const load = () => loadAverage();
console.log(`load average before: ${load()}`);

const files = buildWorkers();
const current = loadParapool();
if (current.error) throw new Error(current.error);
const require = createRequire(import.meta.url);
const internal = (file) => require(path.join(BUILD_DIR, 'parapool', 'cjs', 'runtime', file));
const { DISPATCHER_FACTORY } = internal('runtime.js');
const { localDispatcher } = internal('piscina-adapter.js');
const throughPiscina = { [DISPATCHER_FACTORY]: (settings) => localDispatcher(settings, { ports: false }) };

const zeros = new Array(NOOPS).fill(0);
const mapOn = (mp, extra = {}) => {
  const pool = new mp.Pool({ workers: WORKERS, ...extra });
  const noop = mp.tasks(files.js.math).noop;
  const close = async () => {
    pool.close();
    await pool.join();
  };
  return { run: () => pool.map(noop, zeros, { chunksize: 1 }), close };
};
const all = (peer) => ({
  run: () => Promise.all(Array.from({ length: NOOPS }, () => peer.run('noop', null))),
  close: () => peer.destroy().catch(() => undefined),
});
const runners = [
  ['piscina run', all(createPeer('piscina', WORKERS))],
  ['poolifier execute', all(createPeer('poolifier', WORKERS))],
  ['parapool map, port path (this build)', mapOn(current.mp)],
  ['parapool map, through piscina (this build, ports: false)', mapOn(current.mp, throughPiscina)],
];
if (BASE !== undefined) runners.push(['parapool map (--base build)', mapOn(require(path.resolve(BASE, 'index.js')))]);

// The main thread's own CPU time (Linux: /proc, in clock ticks of 10 ms).
const STAT = `/proc/self/task/${process.pid}/stat`;
const mainCpuMs = () => {
  if (!fs.existsSync(STAT)) return Number.NaN;
  const fields = fs.readFileSync(STAT, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

async function timed(run) {
  const cpu = mainCpuMs();
  const start = performance.now();
  const results = await run();
  const ms = performance.now() - start;
  if (results.length !== NOOPS) throw new Error(`lost results: ${results.length}`);
  return { ms, cpu: mainCpuMs() - cpu };
}

const samples = new Map(runners.map(([label]) => [label, { ms: [], cpu: [] }]));
for (const [, runner] of runners) await timed(runner.run);
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < runners.length; i++) {
    const [label, runner] = runners[(i + round) % runners.length];
    const { ms, cpu } = await timed(runner.run);
    samples.get(label).ms.push(ms);
    samples.get(label).cpu.push(cpu);
  }
  process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
}
for (const [, runner] of runners) await runner.close();

const best = (values) => Math.min(...values);
const ratio = (values, reference) => `${(median(values) / median(reference)).toFixed(2)} (${(best(values) / best(reference)).toFixed(2)})`;
const piscinaMs = samples.get('piscina run').ms;
const poolifierMs = samples.get('poolifier execute').ms;
console.log(`\n${NOOPS} no-op tasks, ${WORKERS} workers, ${ROUNDS} rounds: median ms (best)\n`);
console.log('| runner | ms | ÷ piscina | ÷ poolifier | main-thread CPU ms |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [label, { ms, cpu }] of samples) {
  console.log(
    `| ${label} | ${median(ms).toFixed(0)} (${best(ms).toFixed(0)}) | ${ratio(ms, piscinaMs)} | ${ratio(ms, poolifierMs)} | ${median(cpu).toFixed(0)} |`,
  );
}
console.log(`\nload average after: ${load()}`);
process.exit(0);
