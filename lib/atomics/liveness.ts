/**
 * Which threads of this process have died: what lets a robust mutex (./mutex)
 * hand a lock held by a dead thread to the next acquirer.
 *
 * A thread that is terminated (`worker.terminate()`) runs no more JavaScript,
 * so it cannot report its own death; the thread that created it sees the
 * Worker's `'exit'` event. So every thread that loads this module listens to
 * Node's `process` `'worker'` event (emitted for each Worker it creates) and,
 * when such a Worker exits, sets that thread id's bit in one process-wide
 * bitmap of dead thread ids. The bitmap is a SharedArrayBuffer handed to
 * every Worker through environment data (`setEnvironmentData`, inherited by
 * each Worker created afterwards), so any thread can ask "is thread N dead?"
 * with one read, also while its own event loop is blocked.
 *
 * What this cannot see: the death of a Worker created by a thread that never
 * loaded parapool, and of a Worker whose creator's event loop is not running
 * (a creator blocked in `Atomics.wait` hears about the exit once it runs
 * again). Such a thread counts as alive: a lock it held stays held, as before.
 * Thread ids past the bitmap's range (`MAX_TRACKED_THREAD_ID`) count as alive too.
 */
import { runInThisContext } from 'node:vm';
import { getEnvironmentData, setEnvironmentData, threadId, type Worker } from 'node:worker_threads';

const ENV_KEY = 'parapool:dead-threads';
/** Thread ids below this are tracked: 2^21 bits = 256 KiB, touched only where bits are set. */
export const MAX_TRACKED_THREAD_ID = 2 ** 21;
const LISTENING = Symbol.for('parapool.liveness.listening');

function sharedBitmap(): Int32Array {
  const inherited = getEnvironmentData(ENV_KEY);
  if (Object.prototype.toString.call(inherited) === '[object SharedArrayBuffer]') {
    return new Int32Array(inherited as SharedArrayBuffer);
  }
  const bitmap = new SharedArrayBuffer(MAX_TRACKED_THREAD_ID / 8);
  setEnvironmentData(ENV_KEY, bitmap as never);
  return new Int32Array(bitmap);
}

const dead = sharedBitmap();

/** Whether thread `id` (a `worker_threads.threadId`) is known to have exited. */
export function isThreadDead(id: number): boolean {
  if (id === threadId || id <= 0 || id >= MAX_TRACKED_THREAD_ID) return false;
  // A plain read: a waiter asks again after each park (a synchronizing operation), so a
  // stale answer costs at most one more slice, and the fast path of a contended lock stays light.
  return (dead[id >>> 5]! & (1 << (id & 31))) !== 0;
}

// One listener per thread, however many copies of this module it loads (a
// test runner loads one per test file); the copies share the bitmap above
// because each later copy finds it in this thread's environment data. It goes
// on the main context's `process`: a sandbox such as jest's gives its code a
// copy of `process` on which Node never emits 'worker'. The listener is made in
// that context too, so it outlives the sandbox that installed it.
const realProcess = runInThisContext('process') as NodeJS.Process & { [LISTENING]?: true };
if (realProcess[LISTENING] === undefined) {
  realProcess[LISTENING] = true;
  const listener = runInThisContext(`(dead, limit) => (worker) => {
    // Read now: after the exit, worker.threadId is -1.
    const id = worker.threadId;
    worker.once('exit', () => {
      if (id > 0 && id < limit) Atomics.or(dead, id >>> 5, 1 << (id & 31));
    });
  }`) as (dead: Int32Array, limit: number) => (worker: Worker) => void;
  realProcess.on('worker', listener(dead, MAX_TRACKED_THREAD_ID));
}
