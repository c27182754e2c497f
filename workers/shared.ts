/**
 * Task functions of the shared-state demos (seed 001 "Value and Array", seed
 * 003 "Part 5 - Shared Memory"). They receive parapool's shared objects as
 * arguments and work on the same memory as the main thread.
 */
import { SharedMemory, type SharedArray, type SharedValue } from 'parapool';

/** The seeds' increment_counter: `n` increments, each under the Value's own lock. */
export function incrementLocked(counter: SharedValue<'i'>, n: number): void {
  const lock = counter.getLock();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    try {
      counter.value += 1;
    } finally {
      lock.release();
    }
  }
}

/** The same with the lock-free atomic add (no lock at all). */
export function incrementAtomic(counter: SharedValue<'i'>, n: number): void {
  for (let i = 0; i < n; i++) counter.add(1);
}

/** The seeds' fill_array, on the slice [from, to): arr[i] = start + i. */
export function fillArray(arr: SharedArray<'d'>, from: number, to: number, start: number): void {
  const view = arr.view;
  for (let i = from; i < to; i++) view[i] = start + i;
}

/** Step 1 of a parallel prefix sum: in-place running sums of [from, to); returns the slice's total. */
export function prefixSumSlice(arr: SharedArray<'d'>, from: number, to: number): number {
  const view = arr.view;
  let running = 0;
  for (let i = from; i < to; i++) {
    running += view[i]!;
    view[i] = running;
  }
  return running;
}

/** Step 2: add the sum of every earlier slice to [from, to). */
export function addOffset(arr: SharedArray<'d'>, from: number, to: number, offset: number): void {
  const view = arr.view;
  for (let i = from; i < to; i++) view[i]! += offset;
}

/** The seed's worker_process: attach to a block by name and do `arr = arr * 2 + 1` in place. */
export function doubleAndIncrement(name: string, length: number): void {
  const block = new SharedMemory({ name });
  const values = new Float64Array(block.buf.buffer, block.buf.byteOffset, length);
  for (let i = 0; i < length; i++) values[i] = values[i]! * 2 + 1;
  block.close();
}

/** Sums [from, to) of the Float64 values in a shared block: nothing is copied. */
export function sumShared(block: SharedMemory, from: number, to: number): number {
  const values = new Float64Array(block.buf.buffer, block.buf.byteOffset, block.size / 8);
  let total = 0;
  for (let i = from; i < to; i++) total += values[i]!;
  return total;
}

/** Sums values that were copied to the worker. */
export function sumCopied(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}
