// slices.ts: one shared buffer, disjoint slices, no lock
import { Pool, type SharedArray, Array as sharedArray, tasks } from 'parapool';

const fill = tasks<typeof import('./workers/fill.js')>(new URL('./workers/fill.js', import.meta.url));
await using pool = new Pool({ workers: 2 });
const length = 10_000_000;
const slices = Array.from({ length: 8 }, (_, i): [number, number] => [(i * length) / 8, ((i + 1) * length) / 8]);

const arr = sharedArray('d', length); // one shared Float64Array
await pool.starmap(
  fill.slice,
  slices.map(([from, to]): [SharedArray<'d'>, number, number] => [arr, from, to]),
);
console.log(arr.view[9_000_000]); // 3000: every slice is visible once the call resolves
