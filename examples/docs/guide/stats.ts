// stats.ts: does a chunksize help? Ask the pool what its tasks did
import { Pool, tasks } from 'parapool';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);

for (const chunksize of [undefined, 100, 10_000]) {
  await using pool = new Pool({ workers: 2 });
  await pool.map(primes.isPrime, numbers, { chunksize });
  const { completed, runTime, waitTime, workers } = pool.stats();
  console.log(
    `chunksize ${chunksize ?? 'default'}: ${completed} tasks, run p50 ${runTime.p50.toFixed(2)} ms,`,
    `wait p99 ${waitTime.p99.toFixed(2)} ms, utilization ${workers.map((w) => w.utilization.toFixed(2)).join(' / ')}`,
  );
}
