// The control block shared by handwritten-pool.mjs and handwritten-worker.mjs: one
// Int32Array over a SharedArrayBuffer. The lock and its value share a cache line (an
// expert keeps what one critical section touches together); the lock-free counter
// sits on a line of its own, away from the words every job touches.
export const CONTROL = {
  GEN: 0, // bumped by the main thread for each job; workers park on it
  JOB: 1, // which job (JOB.*)
  NEXT: 2, // the self-scheduling counter: first item of the next chunk
  CHUNK: 3, // items per chunk
  LENGTH: 4, // items in the map, or increments per worker
  DONE: 5, // workers done with the current job
  LOCK: 16, // byte 64: the futex mutex word
  LOCKED_VALUE: 17, // the value the mutex guards
  ATOMIC_VALUE: 32, // byte 128: the lock-free counter
};
export const CONTROL_WORDS = 48;

export const JOB = { EXIT: 0, BUFFERS: 1, IS_PRIME: 2, LOCKED: 3, ATOMIC_ADD: 4, NOOP: 5 };
