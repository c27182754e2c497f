// The task modules of examples/as-completed.ts, run directly.
import { factorize, smallestFactor } from '../../workers/factorize';
import { nap, variableComputation } from '../../workers/sleepy';

describe('workers/factorize', () => {
  test("smallestFactor on the seed's ten numbers: one square of a prime, nine primes", () => {
    const numbers = [104729, 1000003, 999983, 7919 * 7919, 1299827, 15485863, 49979687, 67867979, 104395303, 982451653];
    const results = numbers.map(smallestFactor);
    expect(results.filter(([, factor]) => factor !== null)).toEqual([[62710561, 7919]]);
    expect(results.map(([n]) => n)).toEqual(numbers);
  });

  test('small numbers, composites and edge cases', () => {
    expect([0, 1, 2, 3, 4, 9, 15, 49, 97, 1_000_001].map((n) => smallestFactor(n)[1])).toEqual([
      null,
      null,
      null,
      null,
      2,
      3,
      3,
      7,
      null,
      101,
    ]);
    expect(smallestFactor(-8)).toEqual([-8, null]);
  });
});

test('factorize gives the prime factors with repeats, and their product is the number', () => {
  expect(factorize(360)).toEqual([2, 2, 2, 3, 3, 5]);
  expect(factorize(7919 * 7919)).toEqual([7919, 7919]);
  expect(factorize(1_000_003)).toEqual([1_000_003]);
  expect([0, 1].map(factorize)).toEqual([[], []]);
  for (let n = 2; n < 2000; n++) {
    const factors = factorize(n);
    expect(factors.reduce((a, b) => a * b, 1)).toBe(n);
    expect(factors.every((f) => smallestFactor(f)[1] === null)).toBe(true);
  }
});

describe('workers/sleepy', () => {
  test("variableComputation sums 0..iterations-1 exactly, like Python's sum(range(n))", () => {
    expect(variableComputation(3, 1_000_000)).toEqual([3, 1_000_000, 499_999_500_000]);
    expect(variableComputation(0, 0)).toEqual([0, 0, 0]);
  });

  test('without iterations it picks 1,000,000..10,000,000 and the sum matches', () => {
    for (let i = 0; i < 3; i++) {
      const [taskId, iterations, sum] = variableComputation(i);
      expect(taskId).toBe(i);
      expect(iterations).toBeGreaterThanOrEqual(1_000_000);
      expect(iterations).toBeLessThanOrEqual(10_000_000);
      expect(sum).toBe((iterations * (iterations - 1)) / 2);
    }
  });

  test('nap returns its task id', async () => {
    await expect(nap(7, 1)).resolves.toBe(7);
  });
});
