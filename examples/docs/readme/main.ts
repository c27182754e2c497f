// main.ts (ESM TypeScript): npx tsx main.ts, or tsc (module nodenext) then node main.js
import { Pool, tasks } from 'parapool';

// The .js name finds workers/primes.ts before a build and workers/primes.js after one.
const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));

await using pool = new Pool(); // one worker per core; closed and joined at the end of the scope
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
const flags = await pool.map(primes.isPrime, numbers); // Promise<boolean[]>, chunked for you
const counts = await pool.starmap(primes.countPrimes, [
  [0, 500_000],
  [500_000, 1_000_000],
]); // Promise<number[]>: [41538, 36960]
let found = 0;
for await (const flag of pool.imap(primes.isPrime, numbers, { chunksize: 1_000 })) {
  if (flag) found++; // lazy, in input order
}
const result = pool.applyAsync(primes.countPrimes, [0, 10_000]);
console.log(flags.length, counts, found, await result.get({ timeout: 5_000 })); // 100000 [ 41538, 36960 ] 7216 1229
