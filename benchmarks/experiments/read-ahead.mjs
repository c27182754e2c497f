#!/usr/bin/env node
// Prototype for issue 11's per-task goal: what piscina's one-task-at-a-time handoff
// costs against a per-worker read-ahead (each worker holds up to DEPTH tasks and runs
// them from its own FIFO, as poolifier does), and whether the read-ahead can keep
// API.md §2's rule that a dying worker fails only the task it was running.
//
//   node benchmarks/experiments/read-ahead.mjs [--rounds 5] [--noop 20000] [--factorial 10000]
//
// Prints the median time of each runner on N no-op tasks and N factorial(1000) tasks,
// all submitted at once (chunksize 1), interleaved round by round with raw piscina and
// poolifier (benchmarks/lib/peers.mjs); then the death check: 2,000 tasks with one that
// kills its worker, at each depth: exactly one task must fail and every other succeed.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildWorkers } from '../lib/build.mjs';
import { createPeer } from '../lib/peers.mjs';
import { median } from '../lib/stats.mjs';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'read-ahead-worker.cjs');
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i === -1 ? fallback : process.argv[i + 1]);
};
const ROUNDS = option('rounds', 5);
const NOOPS = option('noop', 20_000);
const FACTORIALS = option('factorial', 10_000);
const WORKERS = 2;
const files = buildWorkers();

/** A minimal pool: FIFO on the main thread, up to `depth` tasks handed to each worker. */
function createReadAheadPool(workers, depth) {
  const queue = [];
  let head = 0;
  let nextId = 1;
  const slots = [];

  function spawnSlot(index) {
    const started = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER, { workerData: { mathModule: files.js.math, started: started.buffer } });
    // Tasks this worker holds, in the order it runs them.
    const slot = { worker, started, held: [], dead: false };
    worker.on('message', ([id, ok, value]) => {
      const task = slot.held.shift();
      if (task.id !== id) throw new Error('tasks came back out of order');
      if (ok) task.resolve(value);
      else task.reject(new Error(value));
      fill(slot);
    });
    worker.on('exit', (code) => {
      slot.dead = true;
      // The running task is the one whose id the worker stored last, if its result did not come back.
      const last = Atomics.load(started, 0);
      const unstarted = [];
      for (const task of slot.held) {
        if (task.id === last) task.reject(new Error(`worker exited with code ${code}`));
        else unstarted.push(task);
      }
      slot.held = [];
      // Not started: back to the front of the queue, in order, for any worker.
      queue.splice(head, 0, ...unstarted);
      if (!closing) slots[index] = spawnSlot(index);
      for (const other of slots) if (!other.dead) fill(other);
    });
    return slot;
  }
  let closing = false;

  function fill(slot) {
    while (!slot.dead && slot.held.length < depth && head < queue.length) {
      const task = queue[head++];
      slot.held.push(task);
      slot.worker.postMessage([task.id, task.name, task.arg]);
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  for (let i = 0; i < workers; i++) slots.push(spawnSlot(i));
  return {
    run(name, arg) {
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, name, arg, resolve, reject });
        // Least-loaded live worker first.
        let best;
        for (const slot of slots) if (!slot.dead && slot.held.length < depth && (!best || slot.held.length < best.held.length)) best = slot;
        if (best) fill(best);
      });
    },
    async destroy() {
      closing = true;
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
}

async function timeTasks(run, name, arg, count) {
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: count }, () => run(name, arg)));
  const ms = performance.now() - start;
  if (results.length !== count) throw new Error('lost results');
  return ms;
}

const runners = [
  ['piscina', createPeer('piscina', WORKERS)],
  ['poolifier', createPeer('poolifier', WORKERS)],
  ['one at a time (depth 1)', createReadAheadPool(WORKERS, 1)],
  ['read-ahead depth 2', createReadAheadPool(WORKERS, 2)],
  ['read-ahead depth 4', createReadAheadPool(WORKERS, 4)],
  ['read-ahead depth 16', createReadAheadPool(WORKERS, 16)],
];
const samples = new Map(runners.map(([label]) => [label, { noop: [], factorial: [] }]));
for (const [, pool] of runners) {
  await timeTasks(pool.run, 'noop', null, 2_000);
  await timeTasks(pool.run, 'factorial', 1000, 1_000);
}
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < runners.length; i++) {
    const [label, pool] = runners[(i + round) % runners.length];
    samples.get(label).noop.push(await timeTasks(pool.run, 'noop', null, NOOPS));
    samples.get(label).factorial.push(await timeTasks(pool.run, 'factorial', 1000, FACTORIALS));
  }
  process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
}
for (const [, pool] of runners) await pool.destroy();

const piscina = samples.get('piscina');
// Medians, and in brackets the best run (the least disturbed one on a shared machine).
const best = (values) => Math.min(...values);
const poolifier = samples.get('poolifier');
const both = (values, reference) => `${(median(values) / median(reference)).toFixed(2)} (${(best(values) / best(reference)).toFixed(2)})`;
console.log(
  `| runner | ${NOOPS} no-ops (ms) | vs piscina | vs poolifier | ${FACTORIALS} × factorial(1000) (ms) | vs piscina | vs poolifier |`,
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [label, s] of samples) {
  console.log(
    `| ${label} | ${median(s.noop).toFixed(1)} (${best(s.noop).toFixed(1)}) | ${both(s.noop, piscina.noop)} | ${both(s.noop, poolifier.noop)} | ` +
      `${median(s.factorial).toFixed(1)} (${best(s.factorial).toFixed(1)}) | ${both(s.factorial, piscina.factorial)} | ${both(s.factorial, poolifier.factorial)} |`,
  );
}

// The death check: one task kills its worker while others are queued inside it.
console.log('');
for (const depth of [1, 2, 4, 16]) {
  const pool = createReadAheadPool(WORKERS, depth);
  const count = 2_000;
  const outcomes = await Promise.allSettled(Array.from({ length: count }, (_, i) => pool.run(i === 1_000 ? 'die' : 'factorial', 200)));
  const failed = outcomes.filter((o) => o.status === 'rejected').length;
  const ok = outcomes.filter((o) => o.status === 'fulfilled').length;
  console.log(
    `depth ${depth}: ${count} tasks, one kills its worker: ${failed} failed, ${ok} succeeded${failed === 1 && ok === count - 1 ? ' (only the running task failed)' : ' (WRONG)'}`,
  );
  await pool.destroy();
}
process.exit(0);
