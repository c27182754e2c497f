'use strict';
// Task functions for the shared-state workloads (4, 5, 6). Like any parapool task
// module they import nothing from parapool: Value, Queue and SharedMemory arrive as
// working objects over the same memory, revived by the codec.

/** `n` increments of a shared Value under its lock (Python: `with v.get_lock(): v.value += 1`). */
function lockedIncrements(counter, n) {
  const lock = counter.getLock();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    try {
      counter.value += 1;
    } finally {
      lock.release();
    }
  }
  return n;
}

/** `n` lock-free atomic increments. */
function lockFreeIncrements(counter, n) {
  for (let i = 0; i < n; i++) counter.add(1);
  return n;
}

/** Puts `n` small objects on the queue, blocking when it is full. */
function produce(queue, n) {
  for (let i = 0; i < n; i++) queue.putSync({ id: i, value: i * 0.5, name: 'item' });
  return n;
}

/** Takes `n` objects off the queue; returns the sum of their ids (a checksum). */
function consume(queue, n) {
  let idSum = 0;
  for (let i = 0; i < n; i++) idSum += queue.getSync().id;
  return idSum;
}

/** Sends back each of `n` objects received: the far end of a round trip. */
function echo(inbox, outbox, n) {
  for (let i = 0; i < n; i++) outbox.putSync(inbox.getSync());
  return n;
}

function sumRange(values, start, end) {
  let total = 0;
  for (let i = start; i < end; i++) total += values[i];
  return total;
}

/** Σ of elements [start, end) of a Float64Array laid over a SharedMemory block: nothing is copied. */
function sumSharedMemory(shm, start, end) {
  try {
    const values = new Float64Array(shm.buf.buffer, shm.buf.byteOffset, shm.size / 8);
    return sumRange(values, start, end);
  } finally {
    shm.close();
  }
}

/** Σ of a Float64Array that was copied to this worker. */
function sumCopied(values) {
  return sumRange(values, 0, values.length);
}

module.exports = { lockedIncrements, lockFreeIncrements, produce, consume, echo, sumRange, sumSharedMemory, sumCopied };
