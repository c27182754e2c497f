// Runs a TypeScript file in a raw worker thread under jest (which cannot load
// .ts in workers by itself): the TypeScript hook of parapool's own threads, then the file.
const { workerData } = require('node:worker_threads');
require('../../lib/entry/dev-hook.cjs');
// What every thread entry of parapool does: revive shared types it never imported.
require('../../lib/entry/shared-type-loader.ts');
require(workerData.__tsFile);
