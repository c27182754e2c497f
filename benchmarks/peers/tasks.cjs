'use strict';
// The task functions in the one-argument shape that piscina, tinypool, workerpool and
// poolifier call (each passes a single value), over the very same compiled code of
// workers/*.ts that parapool runs. benchmarks/lib/build.mjs writes ../.build/.
const { isPrime, countPrimes } = require('../.build/workers/primes.js');
const { factorial, noop } = require('../.build/workers/math.js');

module.exports = {
  isPrime: (n) => isPrime(n),
  countPrimes: ([start, end]) => countPrimes(start, end),
  factorial: (n) => factorial(n),
  noop: () => noop(),
  // Manual chunking for the pools that have none: one task per slice of items.
  isPrimeChunk: (numbers) => numbers.map((n) => isPrime(n)),
  // Workload 6's raw baseline: Σ of [start, end) of a Float64Array over a SharedArrayBuffer.
  sumSharedBuffer: ([buffer, start, end]) => {
    const values = new Float64Array(buffer);
    let total = 0;
    for (let i = start; i < end; i++) total += values[i];
    return total;
  },
};
