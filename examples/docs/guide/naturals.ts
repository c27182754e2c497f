// naturals.ts: imap reads an infinite input lazily, in order
import { Pool, tasks } from 'parapool';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

function* naturals(): Generator<number> {
  for (let n = 0; ; n++) yield n;
}
let n = -1;
let found = 0;
for await (const flag of pool.imap(primes.isPrime, naturals(), { chunksize: 1000 })) {
  n++;
  if (flag && ++found === 10_000) break; // stops reading naturals() and drops the queued chunks
}
console.log('the 10,000th prime is', n); // the 10,000th prime is 104729
