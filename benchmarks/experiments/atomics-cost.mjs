#!/usr/bin/env node
// What one Atomics.load / Atomics.store costs against a plain typed-array access on this Node.js
// (docs/design/performance.md §7): one thread, 2·10⁷ accesses of an Int32Array over a
// SharedArrayBuffer per loop, three rounds, nanoseconds per access.
//
//   node benchmarks/experiments/atomics-cost.mjs
import { loadAverage } from '../lib/machine.mjs';

const N = 2e7;
const view = new Int32Array(new SharedArrayBuffer(64));
const loops = {
  'Atomics.load': () => {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += Atomics.load(view, 0);
    return sum;
  },
  'plain load': () => {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += view[0];
    return sum;
  },
  'Atomics.store': () => {
    for (let i = 0; i < N; i++) Atomics.store(view, 0, i);
    return 0;
  },
  'plain store': () => {
    for (let i = 0; i < N; i++) view[0] = i;
    return 0;
  },
};
console.log(`load average before: ${loadAverage(', ')}`);
console.log('\n| access | ns, round 1 | round 2 | round 3 |\n| --- | ---: | ---: | ---: |');
const rows = Object.fromEntries(Object.keys(loops).map((name) => [name, []]));
for (let round = 0; round < 3; round++) {
  for (const [name, loop] of Object.entries(loops)) {
    const start = process.hrtime.bigint();
    loop();
    rows[name].push((Number(process.hrtime.bigint() - start) / N).toFixed(2));
  }
}
for (const [name, values] of Object.entries(rows)) console.log(`| ${name} | ${values.join(' | ')} |`);
console.log(`\nload average after: ${loadAverage(', ')}`);
