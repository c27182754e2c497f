// Workload 7, start-up and teardown: a new pool to its first result, then shutting it
// down. The only workload that creates pools inside the timed region: that is what
// it measures. Every pool gets the same number of workers, all started eagerly.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BENCH_DIR, BUILD_DIR, buildEsmWorkers } from '../lib/build.mjs';
import { coldStart } from '../lib/cold-start.mjs';
import { compare, expectEqual, finishRow, timed } from '../lib/measure.mjs';
import { createPeer, HungShutdownError, PEER_NAMES } from '../lib/peers.mjs';
import { createHandwrittenRecycler } from '../peers/handwritten-recycle.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 7;
export const id = 'startup';
export const title = 'Start-up and teardown';
export const description =
  'Wall time from `new Pool` to the first no-op result, and from asking the pool to shut down to the ' +
  'workers being gone (parapool: `close()` + `join()`; piscina/tinypool/poolifier: `destroy()`; ' +
  'workerpool: `terminate()`; Python: `close()` + `join()` / `shutdown()`). Then a fresh `node` process to its ' +
  "first result (cold, as a user's script sees it), a `Process` from `start()` to `join()` against a bare " +
  '`new Worker()`, and worker recycling: `maxTasksPerChild: 3` over 100 no-op tasks at chunksize 1, against a hand-written limit on raw worker_threads.';

const PEERS_DIR = path.join(BENCH_DIR, 'peers');
const COLD_START = path.join(PEERS_DIR, 'cold-start.cjs');
const BARE_WORKER = path.join(PEERS_DIR, 'bare-worker.cjs');
const RECYCLE_TASKS = 100;
const TASKS_PER_CHILD = 3;
const RECYCLE_HANDWRITTEN = 'hand-written limit (raw worker_threads, spares booted ahead)';
const ESM_MJS = 'parapool (.mjs task module, "type": "module")';
const ESM_TS = 'parapool (.ts task module, "type": "module")';

/** ms of a bare `new Worker()` that loads the task module and calls its no-op, to its 'exit'. */
function bareWorker(taskModule) {
  return new Promise((resolve, reject) => {
    const begin = performance.now();
    const worker = new Worker(BARE_WORKER, { workerData: { taskModule } });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve(performance.now() - begin) : reject(new Error(`exit code ${code}`))));
  });
}

/**
 * A runner whose sample is the start-up time; teardown times go to `teardowns`. A
 * shutdown that hangs (HungShutdownError) is counted in `hangs` and has no teardown
 * sample; its start-up time still counts.
 */
function lifecycleRunner(label, start, teardowns, hangs) {
  return {
    label,
    sample: async () => {
      const begin = performance.now();
      const { firstResult, stop } = await start();
      await firstResult;
      const ready = performance.now();
      try {
        await stop();
        teardowns.push(performance.now() - ready);
      } catch (error) {
        if (!(error instanceof HungShutdownError)) throw error;
        hangs.set(label, (hangs.get(label) ?? 0) + 1);
      }
      return ready - begin;
    },
  };
}

export async function run(ctx) {
  const warmup = 1;
  const repeats = ctx.quick ? 3 : 10;
  const teardowns = new Map();
  const hangs = new Map();
  const runners = [];
  const add = (label, start) => {
    const samples = [];
    teardowns.set(label, samples);
    runners.push(lifecycleRunner(label, start, samples, hangs));
  };

  const mp = ctx.parapool.mp;
  const parapoolUsable = mp && typeof mp.Pool === 'function' && typeof mp.tasks === 'function';
  const parapoolVariants = [
    ['parapool (.js task module)', ctx.files.js.math],
    ['parapool (.ts task module)', ctx.files.ts.math],
  ];
  for (const [label, file] of parapoolVariants) {
    if (!parapoolUsable) {
      runners.push({ label, setup: () => Promise.reject(new Error(ctx.parapool.error ?? 'no `Pool` export yet')), sample: () => 0 });
      continue;
    }
    add(label, async () => {
      const pool = new mp.Pool({ workers: ctx.workers });
      return {
        firstResult: pool.apply(mp.tasks(file).noop, []),
        stop: async () => {
          pool.close();
          await pool.join();
        },
      };
    });
  }
  for (const name of PEER_NAMES) {
    add(name, async () => {
      const peer = createPeer(name, ctx.workers);
      return { firstResult: peer.run('noop', null), stop: () => peer.destroy() };
    });
  }

  // Pools are torn down inside each sample, so a failed runner leaves nothing behind.
  const startRows = await compare(runners, { warmup, repeats, log: ctx.log });
  const teardownRows = startRows.map((row) => {
    if (row.error) return { label: row.label, error: row.error };
    // The warm-up's teardown is the first one recorded, unless that one hung.
    const recorded = teardowns.get(row.label);
    const samples = recorded.length > repeats ? recorded.slice(recorded.length - repeats) : recorded;
    return finishRow({ label: row.label, samples });
  });

  const groups = [
    {
      title: `new pool (${ctx.workers} workers) → first no-op result`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool (.js task module)',
      rows: startRows,
    },
    {
      title: 'teardown: shut down → all workers gone',
      unit: 'ms',
      better: 'lower',
      reference: 'parapool (.js task module)',
      rows: teardownRows,
    },
  ];
  const coldRows = await compare(coldRunners(ctx, parapoolUsable), { warmup, repeats, log: ctx.log });
  const processRows = await compare(processRunners(ctx, mp), { warmup, repeats: repeats * 2, log: ctx.log });
  // A recycling run restarts a worker every few tasks (seconds per sample today): --quick takes two, unwarmed.
  const recycleRows = await compare(recycleRunners(ctx, mp, parapoolUsable), {
    warmup: ctx.quick ? 0 : warmup,
    repeats: ctx.quick ? 2 : repeats,
    log: ctx.log,
  });
  groups.push(
    {
      title: `cold: fresh \`node\` process → first no-op result (${ctx.workers} workers)`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool (.js task module)',
      rows: coldRows,
    },
    {
      title: 'one Process: start() → join() (a no-op target)',
      unit: 'ms',
      better: 'lower',
      reference: 'parapool Process',
      rows: processRows,
    },
    {
      title: `recycling: maxTasksPerChild ${TASKS_PER_CHILD}, ${RECYCLE_TASKS} no-op tasks at chunksize 1, ${ctx.workers} workers`,
      unit: 'ms',
      better: 'lower',
      reference: `parapool Pool maxTasksPerChild ${TASKS_PER_CHILD}`,
      rows: recycleRows,
    },
  );

  const notes = [
    'Every runner loads the same compiled JavaScript; the `.ts` row runs workers/math.ts itself (compiled once into the parapool cache by `tasks()`, then loaded by each worker from there; on Node.js with type stripping, by Node). The `"type": "module"` cold rows run the same module from a package of ES modules (benchmarks/.build/esm): as `.mjs`, and as `.ts` through parapool\'s module hooks over the same cache.',
    'Cold: from spawning `node benchmarks/peers/cold-start.cjs` to the line it prints at its first result (its shutdown and exit are not timed).',
    'Process: `new Process({ target })`, `start()`, `join()`, against `new Worker(benchmarks/peers/bare-worker.cjs)` (loads the same task module, calls its no-op) to its `exit`.',
    `Recycling: a fresh pool per sample; one untimed \`apply\` first (the workers are up), then the timed \`map\` of ${RECYCLE_TASKS} no-ops; Python the same with \`Pool.apply\` and \`Pool.map(chunksize=1)\`.`,
    `Recycling, ${RECYCLE_HANDWRITTEN}: benchmarks/peers/handwritten-recycle.mjs, no library; up to ${ctx.workers} spares boot in parallel from the start, a worker that had its ${TASKS_PER_CHILD} tasks hands its slot to the first booted spare and is terminated without waiting; the same untimed first task, then ${RECYCLE_TASKS} tasks at once. Its floor is one thread boot per ${TASKS_PER_CHILD} tasks on the machine's cores.`,
  ];
  for (const [label, count] of hangs) {
    notes.push(
      `${label}: shutdown hung (never settled within 5 s) in ${count} of ${warmup + repeats} cycles; those cycles have no teardown sample.`,
    );
  }
  if (ctx.python) {
    const py = await runPython('startup.py', [ctx.workers, warmup, repeats, RECYCLE_TASKS, TASKS_PER_CHILD]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      groups[0].rows.push(...py.rows.filter((row) => row.kind === 'startup').map((row) => finishRow(row)));
      groups[1].rows.push(...py.rows.filter((row) => row.kind === 'teardown').map((row) => finishRow(row)));
      groups[3].rows.push(...py.rows.filter((row) => row.kind === 'process').map((row) => finishRow(row)));
      groups[4].rows.push(...py.rows.filter((row) => row.kind === 'recycle').map((row) => finishRow(row)));
      notes.push(`Python ${py.python} with its default start method (fork on Linux).`);
    }
  }

  const ratios = [];
  const find = (rows, label) => rows.find((row) => row.label === label && !row.error);
  for (const [rows, what] of [
    [startRows, 'start-up'],
    [teardownRows, 'teardown'],
  ]) {
    const parapool = find(rows, 'parapool (.js task module)');
    const piscina = find(rows, 'piscina');
    if (parapool && piscina) {
      const ratio = parapool.median / piscina.median;
      ratios.push(
        what === 'start-up'
          ? { label: 'parapool start-up ÷ raw piscina start-up', value: ratio, goal: '≤ 2', met: ratio <= 2 }
          : { label: 'parapool teardown ÷ raw piscina teardown', value: ratio },
      );
    }
    const tsRow = find(rows, 'parapool (.ts task module)');
    if (what === 'start-up' && tsRow && parapool)
      ratios.push({ label: 'parapool start-up, .ts ÷ .js task module', value: tsRow.median / parapool.median });
  }
  const ratioOf = (rows, label, peerLabel, what, goal) => {
    const ours = find(rows, label);
    const peer = find(rows, peerLabel);
    if (!ours || !peer) return;
    const value = ours.median / peer.median;
    ratios.push({ label: what, value, ...(goal === undefined ? {} : { goal: `≤ ${goal}`, met: value <= goal }) });
  };
  ratioOf(coldRows, 'parapool (.js task module)', 'piscina', 'cold start: parapool ÷ raw piscina', 1.2);
  ratioOf(coldRows, 'parapool (.ts task module)', 'parapool (.js task module)', 'cold start: .ts ÷ .js task module', 1.2);
  ratioOf(coldRows, ESM_TS, ESM_MJS, 'cold start: .ts ÷ .mjs task module, in a "type": "module" package', 1.2);
  ratioOf(processRows, 'parapool Process', 'bare new Worker()', 'Process start → join ÷ bare new Worker()', 1.2);
  ratioOf(
    groups[4].rows,
    `parapool Pool maxTasksPerChild ${TASKS_PER_CHILD}`,
    `Python Pool(${ctx.workers}, maxtasksperchild=${TASKS_PER_CHILD})`,
    `maxTasksPerChild ${TASKS_PER_CHILD}: parapool ÷ Python`,
    2,
  );
  ratioOf(
    groups[4].rows,
    `parapool Pool maxTasksPerChild ${TASKS_PER_CHILD}`,
    RECYCLE_HANDWRITTEN,
    `maxTasksPerChild ${TASKS_PER_CHILD}: parapool ÷ the hand-written limit`,
  );
  ratioOf(
    groups[4].rows,
    RECYCLE_HANDWRITTEN,
    `Python Pool(${ctx.workers}, maxtasksperchild=${TASKS_PER_CHILD})`,
    `maxTasksPerChild ${TASKS_PER_CHILD}: the hand-written limit ÷ Python (thread boots against fork())`,
  );
  return { sizes: `${ctx.workers} workers`, warmup, repeats, groups, ratios, notes };
}

function unusable(label, ctx) {
  return { label, setup: () => Promise.reject(new Error(ctx.parapool.error ?? 'no `Pool` export yet')), sample: () => 0 };
}

/** Fresh node processes: parapool on the .js and the .ts task module, and raw piscina. */
function coldRunners(ctx, parapoolUsable) {
  const library = path.join(BUILD_DIR, 'parapool', 'cjs', 'index.js');
  const workers = String(ctx.workers);
  const runners = [];
  const esm = buildEsmWorkers();
  for (const [label, file] of [
    ['parapool (.js task module)', ctx.files.js.math],
    ['parapool (.ts task module)', ctx.files.ts.math],
    [ESM_MJS, esm.mjs],
    [ESM_TS, esm.ts],
  ]) {
    runners.push(
      parapoolUsable ? { label, sample: () => coldStart([COLD_START, 'parapool', library, file, workers]) } : unusable(label, ctx),
    );
  }
  runners.push({ label: 'piscina', sample: () => coldStart([COLD_START, 'piscina', path.join(PEERS_DIR, 'tasks.mjs'), workers]) });
  return runners;
}

/** One Process to its end, against a bare Worker running the same module. */
function processRunners(ctx, mp) {
  const taskModule = ctx.files.js.math;
  const runners = [{ label: 'bare new Worker()', sample: () => bareWorker(taskModule) }];
  if (!mp || typeof mp.Process !== 'function') runners.unshift(unusable('parapool Process', ctx));
  else {
    const target = mp.tasks(taskModule).noop;
    runners.unshift({
      label: 'parapool Process',
      sample: async () => {
        const { ms } = await timed(async () => {
          const child = new mp.Process({ target });
          child.start();
          await child.join();
          expectEqual(child.exitCode, 0, 'Process exit code');
        });
        return ms;
      },
    });
  }
  return runners;
}

/**
 * A fresh recycling pool per sample; one untimed task first (every worker up), then the timed
 * map; the hand-written limit the same way.
 */
function recycleRunners(ctx, mp, parapoolUsable) {
  const label = `parapool Pool maxTasksPerChild ${TASKS_PER_CHILD}`;
  const items = new Array(RECYCLE_TASKS).fill(0);
  const handwritten = {
    label: RECYCLE_HANDWRITTEN,
    sample: async () => {
      const pool = createHandwrittenRecycler({ workers: ctx.workers, perChild: TASKS_PER_CHILD, taskModule: ctx.files.js.math });
      try {
        await pool.run('noop');
        const { ms, value } = await timed(() => Promise.all(items.map(() => pool.run('noop'))));
        expectEqual(value.length, RECYCLE_TASKS, 'results');
        return ms;
      } finally {
        await pool.close();
      }
    },
  };
  if (!parapoolUsable) return [unusable(label, ctx), handwritten];
  const noop = mp.tasks(ctx.files.js.math).noop;
  return [
    {
      label,
      sample: async () => {
        const pool = new mp.Pool({ workers: ctx.workers, maxTasksPerChild: TASKS_PER_CHILD });
        try {
          await pool.apply(noop, []);
          const { ms, value } = await timed(() => pool.map(noop, items, { chunksize: 1 }));
          expectEqual(value.length, RECYCLE_TASKS, 'results');
          return ms;
        } finally {
          pool.close();
          await pool.join();
        }
      },
    },
    handwritten,
  ];
}
