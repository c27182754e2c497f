// Runs a TypeScript file in a raw worker thread under jest (which cannot load
// .ts in workers by itself): register tsx's CommonJS hook, then load the file.
const { workerData } = require('node:worker_threads');
require('tsx/cjs/api').register();
// What every thread entry of parapool does: revive shared types it never imported.
require('../../lib/entry/shared-type-loader.ts');
require(workerData.__tsFile);
