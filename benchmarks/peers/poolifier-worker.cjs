'use strict';
// poolifier's worker: a ThreadWorker over the named task functions, for pool.execute(arg, name).
const { ThreadWorker } = require('poolifier');

module.exports = new ThreadWorker(require('./tasks.cjs'));
