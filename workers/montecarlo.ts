/**
 * Monte Carlo estimate of π, the seeds' `monte_carlo_pi` (tutorial 002), with a seedable
 * generator so that a run can be repeated exactly, in any thread and any order.
 */

/**
 * mulberry32 (Tommy Ettinger, 2017): a 32-bit state PRNG with a Weyl-sequence step and
 * an xorshift-multiply output mix. Small, fast, and good enough for sampling; not for
 * cryptography. Returns floats in [0, 1).
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws `samples` points uniformly in the unit square and returns how many fall inside
 * the quarter circle x² + y² ≤ 1; π ≈ 4 × hits / samples. The same `seed` gives the same
 * count; give each task its own seed (`seed + taskIndex`) so that tasks sample
 * different points.
 *
 * @example
 * const hits = piSamples(1_000_000, 42);
 * const pi = (4 * hits) / 1_000_000; // ≈ 3.14
 */
export function piSamples(samples: number, seed: number): number {
  if (!Number.isSafeInteger(samples) || samples < 0) {
    throw new RangeError(`Expected \`samples\` to be an integer ≥ 0, got \`${samples}\` (${typeof samples})`);
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Expected \`seed\` to be an integer, got \`${seed}\` (${typeof seed})`);
  }
  const random = mulberry32(seed);
  let hits = 0;
  for (let i = 0; i < samples; i++) {
    const x = random();
    const y = random();
    if (x * x + y * y <= 1) hits++;
  }
  return hits;
}
