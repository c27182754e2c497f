/**
 * Prime counting, the CPU-bound workload of the seeds (`is_prime` / `count_primes` in
 * tutorials 001, 002 and 003). Plain functions: this module runs in a worker thread
 * as a task module and knows nothing about parapool.
 */

/**
 * Whether `n` is prime, by trial division over the odd numbers up to √n: the seeds'
 * `is_prime` (tutorial 003, "Pool.map() - The Workhorse"), kept deliberately naive so
 * that every peer and Python run exactly the same amount of work.
 *
 * @example
 * isPrime(1_000_003); // true
 */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n === 2) return true;
  if (n % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(n));
  for (let divisor = 3; divisor <= limit; divisor += 2) {
    if (n % divisor === 0) return false;
  }
  return true;
}

/**
 * How many primes lie in the half-open range [`start`, `end`), like the seeds'
 * `count_primes(start, end)` over `range(start, end)`.
 *
 * @example
 * countPrimes(0, 100_000); // 9592
 */
export function countPrimes(start: number, end: number): number {
  let count = 0;
  for (let n = start; n < end; n++) {
    if (isPrime(n)) count++;
  }
  return count;
}
