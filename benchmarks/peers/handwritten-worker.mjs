// The worker side of the hand-written limit runner (handwritten-pool.mjs): no
// library, no messages on the hot path. The worker parks on the control word GEN
// with Atomics.wait; the main thread writes a job into the control block, bumps GEN
// and calls Atomics.notify. The worker runs the job and adds itself to DONE; the
// last one to finish notifies DONE. New buffers arrive once, over a MessagePort read
// synchronously (receiveMessageOnPort), so the loop never returns to the event loop.
import { createRequire } from 'node:module';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CONTROL, JOB } from './handwritten-layout.mjs';

const require = createRequire(import.meta.url);
// The very same compiled isPrime that every other runner calls.
const { isPrime } = require('../.build/workers/primes.js');

const { control: controlBuffer, port, workers } = workerData;
const control = new Int32Array(controlBuffer);
let input = new Int32Array(0);
let output = new Uint8Array(0);

/** Drepper's mutex #3 ("Futexes Are Tricky"): 0 free, 1 locked, 2 locked with waiters. */
function lock(words, index) {
  let state = Atomics.compareExchange(words, index, 0, 1);
  if (state === 0) return;
  if (state !== 2) state = Atomics.exchange(words, index, 2);
  while (state !== 0) {
    Atomics.wait(words, index, 2);
    state = Atomics.exchange(words, index, 2);
  }
}

function unlock(words, index) {
  if (Atomics.sub(words, index, 1) !== 1) {
    Atomics.store(words, index, 0);
    Atomics.notify(words, index, 1);
  }
}

/** Self-scheduling: take the next chunk of [0, length) off the shared counter until none is left. */
function mapIsPrime() {
  const length = control[CONTROL.LENGTH];
  const chunk = control[CONTROL.CHUNK];
  for (;;) {
    const from = Atomics.add(control, CONTROL.NEXT, chunk);
    if (from >= length) return;
    const to = Math.min(length, from + chunk);
    for (let i = from; i < to; i++) output[i] = isPrime(input[i]) ? 1 : 0;
  }
}

function lockedIncrements(n) {
  for (let i = 0; i < n; i++) {
    lock(control, CONTROL.LOCK);
    control[CONTROL.LOCKED_VALUE] += 1;
    unlock(control, CONTROL.LOCK);
  }
}

function atomicAdds(n) {
  for (let i = 0; i < n; i++) Atomics.add(control, CONTROL.ATOMIC_VALUE, 1);
}

let seen = 0;
for (;;) {
  Atomics.wait(control, CONTROL.GEN, seen);
  seen = Atomics.load(control, CONTROL.GEN);
  const job = control[CONTROL.JOB];
  if (job === JOB.EXIT) break;
  if (job === JOB.BUFFERS) {
    const { message } = receiveMessageOnPort(port) ?? {};
    if (message !== undefined) {
      input = new Int32Array(message.input);
      output = new Uint8Array(message.output);
    }
  } else if (job === JOB.IS_PRIME) mapIsPrime();
  else if (job === JOB.LOCKED) lockedIncrements(control[CONTROL.LENGTH]);
  else if (job === JOB.ATOMIC_ADD) atomicAdds(control[CONTROL.LENGTH]);
  // JOB.NOOP: just report back.
  if (Atomics.add(control, CONTROL.DONE, 1) + 1 === workers) Atomics.notify(control, CONTROL.DONE);
}
port.close();
