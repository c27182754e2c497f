// executor.ts: concurrent.futures, one to one
import { Executor, asCompleted, tasks, wait } from 'parapool';

const factorize = tasks<typeof import('./workers/factorize.js')>(new URL('./workers/factorize.js', import.meta.url));
const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
const numbers = [112_272_535_095_293, 112_582_705_942_171, 115_280_095_190_773, 1_099_726_899_285_419];

await using executor = new Executor({ maxWorkers: 2 });
const futures = new Map(numbers.map((n) => [executor.submit(factorize.factorize, n), n]));
for await (const future of asCompleted(futures.keys(), { timeout: 60_000 })) {
  console.log(futures.get(future), '=', (await future.result()).join(' × ')); // in completion order
}
for await (const flag of executor.map(primes.isPrime, numbers, { chunksize: 100 })) {
  console.log(flag); // in input order
}
const { done, notDone } = await wait(futures.keys(), { timeout: 1000, returnWhen: 'FIRST_EXCEPTION' });
console.log(done.size, notDone.size); // 4 0
