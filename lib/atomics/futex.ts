/**
 * The plumbing every synchronization primitive shares: where a primitive's
 * words live, how a thread parks on a word and is woken, and timeouts. The
 * mutex built on it is in ./mutex.
 *
 * Each algorithm is written once, as a generator that yields `Park` requests
 * ("sleep until word `index` is no longer `expected`, or until `deadline`").
 * `runSync` serves those requests with `Atomics.wait` (blocks the thread) and
 * `runAsync` with `Atomics.waitAsync` (never blocks the event loop), so the
 * `…Sync` and async forms of a call cannot drift apart.
 */
import { InvalidArgumentError } from '../errors';
import { types } from 'node:util';
import { deadlineOf } from '../timers';
import { checkBoolean, checkInteger, checkTimeout, describeValue, invalidArg } from '../validate';

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
  // Not instanceof: a buffer cloned into another realm (vm context) is still shared memory.
  if (!types.isSharedArrayBuffer(buffer)) throw badArgument('buffer', 'a SharedArrayBuffer', buffer);
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
  const options = readOptions('options', placement, ['buffer', 'byteOffset']);
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
export const deadlineAfter: (timeout: number | undefined) => number = deadlineOf;

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
  if (options === undefined) return Number.POSITIVE_INFINITY;
  const { blocking, timeout } = readOptions('options', options, ['blocking', 'timeout']);
  refuseProxy('blocking', 'a boolean', blocking);
  refuseProxy('timeout', 'a number of milliseconds', timeout);
  const wait = checkBoolean('blocking', blocking) ?? true;
  const ms = checkTimeout('timeout', timeout);
  if (!wait) {
    // Python's sentinel `timeout=-1` goes with `blocking=False`; any other timeout contradicts it.
    if (ms !== undefined && !((timeout as number) < 0)) {
      throw new InvalidArgumentError(`Expected no \`timeout\` with \`blocking: false\`, got ${describeValue(timeout)}`);
    }
    return undefined;
  }
  return deadlineAfter(ms);
}

/** Validates wait options: returns the timeout in ms (`undefined`: none). */
export function waitTimeout(options: WaitOptions | undefined): number | undefined {
  const { timeout } = readOptions('options', options, ['timeout']);
  refuseProxy('timeout', 'a number of milliseconds', timeout);
  return checkTimeout('timeout', timeout);
}

/** `checkFunction` of lib/validate.ts for any value (a revoked Proxy included). */
export function checkCallback(name: string, value: unknown): void {
  if (typeof value !== 'function') throw badArgument(name, 'a function', value);
}

/** Throws `badArgument` for a Proxy, which the checks of lib/validate.ts would inspect. */
export function refuseProxy(name: string, expected: string, value: unknown): void {
  if (types.isProxy(value)) throw badArgument(name, expected, value);
}

/**
 * `invalidArg` for any value: a Proxy (revoked or not) is named as such
 * instead of being inspected, which could throw or run its traps.
 */
export function badArgument(name: string, expected: string, got: unknown): InvalidArgumentError {
  if (types.isProxy(got)) return new InvalidArgumentError(`Expected \`${name}\` to be ${expected}, got a Proxy`);
  return invalidArg(name, expected, got);
}

/**
 * Reads the named fields of an options object once, up front, so that a
 * getter or a Proxy is asked once and every check sees the same value; an
 * object that cannot be read (a revoked Proxy, a throwing getter) is
 * `ERR_INVALID_ARG`, not the raw error.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) unless `value` is `undefined` or a readable non-array object.
 */
export function readOptions<K extends string>(name: string, value: unknown, keys: readonly K[]): { [key in K]?: unknown } {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw invalidArg(name, 'an options object', value);
  try {
    if (Array.isArray(value)) throw badArgument(name, 'an options object', value);
    const fields: { [key in K]?: unknown } = {};
    for (const key of keys) fields[key] = (value as Record<K, unknown>)[key];
    return fields;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(
      `Expected \`${name}\` to be an options object, got one that cannot be read (${error instanceof Error ? error.message : 'it threw'})`,
    );
  }
}
