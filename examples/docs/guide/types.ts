// types.ts: the task's signature checks every call
import { Pool, tasks } from 'parapool';

const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

const flags = await pool.map(primes.isPrime, [7, 8]); // boolean[]
// @ts-expect-error the items are checked: string is not assignable to number
await pool.map(primes.isPrime, ['7']).catch(() => 'rejected in the worker: "7" is not a number');
const counts = await pool.starmap(primes.countPrimes, [
  [0, 10],
  [10, 20],
]); // number[], each tuple checked against (start: number, end: number)
console.log(flags, counts); // [ true, false ] [ 4, 4 ]
