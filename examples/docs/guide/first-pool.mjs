// first-pool.mjs (plain JavaScript, ESM): node first-pool.mjs
import { Pool, tasks } from 'parapool';

const primes = tasks(new URL('./workers/primes.js', import.meta.url));

const pool = new Pool();
try {
  const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
  const flags = await pool.map(primes.isPrime, numbers);
  console.log(flags.filter(Boolean).length, 'primes'); // 7216 primes
} finally {
  pool.close(); // refuse new calls
  await pool.join(); // wait for accepted ones and for the workers to exit
}
