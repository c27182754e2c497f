'use strict';
// Worker of read-ahead.mjs: a FIFO of tasks inside the worker. Before it runs a task
// it stores the task's id in its shared `started` word, so that if it dies the main
// thread knows which of the tasks it held had started (that one fails, per API.md §2)
// and which had not (those are re-queued on another worker).
const { parentPort, workerData } = require('node:worker_threads');
const { factorial, noop } = require(workerData.mathModule);

const started = new Int32Array(workerData.started);
const tasks = {
  noop: () => noop(),
  factorial: (n) => factorial(n),
  die: () => process.exit(3),
};
const queue = [];
let running = false;

function drain() {
  running = true;
  while (queue.length > 0) {
    const [id, name, arg] = queue.shift();
    Atomics.store(started, 0, id);
    let message;
    try {
      message = [id, true, tasks[name](arg)];
    } catch (error) {
      message = [id, false, String(error)];
    }
    parentPort.postMessage(message);
  }
  running = false;
}

parentPort.on('message', (task) => {
  queue.push(task);
  // Tasks that arrive while it drains are picked up by the same loop.
  if (!running) drain();
});
