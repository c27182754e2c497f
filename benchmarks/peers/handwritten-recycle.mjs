// The hand-written floor for worker recycling (issue 11): what an expert would write on
// raw worker_threads, no library, for "at most `workers` tasks at once, each worker ends
// after `perChild` tasks". Replacements boot ahead of need, in parallel: a stock of up to
// `workers` spares is kept booting (or booted) from the start, so a slot never waits for
// a boot that could have started earlier; a worker that had its share hands its slot to
// the first booted spare the moment its last result arrives, and is terminated without
// waiting for its exit. What is left is the physical cost: one thread boot (and
// teardown) per `perChild` tasks, on the machine's cores.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'handwritten-recycle-worker.cjs');

/**
 * `{ run(name): Promise<result>, close(): Promise<void> }`: a recycling pool of `workers`
 * slots over `taskModule` (a CommonJS file), each worker retired after `perChild` tasks.
 * `close()` ends every thread, spares included, and resolves when all have exited.
 */
export function createHandwrittenRecycler({ workers, perChild, taskModule, spares = workers }) {
  const booted = []; // spares that finished booting, oldest first
  const slots = []; // { worker, assigned, pending: resolve of the running task | undefined }
  const queue = []; // tasks waiting for a slot: { name, resolve }
  const threads = new Set(); // every thread not yet exited
  let booting = 0;
  let closed = false;

  function boot() {
    booting++;
    const worker = new Worker(WORKER_FILE, { workerData: { taskModule } });
    threads.add(worker);
    worker.once('exit', () => threads.delete(worker));
    worker.once('error', (error) => {
      throw error;
    });
    worker.once('message', () => {
      booting--;
      booted.push(worker);
      pump();
    });
  }

  /** Keeps `workers` spares booting or booted. */
  function restock() {
    while (!closed && booting + booted.length < spares) boot();
  }

  function pump() {
    while (slots.length < workers && booted.length > 0) slots.push({ worker: booted.shift(), assigned: 0, pending: undefined });
    restock();
    for (const slot of slots) {
      if (slot.pending !== undefined || queue.length === 0) continue;
      const { name, resolve } = queue.shift();
      slot.assigned++;
      slot.pending = resolve;
      slot.worker.once('message', (result) => finished(slot, result));
      slot.worker.postMessage(name);
    }
  }

  function finished(slot, result) {
    const resolve = slot.pending;
    slot.pending = undefined;
    if (slot.assigned === perChild) {
      slots.splice(slots.indexOf(slot), 1);
      void slot.worker.terminate();
    }
    pump();
    resolve(result);
  }

  restock();
  return {
    run: (name) =>
      new Promise((resolve) => {
        queue.push({ name, resolve });
        pump();
      }),
    close: async () => {
      closed = true;
      await Promise.all([...threads].map((worker) => worker.terminate()));
    },
  };
}
