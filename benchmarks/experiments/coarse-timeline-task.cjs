'use strict';
// The task of coarse-timeline.mjs: workload 1's countPrimes over one range, answering with
// the count, the thread that ran it, and when (ms since the epoch, comparable across threads).
const { threadId } = require('node:worker_threads');
const { countPrimes } = require('../.build/workers/primes.js');

const now = () => performance.timeOrigin + performance.now();

function timedCount(start, end) {
  const began = now();
  const count = countPrimes(start, end);
  return [count, threadId, began, now()];
}

module.exports = {
  // parapool's starmap shape: the range's bounds as two arguments.
  timedCount,
  // piscina's shape: one value.
  timedCountRange: ([start, end]) => timedCount(start, end),
};
