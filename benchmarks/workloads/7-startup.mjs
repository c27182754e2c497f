// Workload 7, start-up and teardown: a new pool to its first result, then shutting it
// down. The only workload that creates pools inside the timed region: that is what
// it measures. Every pool gets the same number of workers, all started eagerly.
import { compare, finishRow } from '../lib/measure.mjs';
import { createPeer, HungShutdownError, PEER_NAMES } from '../lib/peers.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 7;
export const id = 'startup';
export const title = 'Start-up and teardown';
export const description =
  'Wall time from `new Pool` to the first no-op result, and from asking the pool to shut down to the ' +
  'workers being gone (parapool: `close()` + `join()`; piscina/tinypool/poolifier: `destroy()`; ' +
  'workerpool: `terminate()`; Python: `close()` + `join()` / `shutdown()`).';

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
  const notes = [
    'Every runner loads the same compiled JavaScript; the `.ts` row runs workers/math.ts itself, compiled in each worker on the fly.',
  ];
  for (const [label, count] of hangs) {
    notes.push(
      `${label}: shutdown hung (never settled within 5 s) in ${count} of ${warmup + repeats} cycles; those cycles have no teardown sample.`,
    );
  }
  if (ctx.python) {
    const py = await runPython('startup.py', [ctx.workers, warmup, repeats]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      groups[0].rows.push(...py.rows.filter((row) => row.kind === 'startup').map((row) => finishRow(row)));
      groups[1].rows.push(...py.rows.filter((row) => row.kind === 'teardown').map((row) => finishRow(row)));
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
  return { sizes: `${ctx.workers} workers`, warmup, repeats, groups, ratios, notes };
}
