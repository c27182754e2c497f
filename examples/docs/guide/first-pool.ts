// first-pool.ts (ESM TypeScript): npx tsx first-pool.ts
import { Pool, tasks } from 'parapool';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));

await using pool = new Pool(); // one worker per core; closed and joined at the end of the scope
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
const flags = await pool.map(primes.isPrime, numbers); // boolean[], in input order
console.log(flags.filter(Boolean).length, 'primes'); // 7216 primes
