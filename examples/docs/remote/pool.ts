import { Executor, Pool, tasks } from 'parapool';
import { redisBackend } from 'parapool/remote';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
const backend = redisBackend({
  connection: 'rediss://parapool:secret@redis.internal:6380', // or ioredis options
  queue: 'primes',
  root: import.meta.dirname, // task modules are named by their path under root
  authkey: process.env.PARAPOOL_KEY!, // the workers read the same key from --authkey-file
  backendTimeout: 10_000, // Redis unreachable this long → ERR_BACKEND (default 10 s)
});
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
await using pool = new Pool({ backend });
while (pool.workers === 0) await new Promise((r) => setTimeout(r, 100)); // optional: wait for workers
const flags = await pool.map(primes.isPrime, numbers);
console.log(flags.filter(Boolean).length, 'primes');
await using ex = new Executor({ backend });
console.log(await ex.submit(primes.countPrimes, 0, 1_000));
