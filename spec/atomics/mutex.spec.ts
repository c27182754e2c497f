/**
 * Unit tests of the robust futex mutex (lib/atomics/mutex.ts) on in-memory
 * buffers: the lock steps are driven by hand (each yielded Park is answered
 * here), so every interleaving below is deterministic.
 */
import { threadId } from 'node:worker_threads';
import { runInThisContext } from 'node:vm';
import type { Park, ParkResult, Steps } from '../../lib/atomics/futex';
import { isThreadDead } from '../../lib/atomics/liveness';
import { LIVENESS_SLICE_MS, Mutex, OWNER_ID } from '../../lib/atomics/mutex';

const OWNER_DIED = 0x20000000;
const WAITERS = 0x40000000;

function fresh(): { words: Int32Array; mutex: Mutex } {
  const words = new Int32Array(new SharedArrayBuffer(8));
  return { words, mutex: new Mutex(words, 1, { what: 'test mutex' }) };
}

/** Starts `steps`; returns its first Park, or its result if it never parks. */
function start<T>(steps: Steps<T>): { park?: Park; done?: T } {
  const next = steps.next();
  return next.done ? { done: next.value } : { park: next.value };
}

function answer<T>(steps: Steps<T>, result: ParkResult): { park?: Park; done?: T } {
  const next = steps.next(result);
  return next.done ? { done: next.value } : { park: next.value };
}

/** A thread id that is certainly dead: marks it so through Node's own 'worker' event, with a fake Worker. */
function deadThreadId(id: number): number {
  const { EventEmitter } = require('node:events') as typeof import('node:events');
  const fake = Object.assign(new EventEmitter(), { threadId: id });
  (runInThisContext('process') as NodeJS.EventEmitter).emit('worker', fake);
  fake.emit('exit', 1);
  return id;
}

describe('Mutex (robust three-state futex mutex)', () => {
  it('uncontended: lock writes the owner id, unlock frees it, no park', () => {
    const { words, mutex } = fresh();
    expect(mutex.tryLock()).toBe(true);
    expect(words[1]).toBe(OWNER_ID);
    expect(mutex.ownerThreadId).toBe(threadId);
    expect(mutex.heldByThisThread()).toBe(true);
    expect(mutex.tryLock()).toBe(false);
    mutex.unlock();
    expect(words[1]).toBe(0);
    expect(start(mutex.lockSteps(Number.POSITIVE_INFINITY))).toEqual({ done: 'acquired' });
    mutex.unlock();
  });

  it('contended: the waiter marks WAITERS and parks on that exact word; the unlock frees it and the waiter takes it', () => {
    const { words, mutex } = fresh();
    words[1] = 1000; // held by thread 999 (alive as far as anyone knows)
    const steps = mutex.lockSteps(Number.POSITIVE_INFINITY);
    const first = start(steps);
    expect(first.park).toMatchObject({ words, index: 1, expected: 1000 | WAITERS });
    expect(words[1]).toBe(1000 | WAITERS);
    // A slice passes: still held, parks again.
    expect(answer(steps, 'timed-out').park).toMatchObject({ expected: 1000 | WAITERS });
    // The holder unlocks (another thread would wake us); we retake it, still marked contended.
    words[1] = 0;
    expect(answer(steps, 'ok')).toEqual({ done: 'acquired' });
    expect(words[1]).toBe(OWNER_ID | WAITERS);
    mutex.unlock();
    expect(words[1]).toBe(0);
  });

  it('parks in slices of LIVENESS_SLICE_MS, and times out at its deadline', () => {
    const { words, mutex } = fresh();
    words[1] = 1000;
    const before = performance.now();
    const steps = mutex.lockSteps(before + 10 * LIVENESS_SLICE_MS);
    const { park } = start(steps);
    expect(park!.deadline).toBeLessThanOrEqual(performance.now() + LIVENESS_SLICE_MS);
    expect(park!.deadline).toBeGreaterThanOrEqual(before);
    const expired = mutex.lockSteps(performance.now() - 1);
    expect(start(expired)).toEqual({ done: 'timed-out' });
  });

  it('a dead owner is taken over with OWNER_DIED set, kept WAITERS, cleared by unlock', () => {
    const { words, mutex } = fresh();
    const dead = deadThreadId(2_000_000 - 7);
    expect(isThreadDead(dead)).toBe(true);
    words[1] = (dead + 1) | WAITERS;
    expect(start(mutex.lockSteps(Number.POSITIVE_INFINITY))).toEqual({ done: 'owner-died' });
    expect(words[1]).toBe(OWNER_ID | OWNER_DIED | WAITERS);
    expect(mutex.ownerDied).toBe(true);
    expect(mutex.heldByThisThread()).toBe(true);
    mutex.unlock();
    expect(mutex.ownerDied).toBe(false);
    expect(words[1]).toBe(0);
  });

  it('the owner dies while we wait: the next slice takes it over', () => {
    const { words, mutex } = fresh();
    const id = 2_000_000 - 9;
    words[1] = id + 1;
    const steps = mutex.lockSteps(Number.POSITIVE_INFINITY);
    expect(start(steps).park).toBeDefined();
    deadThreadId(id);
    expect(answer(steps, 'timed-out')).toEqual({ done: 'owner-died' });
  });

  it('isAbandoned takes over a live owner on request; this thread never counts as dead', () => {
    const { words, mutex } = fresh();
    words[1] = OWNER_ID;
    const seen: number[] = [];
    const steps = mutex.lockSteps(Number.POSITIVE_INFINITY, (owner) => {
      seen.push(owner);
      return seen.length === 2;
    });
    expect(start(steps).park).toBeDefined();
    expect(answer(steps, 'timed-out')).toEqual({ done: 'owner-died' });
    expect(seen).toEqual([threadId, threadId]);
    expect(isThreadDead(threadId)).toBe(false);
  });

  it('unlocking an unlocked mutex is ERR_INVALID_STATE and changes nothing', () => {
    const { words, mutex } = fresh();
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => mutex.unlock()).toThrow('Cannot release an unlocked test mutex');
    expect(words[1]).toBe(0);
    expect(mutex.locked()).toBe(false);
    expect(mutex.ownerThreadId).toBeUndefined();
  });

  it('lockSync / lockAsync: uncontended at once, contended until the deadline', async () => {
    const { mutex } = fresh();
    expect(mutex.lockSync()).toBe('acquired');
    expect(mutex.lockSync(performance.now() + 5)).toBe('timed-out');
    expect(await mutex.lockAsync(performance.now() + 5)).toBe('timed-out');
    mutex.unlock();
    expect(await mutex.lockAsync()).toBe('acquired');
    mutex.unlock();
  });

  it('100 async lockers on one thread, 20 rounds: mutual exclusion with exact totals', async () => {
    const { mutex } = fresh();
    for (let round = 0; round < 20; round++) {
      let inside = 0;
      let total = 0;
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          await mutex.lockAsync();
          inside += 1;
          expect(inside).toBe(1);
          await Promise.resolve();
          total += 1;
          inside -= 1;
          mutex.unlock();
        }),
      );
      expect(total).toBe(100);
      expect(mutex.locked()).toBe(false);
    }
  });
});
