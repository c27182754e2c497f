// results.ts: each task returns its part; the main thread combines them
import { Pool, tasks } from 'parapool';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
await using pool = new Pool({ workers: 2 });
const ranges = Array.from({ length: 10 }, (_, i): [number, number] => [i * 100_000, (i + 1) * 100_000]);

const counts = await pool.starmap(primes.countPrimes, ranges);
const total = counts.reduce((a, b) => a + b, 0);
console.log(total); // 78498 primes below 1,000,000
