/**
 * Python's `as_completed` tutorial example on an Executor:
 *
 * - the factorization exercise: submit one call per number, keep a Map from
 *   future to input (Python's `{executor.submit(f, n): n for n in numbers}`),
 *   print each result as it completes;
 * - variable-duration tasks printed as they complete;
 * - error handling: one call fails, the others still report.
 *
 * Run on its own with `npx tsx examples/as-completed.ts` (after `npm run build`).
 */
import * as path from 'node:path';
import { asCompleted, Executor, tasks, type Future } from 'parapool';
import { since } from './progress';

const factorize = tasks<typeof import('../workers/factorize')>(path.join(__dirname, '../workers/factorize.ts'));
const sleepy = tasks<typeof import('../workers/sleepy')>(path.join(__dirname, '../workers/sleepy.ts'));

/** The tutorial's ten numbers: eight primes, one square of a prime, and 104729 (the 10,000th prime). */
const NUMBERS = [104729, 1000003, 999983, 7919 * 7919, 1299827, 15485863, 49979687, 67867979, 104395303, 982451653];

export async function run(executor: Executor): Promise<void> {
  console.log(`Smallest factors with submit() + asCompleted(), in completion order (${executor.maxWorkers} workers)`);
  let start = performance.now();
  const inputs = new Map(NUMBERS.map((n) => [executor.submit(factorize.smallestFactor, n), n]));
  for await (const future of asCompleted(inputs)) {
    const [n, factor] = await future.result();
    console.log(`  ${String(n).padStart(9)}: ${factor === null ? 'prime' : `smallest factor = ${factor}`}   (input ${inputs.get(future)})`);
  }
  console.log(`  all ${inputs.size} in ${since(start)}`);

  console.log('\nVariable-duration tasks, printed as they complete');
  start = performance.now();
  const taskIds = new Map<Future<[number, number, number]>, number>();
  for (let taskId = 0; taskId < 10; taskId++) taskIds.set(executor.submit(sleepy.variableComputation, taskId), taskId);
  for await (const future of asCompleted(taskIds)) {
    try {
      const [taskId, iterations] = await future.result();
      console.log(`  Task ${taskId}: ${iterations.toLocaleString('en')} iterations`);
    } catch (error) {
      console.log(`  Task ${taskIds.get(future)} failed: ${(error as Error).message}`);
    }
  }
  console.log(`  done in ${since(start)}`);

  console.log('\nErrors come back with their future: task 5 raises, the others report');
  const risky = new Map<Future<number>, number>();
  for (let x = 0; x < 10; x++) {
    const future = executor.submit((value: number) => {
      if (value === 5) throw new RangeError(`Cannot process ${value}`);
      return value ** 2;
    }, x);
    risky.set(future, x);
  }
  const lines: string[] = [];
  for await (const future of asCompleted(risky)) {
    const error = await future.exception();
    lines.push(
      error === undefined
        ? `  Task ${risky.get(future)}: ${await future.result()}`
        : `  Task ${risky.get(future)} failed: ${(error as Error).message}`,
    );
  }
  console.log(lines.join('\n'));
}

if (require.main === module) {
  (async () => {
    await using executor = new Executor();
    await run(executor);
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
