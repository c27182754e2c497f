/**
 * The seeds' factorization exercise (tutorial 002, Exercise 3): the smallest
 * factor of a number by trial division. Plain functions: this module runs in a
 * worker thread as a task module and knows nothing about parapool.
 */

/**
 * `[n, its smallest factor]`, or `[n, null]` when `n` is prime (or below 2):
 * the seed's `smallest_factor(n)`, trial division over 2..⌊√n⌋.
 *
 * @example
 * smallestFactor(7919 * 7919); // [62710561, 7919]
 * smallestFactor(1_000_003);   // [1000003, null]
 */
export function smallestFactor(n: number): [number, number | null] {
  if (n < 2) return [n, null];
  const limit = Math.floor(Math.sqrt(n));
  for (let divisor = 2; divisor <= limit; divisor++) {
    if (n % divisor === 0) return [n, divisor];
  }
  return [n, null];
}

/**
 * The prime factors of `n` in ascending order, with repeats (`[]` below 2), by
 * trial division: what `smallestFactor` does, carried on to the end.
 *
 * @example
 * factorize(360);        // [2, 2, 2, 3, 3, 5]
 * factorize(1_000_003);  // [1000003]
 */
export function factorize(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  for (let divisor = 2; divisor * divisor <= rest; divisor++) {
    while (rest % divisor === 0) {
      factors.push(divisor);
      rest /= divisor;
    }
  }
  if (rest >= 2) factors.push(rest);
  return factors;
}
