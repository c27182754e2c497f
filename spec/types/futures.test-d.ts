// Type tests for Executor, Future, asCompleted, wait and Process: compiled by
// `npm run typecheck` (part of `npm test`), never run. An `@ts-expect-error`
// line that stops being an error fails the typecheck.
import {
  asCompleted,
  type Executor,
  type Future,
  Process,
  tasks,
  wait,
  type DoneAndNotDone,
  type ProcessInfo,
  type currentProcess,
} from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertEqual<A, B>(check: Equal<A, B>): void {
  void check;
}

const primes = tasks<typeof import('../../workers/primes')>('workers/primes.ts');
const factorize = tasks<typeof import('../../workers/factorize')>('workers/factorize.ts');

export async function executorTypes(executor: Executor, numbers: number[]): Promise<void> {
  // submit is typed from the task ref, and checks the arguments.
  const flag = executor.submit(primes.isPrime, 7);
  assertEqual<typeof flag, Future<boolean>>(true);
  // @ts-expect-error a wrong argument type
  void executor.submit(primes.isPrime, '7');
  // @ts-expect-error a missing argument
  void executor.submit(primes.countPrimes, 0);
  // An inline function: its own parameter types; async results are unwrapped.
  const text = executor.submit(async (n: number, s: string) => s.repeat(n), 2, 'ab');
  assertEqual<typeof text, Future<string>>(true);

  // A Future is awaitable and its methods are typed.
  assertEqual<Awaited<typeof flag>, boolean>(true);
  assertEqual<ReturnType<typeof flag.result>, Promise<boolean>>(true);
  assertEqual<ReturnType<typeof flag.exception>, Promise<unknown>>(true);

  // map zips one iterable per parameter; an options object may follow.
  const counts = executor.map(primes.countPrimes, [0, 10], [10, 20], { chunksize: 2, timeout: 1000 });
  assertEqual<typeof counts, AsyncIterableIterator<number>>(true);
  // @ts-expect-error the second iterable must hold numbers
  void executor.map(primes.countPrimes, [0], ['10']);
  // @ts-expect-error one iterable per parameter
  void executor.map(primes.countPrimes, [0]);

  // asCompleted yields the futures themselves (not their results), usable as Map keys.
  const inputs = new Map(numbers.map((n) => [executor.submit(factorize.smallestFactor, n), n]));
  for await (const future of asCompleted(inputs)) {
    const input: number | undefined = inputs.get(future);
    const result = await future.result();
    assertEqual<typeof result, [number, number | null]>(true);
    void input;
  }
  const waited = await wait(inputs.keys(), { returnWhen: 'FIRST_EXCEPTION' });
  assertEqual<typeof waited, DoneAndNotDone<Future<[number, number | null]>>>(true);
  // @ts-expect-error returnWhen is one of three names
  void wait(inputs.keys(), { returnWhen: 'FIRST' });
}

export function processTypes(): void {
  // args are checked against the target.
  new Process({ target: primes.countPrimes, args: [0, 100] });
  new Process({ target: (name: string, n: number) => console.log(name, n), args: ['Task-1', 5], daemon: true });
  // @ts-expect-error a wrong argument type
  new Process({ target: primes.countPrimes, args: [0, '100'] });
  // @ts-expect-error target is required
  new Process({ args: [] });
  const p = new Process({ target: primes.isPrime, args: [3] });
  assertEqual<typeof p.exitCode, number | null>(true);
  assertEqual<typeof p.pid, number | undefined>(true);
  assertEqual<ReturnType<typeof currentProcess>, ProcessInfo>(true);
}
