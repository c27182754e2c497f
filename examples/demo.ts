/**
 * `npm run demo`: the seeds' examples, one after another, on one Pool.
 * Each section is also a module of its own in this folder.
 */
import * as os from 'node:os';
import { Pool } from 'parapool';
import * as pi from './pi';
import * as primes from './primes';

async function main(): Promise<void> {
  console.log(`parapool demo — Node ${process.version}, ${os.availableParallelism()} CPUs\n`);
  {
    await using pool = new Pool();
    await primes.run(pool);
    console.log();
    await pi.run(pool);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
