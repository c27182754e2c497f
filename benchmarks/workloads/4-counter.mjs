import * as path from 'node:path';
import { compare, expectEqual, finishRow, timed } from '../lib/measure.mjs';
import { BENCH_DIR } from '../lib/build.mjs';
import { runPython } from '../lib/python.mjs';
import { createHandwrittenPool } from '../peers/handwritten-pool.mjs';

export const number = 4;
export const id = 'counter';
export const title = 'Shared counter: Value under its lock, and lock-free add';
export const description =
  "Each of the workers increments one shared `Value('i')` N times: `acquireSync()`, `value += 1`, `release()` " +
  '(Python: `with counter.get_lock(): counter.value += 1`), or the lock-free atomic `add(1)`. Rates are total ' +
  'increments per second, start of the tasks to the last one done; against the hand-written limit (pre-started raw ' +
  "workers woken by Atomics.notify: Drepper's futex mutex around a plain increment, and bare Atomics.add); plus an " +
  'uncontended acquire/release loop in one thread.';

const HANDWRITTEN_LOCKED = 'hand-written futex mutex + increment';
const HANDWRITTEN_ADD = 'hand-written raw Atomics.add';

const TASKS_FILE = path.join(BENCH_DIR, 'tasks', 'shared-state.cjs');

export async function run(ctx) {
  const mp = ctx.parapool.mp;
  const missing = !mp
    ? ctx.parapool.error
    : ['Pool', 'tasks', 'Value']
        .filter((name) => mp[name] === undefined)
        .map((name) => `\`${name}\``)
        .join(', ');
  if (missing) return { skipped: mp ? `parapool does not export ${missing} yet` : missing };
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 5;
  const perWorker = 100_000;
  const uncontended = ctx.quick ? 200_000 : 1_000_000;
  const total = perWorker * ctx.workers;
  const shared = mp.tasks(TASKS_FILE);

  const poolRunner = (label, taskName) => ({
    label,
    setup: async () => {
      const pool = new mp.Pool({ workers: ctx.workers });
      await pool.apply(shared.lockFreeIncrements, [mp.Value('i', 0), 1]);
      return pool;
    },
    sample: async (pool) => {
      const counter = mp.Value('i', 0);
      const { ms } = await timed(() =>
        Promise.all(Array.from({ length: ctx.workers }, () => pool.apply(shared[taskName], [counter, perWorker]))),
      );
      expectEqual(counter.value, total, `${label} total`);
      return total / (ms / 1000);
    },
    teardown: async (pool) => {
      pool.close();
      await pool.join();
    },
  });
  const handwrittenRunner = (label, job) => ({
    label,
    setup: () => createHandwrittenPool(ctx.workers),
    sample: async (pool) => {
      const { ms, value } = await timed(() => pool[job](perWorker));
      expectEqual(value, total, `${label} total`);
      return total / (ms / 1000);
    },
    teardown: (pool) => pool.destroy(),
  });
  const contendedRows = await compare(
    [
      poolRunner('parapool Value + lock', 'lockedIncrements'),
      poolRunner('parapool Value.add (lock-free)', 'lockFreeIncrements'),
      handwrittenRunner(HANDWRITTEN_LOCKED, 'locked'),
      handwrittenRunner(HANDWRITTEN_ADD, 'atomicAdd'),
    ],
    { warmup, repeats, log: ctx.log },
  );

  const uncontendedRows = await compare(
    [
      {
        label: 'parapool RLock acquireSync/release',
        sample: () => {
          const lock = mp.Value('i', 0).getLock();
          const start = performance.now();
          for (let i = 0; i < uncontended; i++) {
            lock.acquireSync();
            lock.release();
          }
          return uncontended / ((performance.now() - start) / 1000);
        },
      },
      ...(mp.Lock
        ? [
            {
              label: 'parapool Lock acquireSync/release',
              sample: () => {
                const lock = new mp.Lock();
                const start = performance.now();
                for (let i = 0; i < uncontended; i++) {
                  lock.acquireSync();
                  lock.release();
                }
                return uncontended / ((performance.now() - start) / 1000);
              },
            },
          ]
        : []),
    ],
    { warmup, repeats, log: ctx.log },
  );

  const groups = [
    {
      title: `${ctx.workers} workers × ${perWorker.toLocaleString('en-US')} increments of one shared Value`,
      unit: 'increments/s',
      better: 'higher',
      reference: 'parapool Value + lock',
      rows: contendedRows,
    },
    {
      title: `uncontended acquire + release in one thread, ${uncontended.toLocaleString('en-US')} times`,
      unit: 'pairs/s',
      better: 'higher',
      reference: 'parapool RLock acquireSync/release',
      rows: uncontendedRows,
    },
  ];
  const notes = [];
  let pythonLocked;
  if (ctx.python) {
    const py = await runPython('counter.py', [ctx.workers, perWorker, uncontended, warmup, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      pythonLocked = finishRow(py.rows[0]);
      groups[0].rows.push(pythonLocked);
      groups[1].rows.push(...py.rows.slice(1).map((row) => finishRow(row)));
      notes.push(`Python ${py.python}: multiprocessing.Value('i', 0) (its default lock is an RLock), ${ctx.workers} Processes.`);
    }
  }
  const ratios = [];
  const [locked, lockFree, handLocked, handAdd] = contendedRows;
  if (!locked.error && !handLocked.error)
    ratios.push({
      label: 'parapool locked rate ÷ hand-written futex mutex rate',
      value: locked.median / handLocked.median,
      goal: '≥ 0.80',
      met: locked.median / handLocked.median >= 0.8,
    });
  if (!lockFree.error && !handAdd.error)
    ratios.push({
      label: 'parapool lock-free add rate ÷ raw Atomics.add rate',
      value: lockFree.median / handAdd.median,
      goal: '≥ 0.90',
      met: lockFree.median / handAdd.median >= 0.9,
    });
  if (pythonLocked && !locked.error)
    ratios.push({
      label: 'parapool locked rate ÷ Python locked rate',
      value: locked.median / pythonLocked.median,
      goal: '≥ 50×',
      met: locked.median / pythonLocked.median >= 50,
    });
  if (pythonLocked && !lockFree.error)
    ratios.push({
      label: 'parapool lock-free rate ÷ Python locked rate',
      value: lockFree.median / pythonLocked.median,
      goal: '≥ 200×',
      met: lockFree.median / pythonLocked.median >= 200,
    });
  const pyUncontended = groups[1].rows.find((row) => row.label.startsWith('Python') && row.label.includes('RLock'));
  if (pyUncontended && !uncontendedRows[0].error)
    ratios.push({
      label: 'parapool RLock uncontended ÷ Python RLock uncontended',
      value: uncontendedRows[0].median / pyUncontended.median,
    });
  return {
    sizes: `${ctx.workers} workers × ${perWorker.toLocaleString('en-US')} increments (${total.toLocaleString('en-US')} in all)`,
    warmup,
    repeats,
    groups,
    ratios,
    notes,
  };
}
