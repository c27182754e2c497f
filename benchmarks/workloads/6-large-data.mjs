// Workload 6, large data (seed 003, "shared_memory"): sum a 64 MiB Float64Array with
// every worker taking one slice, end to end. Through SharedMemory nothing is copied;
// the alternative copies each slice to its worker. Raw piscina over a bare
// SharedArrayBuffer shows what the zero-copy path costs without parapool.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { compare } from '../lib/measure.mjs';
import { BENCH_DIR } from '../lib/build.mjs';
import { peerRunners } from '../lib/runners.mjs';

export const number = 6;
export const id = 'large-data';
export const title = 'Large data: summing a 64 MiB Float64Array';
export const description =
  'Sum 8 Mi doubles (64 MiB) split into one slice per worker, end to end: through a `SharedMemory` block that ' +
  'every task attaches to (zero copy), vs `slice()` copies sent to the tasks, vs the sequential loop, vs raw ' +
  'piscina over a bare SharedArrayBuffer.';

const TASKS_FILE = path.join(BENCH_DIR, 'tasks', 'shared-state.cjs');
const BYTES = 64 * 2 ** 20;

export async function run(ctx) {
  const mp = ctx.parapool.mp;
  const missing = !mp
    ? ctx.parapool.error
    : ['Pool', 'tasks', 'SharedMemory']
        .filter((name) => mp[name] === undefined)
        .map((name) => `\`${name}\``)
        .join(', ');
  if (missing) return { skipped: mp ? `parapool does not export ${missing} yet` : missing };
  const warmup = 1;
  const repeats = ctx.quick ? 3 : 7;
  const length = BYTES / 8;
  const shared = mp.tasks(TASKS_FILE);
  const { sumRange } = createRequire(import.meta.url)(TASKS_FILE);

  // The same values in three places: a SharedMemory block, a plain array, a bare SAB.
  const shm = new mp.SharedMemory({ create: true, size: BYTES });
  const inShm = new Float64Array(shm.buf.buffer, shm.buf.byteOffset, length);
  for (let i = 0; i < length; i++) inShm[i] = (i % 1000) * 0.25;
  const plain = new Float64Array(length);
  plain.set(inShm);
  const sab = new SharedArrayBuffer(BYTES);
  new Float64Array(sab).set(inShm);
  const expected = sumRange(plain, 0, length);
  const slices = Array.from({ length: ctx.workers }, (_, i) => [
    Math.floor((i * length) / ctx.workers),
    Math.floor(((i + 1) * length) / ctx.workers),
  ]);
  const check = (parts) => {
    const total = parts.reduce((a, b) => a + b, 0);
    // Slices add in a different order than the one loop: allow rounding, not a lost slice.
    if (Math.abs(total - expected) > Math.abs(expected) * 1e-12) throw new Error(`wrong sum ${total}, expected ${expected}`);
  };
  const timedSum = async (fn) => {
    const start = performance.now();
    check(await fn());
    return performance.now() - start;
  };
  const poolRunner = (label, job) => ({
    label,
    setup: async () => {
      const pool = new mp.Pool({ workers: ctx.workers });
      await pool.apply(shared.sumRange, [[1], 0, 1]);
      return pool;
    },
    sample: (pool) => timedSum(() => job(pool)),
    teardown: async (pool) => {
      pool.close();
      await pool.join();
    },
  });

  let rows;
  try {
    rows = await compare(
      [
        { label: 'sequential loop', sample: () => timedSum(() => [sumRange(plain, 0, length)]) },
        poolRunner('parapool + SharedMemory (zero copy)', (pool) =>
          pool.starmap(
            shared.sumSharedMemory,
            slices.map(([start, end]) => [shm, start, end]),
          ),
        ),
        poolRunner('parapool, slices copied to the tasks', (pool) =>
          pool.starmap(
            shared.sumCopied,
            slices.map(([start, end]) => [plain.slice(start, end)]),
          ),
        ),
        ...peerRunners(
          ctx,
          (runTask) => timedSum(() => Promise.all(slices.map(([start, end]) => runTask('sumSharedBuffer', [sab, start, end])))),
          {
            peers: ['piscina'],
            labels: { piscina: 'raw piscina + SharedArrayBuffer' },
          },
        ),
      ],
      { warmup, repeats, log: ctx.log },
    );
  } finally {
    shm.close();
    shm.unlink();
  }
  const groups = [
    {
      title: `Σ of 64 MiB of doubles in ${slices.length} slices, ${ctx.workers} workers`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool + SharedMemory (zero copy)',
      rows,
    },
  ];
  const ratios = [];
  const [sequential, zeroCopy, copied, raw] = rows;
  if (!zeroCopy.error && !copied.error)
    ratios.push({
      label: 'copied time ÷ SharedMemory time (end to end)',
      value: copied.median / zeroCopy.median,
      goal: '≥ 5×',
      met: copied.median / zeroCopy.median >= 5,
    });
  if (!zeroCopy.error && !sequential.error)
    ratios.push({ label: 'sequential time ÷ SharedMemory time', value: sequential.median / zeroCopy.median });
  if (!zeroCopy.error && raw && !raw.error)
    ratios.push({ label: 'SharedMemory time ÷ raw piscina + SharedArrayBuffer time', value: zeroCopy.median / raw.median });
  return {
    sizes: `${length.toLocaleString('en-US')} doubles (64 MiB), ${slices.length} slices`,
    warmup,
    repeats,
    groups,
    ratios,
    notes: [],
  };
}
