/**
 * The seeds' prime counting: the same work sequentially and on a Pool, with
 * the speedup (seeds 001, 002: count_primes over ranges; seed 003: is_prime
 * over 1,000,000..1,100,000 with pool.map).
 */
import { type Pool, tasks } from 'parapool';
import * as path from 'node:path';
import { countPrimes, isPrime } from '../workers/primes';
import { progressBar, since } from './progress';

const primes = tasks<typeof import('../workers/primes')>(path.join(__dirname, '../workers/primes.ts'));

export async function run(pool: Pool): Promise<void> {
  const limit = 2_000_000;
  console.log(`Count the primes below ${limit.toLocaleString('en')}`);

  let start = performance.now();
  const sequential = countPrimes(0, limit);
  const sequentialMs = performance.now() - start;
  console.log(`  sequential: ${sequential} primes in ${since(start)}`);

  // Python: pool.starmap(count_primes, ranges), with 4 ranges per worker.
  const parts = 4 * pool.workers;
  const step = Math.ceil(limit / parts);
  const ranges = Array.from({ length: parts }, (_, i) => [i * step, Math.min(limit, (i + 1) * step)] as [number, number]);
  start = performance.now();
  const counts = await pool.starmap(primes.countPrimes, ranges, { chunksize: 1, onProgress: progressBar('pool.starmap') });
  const parallelMs = performance.now() - start;
  const parallel = counts.reduce((a, b) => a + b, 0);
  console.log(`  pool of ${pool.workers}: ${parallel} primes in ${since(start)}`);
  console.log(
    `  speedup: ${(sequentialMs / parallelMs).toFixed(2)}× on ${pool.workers} workers${parallel === sequential ? '' : '  (MISMATCH!)'}`,
  );

  // Python: pool.map(is_prime, numbers) — one small task per number, chunked for you.
  const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
  start = performance.now();
  const serialFlags = numbers.map(isPrime);
  const serialMs = performance.now() - start;
  start = performance.now();
  const flags = await pool.map(primes.isPrime, numbers);
  const mapMs = performance.now() - start;
  const found = flags.filter(Boolean).length;
  console.log(
    `  pool.map(isPrime) over 1,000,000..1,100,000: ${found} primes in ${mapMs.toFixed(0)} ms ` +
      `(sequential ${serialMs.toFixed(0)} ms${found === serialFlags.filter(Boolean).length ? '' : ', MISMATCH!'})`,
  );
}
