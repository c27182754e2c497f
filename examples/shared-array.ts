/**
 * Python's shared Array tutorial (fill_array): workers fill slices
 * of one shared Array('d'), then compute its prefix sum in place in two
 * parallel passes. Only numbers cross threads; the data stays in shared memory.
 */
import * as path from 'node:path';
import { Array as SharedArrayOf, type Pool, tasks } from 'parapool';
import { since } from './progress';

const shared = tasks<typeof import('../workers/shared')>(path.join(__dirname, '../workers/shared.ts'));

export async function run(pool: Pool): Promise<void> {
  const length = 1_000_000;
  const arr = SharedArrayOf('d', length);
  const count = pool.workers * 2;
  const size = Math.ceil(length / count);
  const slices = Array.from({ length: count }, (_, i) => [i * size, Math.min(length, (i + 1) * size)] as [number, number]);
  console.log(`Fill a shared Array('d', ${length.toLocaleString('en')}) in ${slices.length} slices, then prefix-sum it in place`);

  let start = performance.now();
  await pool.starmap(
    shared.fillArray,
    slices.map(([from, to]) => [arr, from, to, 100] as [typeof arr, number, number, number]),
  );
  console.log(`  filled: arr[0..4] = [${arr.slice(0, 5).join(', ')}] … arr[${length - 1}] = ${arr.get(length - 1)} in ${since(start)}`);

  start = performance.now();
  const totals = await pool.starmap(
    shared.prefixSumSlice,
    slices.map(([from, to]) => [arr, from, to] as [typeof arr, number, number]),
  );
  const offsets = totals.map((_, i) => totals.slice(0, i).reduce((a, b) => a + b, 0));
  await pool.starmap(
    shared.addOffset,
    slices.map(([from, to], i) => [arr, from, to, offsets[i]!] as [typeof arr, number, number, number]),
  );
  // Check against the closed form: sum of (100 + i) for i < k.
  const k = length;
  const expected = 100 * k + (k * (k - 1)) / 2;
  console.log(`  prefix sum: arr[last] = ${arr.get(length - 1)} (expected ${expected}) in ${since(start)}`);
}
