'use strict';
// workerpool's worker: registers the task functions under their names for pool.exec(name, [arg]).
const workerpool = require('workerpool');

workerpool.worker(require('./tasks.cjs'));
