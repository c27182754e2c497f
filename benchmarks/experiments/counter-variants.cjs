'use strict';
// Task functions of counter-variants.mjs: n increments of a shared Value, each
// variant changing one thing against workload 4's lockedIncrements / lockFreeIncrements.

// Workload 4's own loops, as the baselines: the Value's own lock around `value += 1`, and `add(1)`.
const { lockedIncrements: lockedValue, lockFreeIncrements: valueAdd } = require('../tasks/shared-state.cjs');

/** The same lock, a plain increment of the typed array under it (what the hand-written loop does). */
function lockedView(counter, n) {
  const lock = counter.getLock();
  const view = counter.view;
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    try {
      view[0] += 1;
    } finally {
      lock.release();
    }
  }
  return n;
}

/** The same lock, the increment as `value += 1` does it minus the call and the type check: Atomics.load, then Atomics.store. */
function lockedAtomicView(counter, n) {
  const lock = counter.getLock();
  const view = counter.view;
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    try {
      Atomics.store(view, 0, Atomics.load(view, 0) + 1);
    } finally {
      lock.release();
    }
  }
  return n;
}

/** Atomics.add on the Value's typed array directly. */
function viewAtomicsAdd(counter, n) {
  const view = counter.view;
  for (let i = 0; i < n; i++) Atomics.add(view, 0, 1);
  return n;
}

module.exports = { lockedValue, lockedView, lockedAtomicView, valueAdd, viewAtomicsAdd };
