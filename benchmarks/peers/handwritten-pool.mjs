// The hand-written limit (BENCHMARKS.md): the fastest code an expert would write by
// hand on raw worker_threads for the fine map and the shared counter. Workers are
// started once and parked on a futex word; a job is a few words written into a
// shared control block and one Atomics.notify; the map's input and output live in
// SharedArrayBuffers, and the workers take chunks themselves off an atomic counter
// (dynamic self-scheduling, so uneven items still balance), writing results in
// place. The main thread never sees a message: it waits (Atomics.waitAsync, so its
// event loop stays free, as a library's must) until the last worker reports.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { CONTROL, CONTROL_WORDS, JOB } from './handwritten-layout.mjs';

const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'handwritten-worker.mjs');

/** Items per self-scheduled chunk: ~100 chunks per worker on the fine map, far from counter contention. */
export const HANDWRITTEN_CHUNK = 512;

/**
 * Starts `workers` parked threads. Returns `{ mapIsPrime(numbers), locked(n), atomicAdd(n), noop(), destroy() }`;
 * each job resolves when every worker is done with it.
 */
export async function createHandwrittenPool(workers) {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  const channels = Array.from({ length: workers }, () => new MessageChannel());
  const threads = channels.map(
    (channel) =>
      new Worker(WORKER_FILE, {
        workerData: { control: control.buffer, port: channel.port2, workers },
        transferList: [channel.port2],
      }),
  );
  const exited = threads.map((thread) => new Promise((resolve) => thread.once('exit', resolve)));
  let capacity = 0;
  let input;
  let output;

  /** Posts one job and resolves when all workers have reported DONE. */
  async function runJob(job, length = 0, chunk = 0) {
    control[CONTROL.JOB] = job;
    control[CONTROL.LENGTH] = length;
    control[CONTROL.CHUNK] = chunk;
    Atomics.store(control, CONTROL.NEXT, 0);
    Atomics.store(control, CONTROL.DONE, 0);
    Atomics.add(control, CONTROL.GEN, 1);
    Atomics.notify(control, CONTROL.GEN);
    for (;;) {
      const done = Atomics.load(control, CONTROL.DONE);
      if (done === workers) return;
      const wait = Atomics.waitAsync(control, CONTROL.DONE, done);
      if (wait.async) await wait.value;
    }
  }

  function ensureCapacity(length) {
    if (length <= capacity) return Promise.resolve();
    capacity = Math.max(length, capacity * 2);
    input = new Int32Array(new SharedArrayBuffer(capacity * 4));
    output = new Uint8Array(new SharedArrayBuffer(capacity));
    for (const channel of channels) channel.port1.postMessage({ input: input.buffer, output: output.buffer });
    return runJob(JOB.BUFFERS);
  }

  await runJob(JOB.NOOP); // every worker up and parked before the first timed job

  return {
    /** isPrime of each number (int32), as an Array of booleans in input order. */
    async mapIsPrime(numbers) {
      const length = numbers.length;
      await ensureCapacity(length);
      for (let i = 0; i < length; i++) input[i] = numbers[i];
      await runJob(JOB.IS_PRIME, length, HANDWRITTEN_CHUNK);
      const flags = new Array(length);
      for (let i = 0; i < length; i++) flags[i] = output[i] === 1;
      return flags;
    },
    /** `n` increments per worker under the futex mutex; resolves with the total. */
    async locked(n) {
      control[CONTROL.LOCKED_VALUE] = 0;
      await runJob(JOB.LOCKED, n);
      return Atomics.load(control, CONTROL.LOCKED_VALUE);
    },
    /** `n` Atomics.add(…, 1) per worker on one word; resolves with the total. */
    async atomicAdd(n) {
      Atomics.store(control, CONTROL.ATOMIC_VALUE, 0);
      await runJob(JOB.ATOMIC_ADD, n);
      return Atomics.load(control, CONTROL.ATOMIC_VALUE);
    },
    noop: () => runJob(JOB.NOOP),
    async destroy() {
      control[CONTROL.JOB] = JOB.EXIT;
      Atomics.add(control, CONTROL.GEN, 1);
      Atomics.notify(control, CONTROL.GEN);
      await Promise.all(exited);
      for (const channel of channels) channel.port1.close();
    },
  };
}
