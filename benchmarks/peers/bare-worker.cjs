'use strict';
// Workload 7's floor for Process start → join: a bare `new Worker()` on this file,
// which loads the same compiled task module that the parapool Process runs and calls
// its no-op, then ends.
const { workerData } = require('node:worker_threads');

require(workerData.taskModule).noop();
