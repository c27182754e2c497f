/**
 * `npm run demo`: the Python multiprocessing tutorials' examples, one after another. Each section is also
 * a module of its own in this folder, with a `run()` you can call.
 */
import { Executor, Pool, cpuCount } from 'parapool';
import * as asCompleted from './as-completed';
import * as pi from './pi';
import * as producerConsumer from './producer-consumer';
import * as squaresPipe from './squares-pipe';
import * as primes from './primes';
import * as sharedArray from './shared-array';
import * as sharedCounter from './shared-counter';
import * as sharedMemory from './shared-memory';

async function section(title: string, body: () => Promise<void>): Promise<void> {
  console.log(`\n=== ${title} ===`);
  await body();
}

async function main(): Promise<void> {
  console.log(`parapool demo — Node ${process.version}, ${cpuCount()} CPUs`);
  {
    await using pool = new Pool();
    await section('Pool: primes', () => primes.run(pool));
    await section('Pool: Monte Carlo pi', () => pi.run(pool));
    await section('Shared counter: Value', () => sharedCounter.run(pool));
    await section('Shared array: Array', () => sharedArray.run(pool));
    await section('SharedMemory', () => sharedMemory.run(pool));
    await section('Manager: shared cache, shared dict, over TCP', () => (require('./manager') as typeof import('./manager')).run(pool));
  }
  {
    await using executor = new Executor();
    await section('Executor: asCompleted', () => asCompleted.run(executor));
  }
  await section('Queue: producer and consumers', () => producerConsumer.run());
  await section('Pipe: squares', () => squaresPipe.run());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
