'use strict';
// Task functions for workload 9 (manager): like any parapool task module they
// import nothing from parapool; the dict proxy arrives working, revived by the codec.

/** `n` blocking proxy calls from a worker: alternating set and get on a managed dict. */
function syncCalls(d, n) {
  for (let i = 0; i < n; i += 2) {
    d.sync.set('k', i);
    if (d.sync.get('k') !== i) throw new Error('lost write');
  }
  return n;
}

module.exports = { syncCalls };
