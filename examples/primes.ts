/**
 * Prime counting, as in Python's multiprocessing tutorials: the same work
 * sequentially and on a Pool, with the speedup (count_primes over ranges with
 * starmap; is_prime over 1,000,000..1,100,000 with pool.map). Both sides are
 * warmed up before timing (the workers started, the functions compiled).
 */
import { type Pool, tasks } from 'parapool';
import * as path from 'node:path';
import { countPrimes, isPrime } from '../workers/primes';
import { progressBar, since } from './progress';

const primes = tasks<typeof import('../workers/primes')>(path.join(__dirname, '../workers/primes.ts'));

export async function run(pool: Pool): Promise<void> {
  const limit = 2_000_000;
  console.log(`Count the primes below ${limit.toLocaleString('en')}`);

  // Warm both sides: compile the functions in this thread, start and warm every worker.
  countPrimes(0, 200_000);
  await pool.starmap(
    primes.countPrimes,
    Array.from({ length: pool.workers * 2 }, (_, i) => [i * 100_000, (i + 1) * 100_000] as [number, number]),
    { chunksize: 1 },
  );
  await pool.map(
    primes.isPrime,
    Array.from({ length: 20_000 }, (_, i) => i),
  );

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
    `  pool.map(isPrime) over 1,000,000..1,100,000: ${found} primes in ${mapMs.toFixed(1)} ms ` +
      `(sequential ${serialMs.toFixed(1)} ms${found === serialFlags.filter(Boolean).length ? '' : ', MISMATCH!'})`,
  );
  // The rule of thumb: parallelise only when a unit of work costs more than sending it.
  const perItemUs = (serialMs * 1000) / numbers.length;
  if (mapMs >= serialMs) {
    console.log(
      `  one isPrime costs about ${perItemUs.toFixed(2)} µs, less than sending it to a worker and back: ` +
        `here the loop wins (${(mapMs / serialMs).toFixed(1)}× faster than pool.map). Parallelise only when a unit ` +
        'of work costs more than shipping it: give each task a range (as starmap above), or more work per item.',
    );
  } else {
    console.log(
      `  one isPrime costs about ${perItemUs.toFixed(2)} µs; chunked, pool.map still gains ${(serialMs / mapMs).toFixed(2)}× ` +
        'on this machine, but a unit of work this small barely pays for shipping it: ranges (as starmap above) gain more.',
    );
  }
}
