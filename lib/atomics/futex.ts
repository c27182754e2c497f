/**
 * The plumbing every synchronization primitive shares: where a primitive's
 * words live, how a thread parks on a word and is woken, timeouts, and the
 * three-state futex mutex that Lock, RLock and Barrier are built on.
 *
 * Each algorithm is written once, as a generator that yields `Park` requests
 * ("sleep until word `index` is no longer `expected`, or until `deadline`").
 * `runSync` serves those requests with `Atomics.wait` (blocks the thread) and
 * `runAsync` with `Atomics.waitAsync` (never blocks the event loop), so the
 * `…Sync` and async forms of a call cannot drift apart.
 */
import { threadId } from 'node:worker_threads';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { checkBoolean, checkInteger, checkOptions, checkTimeout, describeValue, invalidArg } from '../validate';

/** Word 0 of every primitive holds its type tag, so attaching to the wrong memory fails loudly. */
export const TAG_WORD = 0;

/** One tag per primitive: ASCII of a short name, never 0 (fresh memory is 0). */
export const TAGS = {
  Lock: 0x4c4f434b, // 'LOCK'
  RLock: 0x524c434b, // 'RLCK'
  Semaphore: 0x53454d41, // 'SEMA'
  BoundedSemaphore: 0x42534d41, // 'BSMA'
  Condition: 0x434f4e44, // 'COND'
  Event: 0x45564e54, // 'EVNT'
  Barrier: 0x42415252, // 'BARR'
} as const;

export type PrimitiveName = keyof typeof TAGS;

/** A primitive's memory: a window of Int32 words in a SharedArrayBuffer. */
export interface Region {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly words: Int32Array;
}

/**
 * Where to create a primitive instead of in a new SharedArrayBuffer of its own.
 * @example
 * const memory = new SharedArrayBuffer(Lock.SIZE + Event.SIZE);
 * const lock = new Lock({ buffer: memory });
 * const done = new Event({ buffer: memory, byteOffset: Lock.SIZE });
 */
export interface Placement {
  /** The memory to create the primitive in; its bytes `[byteOffset, byteOffset + SIZE)` are overwritten. */
  readonly buffer?: SharedArrayBuffer;
  /**
   * Where the primitive starts in `buffer`; a multiple of 4.
   * @default 0
   */
  readonly byteOffset?: number;
}

function checkWindow(kind: PrimitiveName, size: number, buffer: unknown, byteOffset: unknown): Region & { buffer: SharedArrayBuffer } {
  // Checked by tag, not instanceof: a buffer cloned into another realm (vm context) is still shared memory.
  if (Object.prototype.toString.call(buffer) !== '[object SharedArrayBuffer]') {
    throw invalidArg('buffer', 'a SharedArrayBuffer', buffer);
  }
  const shared = buffer as SharedArrayBuffer;
  const offset = checkInteger('byteOffset', byteOffset, 0);
  if (offset % 4 !== 0) throw invalidArg('byteOffset', 'a multiple of 4', byteOffset);
  if (offset + size > shared.byteLength) {
    throw new InvalidArgumentError(
      `Expected \`buffer\` to hold a ${kind} (${size} bytes) at byteOffset ${offset}, but it is only ${shared.byteLength} bytes long`,
    );
  }
  return { buffer: shared, byteOffset: offset, words: new Int32Array(shared, offset, size / 4) };
}

/**
 * Memory for a new primitive: a fresh SharedArrayBuffer, or the window that
 * `placement` names (zeroed). The caller writes its initial words, then `seal`s.
 */
export function createRegion(kind: PrimitiveName, size: number, placement: Placement | undefined): Region {
  const options = checkOptions('options', placement);
  if (options.buffer === undefined) {
    if (options.byteOffset !== undefined && options.byteOffset !== 0) {
      throw invalidArg('byteOffset', '0 or undefined when no `buffer` is given', options.byteOffset);
    }
    const buffer = new SharedArrayBuffer(size);
    return { buffer, byteOffset: 0, words: new Int32Array(buffer) };
  }
  const region = checkWindow(kind, size, options.buffer, options.byteOffset ?? 0);
  region.words.fill(0);
  return region;
}

/** Writes the type tag last, so a half-initialized primitive never looks valid. */
export function seal(kind: PrimitiveName, region: Region): void {
  Atomics.store(region.words, TAG_WORD, TAGS[kind]);
}

/**
 * The memory of an existing primitive.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when the window is out of range or holds no `kind`.
 */
export function attachRegion(kind: PrimitiveName, size: number, buffer: unknown, byteOffset: unknown): Region {
  const region = checkWindow(kind, size, buffer, byteOffset);
  const tag = Atomics.load(region.words, TAG_WORD);
  if (tag !== TAGS[kind]) {
    const found = Object.entries(TAGS).find(([, value]) => value === tag)?.[0];
    throw new InvalidArgumentError(
      `Expected \`buffer\` to hold a ${kind} at byteOffset ${region.byteOffset}, found ${found === undefined ? `tag 0x${(tag >>> 0).toString(16)}` : `a ${found}`}`,
    );
  }
  return region;
}

/** What a primitive sends through the codec: where its memory is. */
export interface RegionDescriptor {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

// ---------------------------------------------------------------- parking

/** "Sleep while `words[index] === expected`, at most until `deadline` (a `performance.now()` time)." */
export interface Park {
  words: Int32Array;
  index: number;
  expected: number;
  deadline: number;
}

/** `'ok'`: woken by a notify; `'not-equal'`: the word had already changed; `'timed-out'`. */
export type ParkResult = 'ok' | 'not-equal' | 'timed-out';

/** An algorithm that may park: yields `Park`s, receives their results, returns `T`. */
export type Steps<T> = Generator<Park, T, ParkResult>;

export function park(words: Int32Array, index: number, expected: number, deadline: number): Park {
  return { words, index, expected, deadline };
}

/** The `performance.now()` time at which `timeout` ms from now run out; `Infinity` for no timeout. */
export function deadlineAfter(timeout: number | undefined): number {
  return timeout === undefined || timeout === Infinity ? Infinity : performance.now() + timeout;
}

function remaining(deadline: number): number {
  return deadline === Infinity ? Infinity : deadline - performance.now();
}

/** Runs `steps`, blocking the calling thread in `Atomics.wait` whenever it parks. */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    const request = next.value;
    let result: ParkResult;
    // 'timed-out' only once the deadline has really passed: the timeout is
    // recomputed from the deadline if the wait returns early.
    do {
      const timeout = remaining(request.deadline);
      result = timeout <= 0 ? 'timed-out' : Atomics.wait(request.words, request.index, request.expected, timeout);
    } while (result === 'timed-out' && remaining(request.deadline) > 0);
    next = steps.next(result);
  }
  return next.value;
}

// A pending Atomics.waitAsync does not keep Node's event loop alive, so a
// process whose only work is an async waiter would exit under it. While any
// async waiter of this thread waits, one ref'd (and otherwise idle) interval
// holds the loop open.
let asyncWaiters = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;
const KEEP_ALIVE_PERIOD = 2 ** 30;

function holdLoop(): void {
  if (asyncWaiters++ === 0) keepAlive = setInterval(() => {}, KEEP_ALIVE_PERIOD);
}

function releaseLoop(): void {
  if (--asyncWaiters === 0) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

// `Atomics.waitAsync` is in Node 20 but not in the ES2023 lib this project compiles against.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (
  Atomics as unknown as {
    waitAsync(words: Int32Array, index: number, expected: number, timeout: number): WaitAsyncResult;
  }
).waitAsync;

async function parkAsync(request: Park): Promise<ParkResult> {
  for (;;) {
    const timeout = remaining(request.deadline);
    if (timeout <= 0) return 'timed-out';
    const wait = waitAsync(request.words, request.index, request.expected, timeout);
    let result: ParkResult;
    if (wait.async) {
      holdLoop();
      try {
        result = await wait.value;
      } finally {
        releaseLoop();
      }
    } else {
      result = wait.value;
    }
    if (result !== 'timed-out' || remaining(request.deadline) <= 0) return result;
  }
}

/** Runs `steps` without ever blocking the event loop: it parks in `Atomics.waitAsync`. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await parkAsync(next.value));
  return next.value;
}

/** Wakes up to `count` threads parked on `words[index]`. */
export function wake(words: Int32Array, index: number, count = Infinity): void {
  Atomics.notify(words, index, count);
}

// ---------------------------------------------------------------- options

/**
 * Options of every `acquire` / `acquireSync`.
 * @example
 * await lock.acquire({ timeout: 250 });     // false after 250 ms
 * lock.acquireSync({ blocking: false });    // one try
 */
export interface AcquireOptions {
  /**
   * Wait for the primitive (`true`), or only try once and return at once (`false`).
   * @default true
   */
  readonly blocking?: boolean;
  /**
   * The most milliseconds to wait; `Infinity` or `undefined` waits forever. Not allowed with `blocking: false`.
   * @default undefined
   */
  readonly timeout?: number;
}

/**
 * Options of every `wait` / `waitSync`.
 * @example
 * await event.wait({ timeout: 1000 });      // false after 1 s
 */
export interface WaitOptions {
  /**
   * The most milliseconds to wait; `Infinity` or `undefined` waits forever.
   * @default undefined
   */
  readonly timeout?: number;
}

/** Validates acquire options: returns the deadline, or `undefined` for a non-blocking try. */
export function acquireDeadline(options: AcquireOptions | undefined): number | undefined {
  const { blocking, timeout } = checkOptions('options', options);
  const wait = checkBoolean('blocking', blocking) ?? true;
  const ms = checkTimeout('timeout', timeout);
  if (!wait) {
    if (ms !== undefined) {
      throw new InvalidArgumentError(`Expected no \`timeout\` with \`blocking: false\`, got ${describeValue(timeout)}`);
    }
    return undefined;
  }
  return deadlineAfter(ms);
}

/** Validates wait options: returns the timeout in ms (`undefined`: none). */
export function waitTimeout(options: WaitOptions | undefined): number | undefined {
  return checkTimeout('timeout', checkOptions('options', options).timeout);
}

// ---------------------------------------------------------------- the mutex

/** This thread's id as stored in owner words: `worker_threads.threadId + 1`, so 0 means "no owner". */
export const OWNER_ID = threadId + 1;

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

/** One compare-and-swap: takes the mutex at `words[index]` if it is free. */
export function tryLockWord(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, UNLOCKED, LOCKED) === UNLOCKED;
}

/**
 * Takes the mutex at `words[index]`, parking until `deadline`; returns false on timeout.
 *
 * Ulrich Drepper, "Futexes Are Tricky" (2011), mutex #3: the word is 0
 * (unlocked), 1 (locked, nobody waits) or 2 (locked, someone may wait). A
 * waiter always marks the word 2 before it sleeps, so the unlocker knows it
 * must wake one; an uncontended lock and unlock touch the word once each and
 * never call `Atomics.notify`.
 *
 * No spinning before parking: measured on this 2-core machine (2 workers ×
 * 100,000 lock/increment/unlock, 9 runs each, medians), spinning 0 / 100 /
 * 1,000 times gave 8.2–9.1 / 8.5–15.2 / 9.1–10.3 ms with an empty critical
 * section and 24–26 / 24–28 / 26–31 ms with a 30-step one: no gain, and
 * spinning burns a core that another thread on a busy machine needs.
 */
export function* lockWordSteps(words: Int32Array, index: number, deadline: number): Steps<boolean> {
  let state = Atomics.compareExchange(words, index, UNLOCKED, LOCKED);
  if (state === UNLOCKED) return true;
  if (state !== CONTENDED) state = Atomics.exchange(words, index, CONTENDED);
  while (state !== UNLOCKED) {
    // 'not-equal' and 'ok' both mean "look again"; a waiter that times out is
    // off the wait list before any notify can pick it, so no wake-up is lost.
    if ((yield park(words, index, CONTENDED, deadline)) === 'timed-out') return false;
    state = Atomics.exchange(words, index, CONTENDED);
  }
  return true;
}

/**
 * Frees the mutex at `words[index]` (mutex #3's unlock, as a compare-and-swap
 * loop so that freeing a free mutex is detected, not corrupted). `wakeAll`
 * wakes every waiter instead of one (each retakes the mutex in turn, marking it
 * contended again): for an internal mutex that one thread may wait for both
 * asynchronously and blocked, where the one woken could be its async waiter.
 * @throws InvalidStateError (`ERR_INVALID_STATE`) when it is not locked.
 */
export function unlockWord(words: Int32Array, index: number, what: string, wakeAll = false): void {
  let state = Atomics.load(words, index);
  for (;;) {
    if (state === UNLOCKED) throw new InvalidStateError(`Cannot release an unlocked ${what}`);
    const seen = Atomics.compareExchange(words, index, state, UNLOCKED);
    if (seen === state) break;
    state = seen;
  }
  if (state === CONTENDED) wake(words, index, wakeAll ? Infinity : 1);
}

export function isLockedWord(words: Int32Array, index: number): boolean {
  return Atomics.load(words, index) !== UNLOCKED;
}

// ---------------------------------------------------------------- Condition ↔ lock

/** Internal hooks a Condition uses on its lock (Python's `_is_owned`, `_release_save`, `_acquire_restore`). */
export const IS_OWNED = Symbol('parapool.sync.isOwned');
export const RELEASE_SAVE = Symbol('parapool.sync.releaseSave');
export const ACQUIRE_RESTORE = Symbol('parapool.sync.acquireRestore');

export interface ConditionLock {
  [IS_OWNED](): boolean;
  /** Releases the lock completely; returns what `ACQUIRE_RESTORE` needs to take it back. */
  [RELEASE_SAVE](): number;
  [ACQUIRE_RESTORE](saved: number): Steps<void>;
}
