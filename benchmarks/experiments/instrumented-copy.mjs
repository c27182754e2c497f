// A copy of the built library (dist/cjs) with timestamps added from the outside, for
// the experiments in this folder: lib/ itself is not touched. The copy goes to
// benchmarks/.build/experiments/<name>/ (git-ignored):
// - runtime/piscina-adapter.js (pool/pool.js before the runtime refactoring): piscina's
//   `atomics` option set to `atomics` ('sync' is piscina's default);
// - entry/pool-worker.js: each task's response carries `__stamps` = [start, end, threadId] in
//   the worker (absolute ms: performance.timeOrigin + performance.now(), comparable across threads);
// - PiscinaAdapter.run (Dispatcher.start / finished before the refactoring) pushes
//   { dispatched, received, stamps } into the array that `stamps()` returns.
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

  // The piscina options live in runtime/piscina-adapter.js (since the runtime refactoring) or in pool/pool.js (before it).
  const adapterFile = path.join(copy, 'runtime', 'piscina-adapter.js');
  const layered = fs.existsSync(adapterFile);
  const optionsFile = layered ? adapterFile : path.join(copy, 'pool', 'pool.js');
  const optionsSource = fs.readFileSync(optionsFile, 'utf8');
  const marker = 'concurrentTasksPerWorker: ';
  if (!optionsSource.includes(marker))
    throw new Error(`${optionsFile}: no "${marker}" to patch (the runtime changed: update this experiment)`);
  fs.writeFileSync(optionsFile, optionsSource.replace(marker, `atomics: ${JSON.stringify(atomics)}, ${marker}`));

  fs.appendFileSync(
    path.join(copy, 'entry', 'pool-worker.js'),
    `
// ---- added by benchmarks/experiments/instrumented-copy.mjs
const __stampedOriginal = exports.default;
const __threadId = require('node:worker_threads').threadId;
// The export is the handler, or a promise of it (piscina accepts both): wrap either.
exports.default = Promise.resolve(__stampedOriginal).then((handle) => async function stampedHandleTask(request) {
  const start = performance.timeOrigin + performance.now();
  const response = await handle(request);
  const end = performance.timeOrigin + performance.now();
  if (response !== null && typeof response === 'object') response.__stamps = [start, end, __threadId];
  return response;
});
`,
  );

  const records = [];
  if (layered) {
    // LocalDispatcher's methods are private: stamp at the engine it calls, PiscinaAdapter.run.
    const { PiscinaAdapter } = require(adapterFile);
    const { run } = PiscinaAdapter.prototype;
    PiscinaAdapter.prototype.run = function stampedRun(...args) {
      const record = { dispatched: now() };
      records.push(record);
      const response = run.apply(this, args);
      // Attached before the dispatcher's own handlers, so it runs first.
      response.then(
        (value) => {
          record.received = now();
          record.stamps = value?.__stamps;
        },
        () => {
          record.received = now();
        },
      );
      return response;
    };
  } else {
    const { Dispatcher } = require(path.join(copy, 'runtime', 'dispatcher.js'));
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
  }
  return { mp: require(path.join(copy, 'index.js')), stamps: () => records.splice(0) };
}
