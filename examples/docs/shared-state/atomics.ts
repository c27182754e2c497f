// atomics.ts: counters and maxima with no lock at all
import { Pool, type SharedValue, Value, tasks } from 'parapool';

const counters = tasks<typeof import('./workers/hits.js')>(new URL('./workers/hits.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

const hits = Value('i', 0);
const best = Value('i', 0);
const scores = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_007);
await pool.starmap(
  counters.hit,
  scores.map((score): [SharedValue<'i'>, SharedValue<'i'>, number] => [hits, best, score]),
);
console.log(hits.value, best.value); // 10000 10006
