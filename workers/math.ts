/**
 * Small CPU-bound arithmetic tasks: the seeds' sum of squares (tutorial 000's
 * `cpu_task`, tutorial 002's `compute_heavy`), the BigInt factorial that poolifier's
 * benchmark uses as its unit of work, and a no-op for measuring round-trip cost.
 */

/**
 * Largest running total we let a float accumulate before flushing it into the BigInt
 * total: below 2^53 every integer is exact, and one more square (< 2^47 for n < 2^23.5)
 * cannot push it past 2^53.
 */
const FLUSH_AT = 2 ** 52;

/**
 * Σ i² for i in [0, n), exactly, like Python's `sum(i * i for i in range(n))`: the
 * total exceeds 2^53 from n ≈ 300,000 on, so it is returned as a `bigint`. The loop adds
 * in a float while that stays exact and flushes into a BigInt only when needed, so the
 * work is the seeds' plain loop, not BigInt arithmetic.
 *
 * @example
 * sumOfSquares(10); // 285n
 * sumOfSquares(10_000_000); // 333333283333335000000n
 */
export function sumOfSquares(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 26) {
    throw new RangeError(`Expected \`n\` to be an integer from 0 to 2^26, got \`${n}\` (${typeof n})`);
  }
  let total = 0n;
  let partial = 0;
  for (let i = 0; i < n; i++) {
    partial += i * i;
    if (partial >= FLUSH_AT) {
      total += BigInt(partial);
      partial = 0;
    }
  }
  return total + BigInt(partial);
}

/**
 * n! as a `bigint`, by the plain product loop that poolifier's benchmark runs as its
 * per-task work (`factorial(1000)` is a few tens of microseconds).
 *
 * @example
 * factorial(20); // 2432902008176640000n
 */
export function factorial(n: number): bigint {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Expected \`n\` to be an integer ≥ 0, got \`${n}\` (${typeof n})`);
  }
  let product = 1n;
  for (let i = 2n, last = BigInt(n); i <= last; i++) product *= i;
  return product;
}

/**
 * Does nothing and returns `undefined`: a task whose cost is only the pool's own
 * round trip.
 *
 * @example
 * await pool.apply(math.noop); // undefined
 */
export function noop(): void {}
