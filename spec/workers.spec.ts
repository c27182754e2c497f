import { countPrimes, isPrime } from '../workers/primes';
import { factorial, noop, sumOfSquares } from '../workers/math';
import { piSamples } from '../workers/montecarlo';

describe('workers/primes', () => {
  test('isPrime on small numbers, edge cases and large primes', () => {
    const small = Array.from({ length: 30 }, (_, n) => n).filter(isPrime);
    expect(small).toEqual([2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    expect(isPrime(-7)).toBe(false);
    expect(isPrime(1_000_003)).toBe(true);
    expect(isPrime(1_000_001)).toBe(false); // 101 × 9901
    expect(isPrime(999_983 * 999_983)).toBe(false); // a square of a prime: the √n bound must be inclusive
    expect(isPrime(2_147_483_647)).toBe(true); // 2^31 − 1
  });

  test('countPrimes over [start, end) matches the known prime counts', () => {
    expect(countPrimes(0, 100)).toBe(25);
    expect(countPrimes(0, 100_000)).toBe(9_592);
    expect(countPrimes(0, 1_000_000)).toBe(78_498);
    expect(countPrimes(0, 2_000_000)).toBe(148_933);
    expect(countPrimes(2, 3)).toBe(1);
    expect(countPrimes(3, 3)).toBe(0);
    expect(countPrimes(10, 2)).toBe(0);
  });

  test('equal ranges add up to the whole (how the benchmarks split the work)', () => {
    const edges = [0, 250_000, 500_000, 750_000, 1_000_000];
    const parts = edges.slice(1).map((end, i) => countPrimes(edges[i]!, end));
    expect(parts.reduce((a, b) => a + b, 0)).toBe(78_498);
  });

  test("the seeds' fine-grained range 1,000,000..1,100,000 has 7,216 primes", () => {
    let count = 0;
    for (let n = 1_000_000; n < 1_100_000; n++) if (isPrime(n)) count++;
    expect(count).toBe(7_216);
  });
});

describe('workers/math', () => {
  test("sumOfSquares equals Python's sum(i * i for i in range(n)), exactly", () => {
    expect(sumOfSquares(0)).toBe(0n);
    expect(sumOfSquares(1)).toBe(0n);
    expect(sumOfSquares(10)).toBe(285n);
    expect(sumOfSquares(5_000_000)).toBe(41_666_654_166_667_500_000n);
    expect(sumOfSquares(10_000_000)).toBe(333_333_283_333_335_000_000n);
    const n = 3_000_001n; // closed form (n − 1) n (2n − 1) / 6
    expect(sumOfSquares(Number(n))).toBe(((n - 1n) * n * (2n * n - 1n)) / 6n);
  });

  test('sumOfSquares rejects what it cannot compute exactly', () => {
    expect(() => sumOfSquares(-1)).toThrow(RangeError);
    expect(() => sumOfSquares(1.5)).toThrow('got `1.5` (number)');
    expect(() => sumOfSquares(2 ** 27)).toThrow(RangeError);
  });

  test('factorial returns exact bigints', () => {
    expect(factorial(0)).toBe(1n);
    expect(factorial(1)).toBe(1n);
    expect(factorial(5)).toBe(120n);
    expect(factorial(20)).toBe(2_432_902_008_176_640_000n);
    expect(factorial(25)).toBe(15_511_210_043_330_985_984_000_000n);
    const big = factorial(1000);
    expect(big.toString().length).toBe(2_568);
    expect(big.toString().startsWith('402387260077')).toBe(true);
    expect(big % 10n ** 249n).toBe(0n); // 1000! ends in exactly 249 zeros
    expect(big % 10n ** 250n).not.toBe(0n);
    expect(() => factorial(-1)).toThrow(RangeError);
  });

  test('noop returns undefined', () => {
    expect(noop()).toBeUndefined();
  });
});

describe('workers/montecarlo', () => {
  test('piSamples is reproducible for a seed and differs across seeds', () => {
    expect(piSamples(100_000, 42)).toBe(piSamples(100_000, 42));
    expect(piSamples(100_000, 42)).not.toBe(piSamples(100_000, 43));
    expect(piSamples(0, 1)).toBe(0);
  });

  test('piSamples estimates pi', () => {
    const samples = 250_000;
    let hits = 0;
    for (let seed = 0; seed < 4; seed++) hits += piSamples(samples, seed);
    // 10^6 samples: the standard error of the estimate is ≈ 0.0016, so 0.01 is > 6 sigma
    expect(Math.abs((4 * hits) / (4 * samples) - Math.PI)).toBeLessThan(0.01);
  });

  test('piSamples validates its arguments', () => {
    expect(() => piSamples(-1, 1)).toThrow(RangeError);
    expect(() => piSamples(10, 0.5)).toThrow('`seed`');
  });
});
