'use strict';
// The worker side of the hand-written recycling floor (handwritten-recycle.mjs): loads
// the task module while it boots, says so, then answers each task (the name of a
// function of that module) with its result. The main thread ends it after its share.
const { parentPort, workerData } = require('node:worker_threads');

const tasks = require(workerData.taskModule);
parentPort.on('message', (name) => parentPort.postMessage(tasks[name]()));
parentPort.postMessage('ready');
