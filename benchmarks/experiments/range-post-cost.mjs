#!/usr/bin/env node
// Where the fine map's main-thread time goes at the post of its range jobs (performance.md §2,
// step 3): the time spent inside MessagePort.postMessage per post while `map(isPrime)` over
// 1,000,000..1,100,000 runs at its defaults (one range job per worker, posted on the worker's
// port), against the same kind of message (four SharedArrayBuffer views) posted to a port of
// this thread, where no other thread wakes up.
//
//   npm run build -- --no-check && node benchmarks/experiments/range-post-cost.mjs [--maps 50]
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { buildWorkers } from '../lib/build.mjs';
import { loadParapool } from '../lib/parapool.mjs';
import { loadAverage } from '../lib/machine.mjs';

const at = process.argv.indexOf('--maps');
const MAPS = at === -1 ? 50 : Number(process.argv[at + 1]);
const load = () => loadAverage();
console.log(`load average before: ${load()}`);
const files = buildWorkers();
const { mp, error } = loadParapool();
if (error) throw new Error(error);
const primes = mp.tasks(files.js.primes);
const pool = new mp.Pool({ workers: 2 });
const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
for (let i = 0; i < 20; i++) await pool.map(primes.isPrime, numbers);

const post = MessagePort.prototype.postMessage;
let inPost = 0;
let posts = 0;
MessagePort.prototype.postMessage = function timedPost(message, transferList) {
  const start = performance.now();
  try {
    return post.call(this, message, transferList);
  } finally {
    inPost += performance.now() - start;
    posts++;
  }
};
const start = performance.now();
for (let i = 0; i < MAPS; i++) await pool.map(primes.isPrime, numbers);
const perMap = (performance.now() - start) / MAPS;
MessagePort.prototype.postMessage = post;
console.log(`${MAPS} maps: ${perMap.toFixed(2)} ms per map, ${posts} posts, ${(inPost / posts).toFixed(3)} ms inside each post`);

const { port1, port2 } = new MessageChannel();
port2.on('message', () => undefined);
port2.unref();
const view = (bytes) => new Float64Array(new SharedArrayBuffer(bytes));
let local = 0;
for (let i = 0; i < 200; i++) {
  const message = { input: view(800_000), control: view(32), output: view(800_000), kinds: view(1024) };
  const begin = performance.now();
  port1.postMessage(message);
  local += performance.now() - begin;
}
console.log(`the same kind of message to a port of this thread: ${(local / 200).toFixed(3)} ms per post`);
pool.close();
await pool.join();
console.log(`load average after: ${load()}`);
process.exit(0);
