// A copy of the built library (dist/cjs) with timestamps added from the outside, for
// the experiments in this folder: lib/ itself is not touched. The copy goes to
// benchmarks/.build/experiments/<name>/ (git-ignored):
// - pool/pool.js: piscina's `atomics` option set to `atomics` ('sync' is piscina's default);
// - entry/pool-worker.js: each task's response carries `__stamps` = [start, end, threadId] in
//   the worker (absolute ms: performance.timeOrigin + performance.now(), comparable across threads);
// - runtime/dispatcher.js: Dispatcher.start / finished push { dispatched, received, stamps }
//   into the array that `stamps()` returns.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BUILD_DIR, ROOT } from '../lib/build.mjs';

const require = createRequire(import.meta.url);

/** Absolute time in ms, comparable between threads. */
export const now = () => performance.timeOrigin + performance.now();

export function instrumentedCopy(name, { atomics = 'sync' } = {}) {
  const built = path.join(ROOT, 'dist', 'cjs');
  if (!fs.existsSync(path.join(built, 'index.js'))) throw new Error('dist/cjs/index.js is missing: run `npm run build`');
  const copy = path.join(BUILD_DIR, 'experiments', name, 'cjs');
  fs.rmSync(copy, { recursive: true, force: true });
  fs.cpSync(built, copy, { recursive: true });

  const poolFile = path.join(copy, 'pool', 'pool.js');
  const poolSource = fs.readFileSync(poolFile, 'utf8');
  const marker = 'concurrentTasksPerWorker: 1,';
  if (!poolSource.includes(marker)) throw new Error(`${poolFile}: no "${marker}" to patch (the runtime changed: update this experiment)`);
  fs.writeFileSync(poolFile, poolSource.replace(marker, `${marker} atomics: ${JSON.stringify(atomics)},`));

  fs.appendFileSync(
    path.join(copy, 'entry', 'pool-worker.js'),
    `
// ---- added by benchmarks/experiments/instrumented-copy.mjs
const __stampedOriginal = exports.default;
const __threadId = require('node:worker_threads').threadId;
exports.default = async function stampedHandleTask(request) {
  const start = performance.timeOrigin + performance.now();
  const response = await __stampedOriginal(request);
  const end = performance.timeOrigin + performance.now();
  if (response !== null && typeof response === 'object') response.__stamps = [start, end, __threadId];
  return response;
};
`,
  );

  const { Dispatcher } = require(path.join(copy, 'runtime', 'dispatcher.js'));
  const records = [];
  const { start, finished } = Dispatcher.prototype;
  Dispatcher.prototype.start = function stampedStart(entry) {
    entry.__record = { dispatched: now() };
    records.push(entry.__record);
    return start.call(this, entry);
  };
  Dispatcher.prototype.finished = function stampedFinished(entry, response, failure) {
    entry.__record.received = now();
    entry.__record.stamps = response?.__stamps;
    return finished.call(this, entry, response, failure);
  };
  return { mp: require(path.join(copy, 'index.js')), stamps: () => records.splice(0) };
}
