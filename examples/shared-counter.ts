/**
 * Python's shared counter tutorial: workers × 100,000
 * increments of one shared int, under the Value's lock and lock-free. The total
 * is exact either way; the time of each is printed.
 */
import * as path from 'node:path';
import { type Pool, Value, tasks } from 'parapool';
import { since } from './progress';

const shared = tasks<typeof import('../workers/shared')>(path.join(__dirname, '../workers/shared.ts'));

export async function run(pool: Pool): Promise<void> {
  const n = 100_000;
  const expected = pool.workers * n;
  console.log(`${pool.workers} workers × ${n.toLocaleString('en')} increments of one Value('i')`);

  const locked = Value('i', 0);
  let start = performance.now();
  await pool.starmap(
    shared.incrementLocked,
    Array.from({ length: pool.workers }, () => [locked, n] as [typeof locked, number]),
  );
  console.log(
    `  with counter.getLock(): ${locked.value.toLocaleString('en')} (expected ${expected.toLocaleString('en')}) in ${since(start)}`,
  );

  const atomic = Value('i', 0);
  start = performance.now();
  await pool.starmap(
    shared.incrementAtomic,
    Array.from({ length: pool.workers }, () => [atomic, n] as [typeof atomic, number]),
  );
  console.log(
    `  lock-free counter.add(1): ${atomic.value.toLocaleString('en')} (expected ${expected.toLocaleString('en')}) in ${since(start)}`,
  );
}
