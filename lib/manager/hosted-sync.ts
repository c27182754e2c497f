/**
 * Manager-hosted locks, semaphores, conditions, events, barriers, queues,
 * values and arrays: what a client connected over TCP gets from `m.Lock()`,
 * `m.Queue()` … (shared memory does not cross machines; a local manager hands
 * out parapool's own shared-memory objects instead). Each method takes the
 * calling link first (the dispatcher passes it), so a link that closes can give
 * back what it acquired: a lock a dead client held is released, never left
 * locked, a lock it was waiting for is never granted to it, and a barrier it
 * was waiting at breaks (the other parties would wait forever otherwise).
 *
 * Blocking calls never block the manager thread: they return promises that
 * settle when the lock is granted, an item arrives, or the timeout ends.
 */
import { BrokenBarrierError, InvalidStateError, QueueClosedError, QueueEmptyError, QueueFullError } from '../errors';
import { RawArray, type SharedArray } from '../shared/array';
import type { Typecode } from '../shared/typecodes';
import { RawValue, type SharedValue } from '../shared/value';
import { type LongTimer, setLongTimeout } from '../timers';
import { checkTimeout, invalidArg } from '../validate';
import type { HostLink } from './host';

/** Something a link can hold and must give back when it closes. */
export interface Releasable {
  _releaseFor(link: HostLink): void;
}

interface WaitOptions {
  blocking?: boolean;
  timeout?: number;
}

function waitLimit(options: unknown): number | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw invalidArg('options', 'an options object', options);
  const { blocking, timeout } = options as WaitOptions;
  if (blocking === false) return 0;
  return checkTimeout('timeout', timeout);
}

/** Waiters of one resource, in arrival order, each with an optional timer. */
class WaitList {
  readonly #waiters = new Set<{ grant(): boolean; timer: LongTimer | undefined }>();

  /** Waits until `grant()` returns true (called on every `wake`), or the limit passes (→ false). */
  wait(limit: number | undefined, grant: () => boolean): Promise<boolean> {
    if (grant()) return Promise.resolve(true);
    if (limit !== undefined && limit <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        timer: undefined as LongTimer | undefined,
        grant: () => {
          if (!grant()) return false;
          waiter.timer?.clear();
          resolve(true);
          return true;
        },
      };
      if (limit !== undefined && Number.isFinite(limit)) {
        waiter.timer = setLongTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(false);
        }, limit);
      }
      this.#waiters.add(waiter);
    });
  }

  /** Offers the resource to waiters in order, until one refuses. */
  wake(): void {
    for (const waiter of this.#waiters) {
      if (!waiter.grant()) return;
      this.#waiters.delete(waiter);
    }
  }
}

function hold(link: HostLink, what: Releasable): void {
  link.held.set(what, (link.held.get(what) ?? 0) + 1);
}

function unhold(link: HostLink, what: Releasable): boolean {
  const count = link.held.get(what);
  if (count === undefined) return false;
  if (count <= 1) link.held.delete(what);
  else link.held.set(what, count - 1);
  return true;
}

/** A counting semaphore; `Lock` is one with a single permit that anyone may release. */
export class HostedSemaphore implements Releasable {
  #value: number;
  readonly #bound: number | undefined;
  readonly #waiters = new WaitList();
  /** Who acquired each taken permit, so a closed link gives its permits back. */
  readonly #holders: HostLink[] = [];

  constructor(value: unknown = 1, bounded = false) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalidArg('value', 'an integer >= 0', value);
    this.#value = value;
    this.#bound = bounded ? value : undefined;
  }

  acquire(link: HostLink, options?: unknown): Promise<boolean> {
    return this.#waiters.wait(waitLimit(options), () => {
      // A closed link's waiter is dropped, never granted.
      if (link.closed === true) return true;
      if (this.#value <= 0) return false;
      this.#value--;
      this.#holders.push(link);
      hold(link, this);
      return true;
    });
  }

  release(link: HostLink): void {
    if (this.#bound !== undefined && this.#value >= this.#bound) throw new InvalidStateError('Semaphore released too many times');
    // Any link may release: the permit taken longest ago by the releaser (or by anyone) is given back.
    let index = this.#holders.indexOf(link);
    if (index < 0) index = 0;
    const holder = this.#holders[index];
    if (holder !== undefined) {
      this.#holders.splice(index, 1);
      unhold(holder, this);
    }
    this.#value++;
    this.#waiters.wake();
  }

  getValue(): number {
    return this.#value;
  }

  _releaseFor(link: HostLink): void {
    const index = this.#holders.indexOf(link);
    if (index < 0) return;
    this.#holders.splice(index, 1);
    this.#value++;
    this.#waiters.wake();
  }
}

export class HostedBoundedSemaphore extends HostedSemaphore {
  constructor(value: unknown = 1) {
    super(value, true);
  }
}

export class HostedLock implements Releasable {
  #holder: HostLink | undefined;
  #locked = false;
  readonly #waiters = new WaitList();

  acquire(link: HostLink, options?: unknown): Promise<boolean> {
    return this.#waiters.wait(waitLimit(options), () => {
      if (link.closed === true) return true;
      if (this.#locked) return false;
      this.#locked = true;
      this.#holder = link;
      hold(link, this);
      return true;
    });
  }

  release(_link: HostLink): void {
    if (!this.#locked) throw new InvalidStateError('release() of an unlocked Lock');
    this.#free();
  }

  locked(): boolean {
    return this.#locked;
  }

  /** For a Condition: whether `link` holds it. */
  _heldBy(link: HostLink): boolean {
    return this.#locked && this.#holder === link;
  }

  /** For a Condition's wait: releases it (held once), returns the count to restore. */
  _releaseAll(_link: HostLink): number {
    this.#free();
    return 1;
  }

  /** For a Condition's wait: takes it again, as often as it was held. */
  async _restore(link: HostLink, _count: number): Promise<void> {
    await this.acquire(link);
  }

  #free(): void {
    if (this.#holder !== undefined) unhold(this.#holder, this);
    this.#holder = undefined;
    this.#locked = false;
    this.#waiters.wake();
  }

  _releaseFor(link: HostLink): void {
    if (this.#locked && this.#holder === link) this.#free();
  }
}

/** Recursive, owned by a link (over TCP: one client connection). */
export class HostedRLock implements Releasable {
  #owner: HostLink | undefined;
  #count = 0;
  readonly #waiters = new WaitList();

  acquire(link: HostLink, options?: unknown): Promise<boolean> {
    return this.#waiters.wait(waitLimit(options), () => {
      if (link.closed === true) return true;
      if (this.#owner !== undefined && this.#owner !== link) return false;
      if (this.#owner === undefined) hold(link, this);
      this.#owner = link;
      this.#count++;
      return true;
    });
  }

  release(link: HostLink): void {
    if (this.#owner !== link) throw new InvalidStateError('release() of an RLock by a connection that does not own it');
    if (--this.#count === 0) {
      unhold(link, this);
      this.#owner = undefined;
      this.#waiters.wake();
    }
  }

  locked(): boolean {
    return this.#owner !== undefined;
  }

  _heldBy(link: HostLink): boolean {
    return this.#owner === link;
  }

  _releaseAll(link: HostLink): number {
    const count = this.#count;
    unhold(link, this);
    this.#owner = undefined;
    this.#count = 0;
    this.#waiters.wake();
    return count;
  }

  async _restore(link: HostLink, count: number): Promise<void> {
    await this.acquire(link);
    if (link.closed !== true) this.#count = count;
  }

  _releaseFor(link: HostLink): void {
    if (this.#owner !== link) return;
    this.#owner = undefined;
    this.#count = 0;
    this.#waiters.wake();
  }
}

export class HostedEvent {
  #set = false;
  readonly #waiters = new WaitList();

  isSet(_link: HostLink): boolean {
    return this.#set;
  }

  set(_link: HostLink): void {
    this.#set = true;
    this.#waiters.wake();
  }

  clear(_link: HostLink): void {
    this.#set = false;
  }

  wait(_link: HostLink, options?: unknown): Promise<boolean> {
    const timeout =
      options === undefined || options === null ? undefined : checkTimeout('timeout', (options as { timeout?: unknown }).timeout);
    return this.#waiters.wait(timeout, () => this.#set);
  }
}

/** A lock a hosted Condition can use. */
type ConditionLock = (HostedLock | HostedRLock) & {
  _heldBy(link: HostLink): boolean;
  _releaseAll(link: HostLink): number;
  _restore(link: HostLink, count: number): Promise<void>;
};

/** Python's `Condition`, on a hosted Lock or RLock (a new RLock by default); owned per link. */
export class HostedCondition {
  readonly #lock: ConditionLock;
  /** Waiters in arrival order: each resolves true when notified. */
  readonly #waiters = new Set<{ link: HostLink; notify(): void }>();

  constructor(lock?: unknown) {
    if (lock !== undefined && lock !== null && !(lock instanceof HostedLock) && !(lock instanceof HostedRLock)) {
      throw invalidArg('lock', "a Lock or RLock of this manager's", lock);
    }
    this.#lock = (lock ?? new HostedRLock()) as ConditionLock;
  }

  acquire(link: HostLink, options?: unknown): Promise<boolean> {
    return this.#lock.acquire(link, options);
  }

  release(link: HostLink): void {
    this.#lock.release(link);
  }

  locked(_link: HostLink): boolean {
    return this.#lock.locked();
  }

  #owned(link: HostLink, what: string): void {
    if (!this.#lock._heldBy(link)) throw new InvalidStateError(`Condition.${what}() without holding its lock`);
  }

  /** Releases the lock, waits for a notify or the timeout, takes the lock again; true when notified. */
  async wait(link: HostLink, options?: unknown): Promise<boolean> {
    const timeout =
      options === undefined || options === null ? undefined : checkTimeout('timeout', (options as { timeout?: unknown }).timeout);
    this.#owned(link, 'wait');
    let timer: LongTimer | undefined;
    const notified = new Promise<boolean>((resolve) => {
      const waiter = {
        link,
        notify: () => {
          timer?.clear();
          resolve(true);
        },
      };
      this.#waiters.add(waiter);
      if (timeout !== undefined && Number.isFinite(timeout)) {
        timer = setLongTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(false);
        }, timeout);
      }
    });
    const count = this.#lock._releaseAll(link);
    const result = await notified;
    await this.#lock._restore(link, count);
    return result;
  }

  notify(link: HostLink, n: unknown = 1): void {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidArg('n', 'an integer >= 0', n);
    this.#owned(link, 'notify');
    let left = n;
    for (const waiter of this.#waiters) {
      if (left <= 0) break;
      this.#waiters.delete(waiter);
      // A closed link's waiter is dropped without using up a notification.
      if (waiter.link.closed === true) continue;
      left--;
      waiter.notify();
    }
  }

  notifyAll(link: HostLink): void {
    this.notify(link, this.#waiters.size);
  }
}

interface BarrierWaiter {
  readonly link: HostLink;
  readonly index: number;
  resolve(index: number): void;
  reject(error: Error): void;
  timer?: LongTimer;
}

/**
 * Python's `Barrier` (no `action`: a function cannot reach the manager). A
 * pass gives each party its arrival index; a timeout, `abort()` or `reset()`
 * breaks it (`ERR_BROKEN_BARRIER`), as does a waiting link that closes.
 */
export class HostedBarrier implements Releasable {
  readonly #parties: number;
  readonly #timeout: number | undefined;
  #waiting: BarrierWaiter[] = [];
  #broken = false;

  constructor(parties: unknown, options?: unknown) {
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1) throw invalidArg('parties', 'an integer >= 1', parties);
    this.#parties = parties;
    this.#timeout =
      options === undefined || options === null ? undefined : checkTimeout('timeout', (options as { timeout?: unknown }).timeout);
  }

  wait(link: HostLink, options?: unknown): Promise<number> {
    const given =
      options === undefined || options === null ? undefined : checkTimeout('timeout', (options as { timeout?: unknown }).timeout);
    const timeout = given ?? this.#timeout;
    if (this.#broken) return Promise.reject(new BrokenBarrierError('The barrier is broken'));
    const index = this.#waiting.length;
    if (index + 1 === this.#parties) {
      const passing = this.#waiting;
      this.#waiting = [];
      for (const waiter of passing) {
        waiter.timer?.clear();
        unhold(waiter.link, this);
        waiter.resolve(waiter.index);
      }
      return Promise.resolve(index);
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: BarrierWaiter = { link, index, resolve, reject };
      if (timeout !== undefined && Number.isFinite(timeout)) waiter.timer = setLongTimeout(() => this.#break(false), timeout);
      this.#waiting.push(waiter);
      hold(link, this);
    });
  }

  #break(reset: boolean): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#broken = !reset;
    for (const waiter of waiting) {
      waiter.timer?.clear();
      unhold(waiter.link, this);
      waiter.reject(new BrokenBarrierError(reset ? 'The barrier was reset' : 'The barrier is broken'));
    }
  }

  reset(_link: HostLink): void {
    this.#break(true);
  }

  abort(_link: HostLink): void {
    this.#break(false);
  }

  parties(_link: HostLink): number {
    return this.#parties;
  }

  nWaiting(_link: HostLink): number {
    return this.#waiting.length;
  }

  broken(_link: HostLink): boolean {
    return this.#broken;
  }

  _releaseFor(link: HostLink): void {
    if (this.#waiting.some((waiter) => waiter.link === link)) this.#break(false);
  }
}

export class HostedQueue {
  readonly #items: unknown[] = [];
  readonly #maxsize: number;
  #closed = false;
  readonly #getters = new WaitList();
  readonly #putters = new WaitList();

  constructor(options?: unknown) {
    const maxsize = (options as { maxsize?: unknown } | undefined)?.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) throw invalidArg('maxsize', 'an integer', maxsize);
    this.#maxsize = maxsize <= 0 ? Number.POSITIVE_INFINITY : maxsize;
  }

  #open(): void {
    if (this.#closed) throw new QueueClosedError('The queue is closed');
  }

  async put(_link: HostLink, item: unknown, options?: unknown): Promise<void> {
    this.#open();
    const ok = await this.#putters.wait(waitLimit(options), () => {
      if (this.#items.length >= this.#maxsize) return false;
      this.#items.push(item);
      return true;
    });
    if (!ok) throw new QueueFullError('The queue is full');
    this.#getters.wake();
  }

  putNowait(link: HostLink, item: unknown): Promise<void> {
    return this.put(link, item, { blocking: false });
  }

  async get(_link: HostLink, options?: unknown): Promise<unknown> {
    this.#open();
    let item: unknown;
    const ok = await this.#getters.wait(waitLimit(options), () => {
      if (this.#items.length === 0) return false;
      item = this.#items.shift();
      return true;
    });
    if (!ok) throw new QueueEmptyError('The queue is empty');
    this.#putters.wake();
    this._taken();
    return item;
  }

  getNowait(link: HostLink): Promise<unknown> {
    return this.get(link, { blocking: false });
  }

  /** A hook for JoinableQueue. */
  protected _taken(): void {}

  qsize(_link: HostLink): number {
    return this.#items.length;
  }

  empty(_link: HostLink): boolean {
    return this.#items.length === 0;
  }

  full(_link: HostLink): boolean {
    return this.#items.length >= this.#maxsize;
  }

  close(_link: HostLink): void {
    this.#closed = true;
  }
}

export class HostedJoinableQueue extends HostedQueue {
  #unfinished = 0;
  readonly #joiners = new WaitList();

  override async put(link: HostLink, item: unknown, options?: unknown): Promise<void> {
    await super.put(link, item, options);
    this.#unfinished++;
  }

  taskDone(_link: HostLink): void {
    if (this.#unfinished <= 0) throw new InvalidStateError('taskDone() called more times than there were items');
    if (--this.#unfinished === 0) this.#joiners.wake();
  }

  async join(_link: HostLink): Promise<void> {
    await this.#joiners.wait(undefined, () => this.#unfinished === 0);
  }
}

/** A Value held by the manager (a RawValue: typecode checks and C wrapping as §5): `get()`, `set(v)` and its atomic-style methods. */
export class HostedValue {
  readonly #value: SharedValue<Typecode>;

  constructor(typecode?: unknown, value?: unknown) {
    this.#value = RawValue(typecode as Typecode, value as number);
  }

  get(_link: HostLink): unknown {
    return this.#value.value;
  }

  set(_link: HostLink, value: unknown): void {
    this.#value.value = value as number;
  }

  /** Adds `delta`; returns the previous value. */
  add(_link: HostLink, delta: unknown): unknown {
    return this.#value.add(delta as number);
  }

  sub(_link: HostLink, delta: unknown): unknown {
    return this.#value.sub(delta as number);
  }

  exchange(_link: HostLink, value: unknown): unknown {
    return this.#value.exchange(value as number);
  }

  compareExchange(_link: HostLink, expected: unknown, replacement: unknown): unknown {
    return this.#value.compareExchange(expected as number, replacement as number);
  }
}

/** An Array held by the manager (a RawArray: typecode checks, C wrapping, Python slices as §5). */
export class HostedArray {
  readonly #array: SharedArray<Typecode>;

  constructor(typecode?: unknown, sizeOrValues?: unknown) {
    this.#array = RawArray(typecode as Typecode, sizeOrValues as number);
  }

  length(_link: HostLink): number {
    return this.#array.length;
  }

  get(_link: HostLink, index: unknown): unknown {
    return this.#array.get(index as number);
  }

  set(_link: HostLink, index: unknown, value: unknown): void {
    this.#array.set(index as number, value as number);
  }

  slice(_link: HostLink, start?: unknown, stop?: unknown, step?: unknown): unknown[] {
    return this.#array.slice(start as number, stop as number, step as number);
  }

  setSlice(_link: HostLink, start: unknown, stop: unknown, values: unknown, step?: unknown): void {
    this.#array.setSlice(start as number, stop as number, values as Iterable<number>, step as number);
  }

  toArray(_link: HostLink): unknown[] {
    return this.#array.toArray();
  }

  add(_link: HostLink, index: unknown, delta: unknown): unknown {
    return this.#array.add(index as number, delta as number);
  }

  sub(_link: HostLink, index: unknown, delta: unknown): unknown {
    return this.#array.sub(index as number, delta as number);
  }

  exchange(_link: HostLink, index: unknown, value: unknown): unknown {
    return this.#array.exchange(index as number, value as number);
  }

  compareExchange(_link: HostLink, index: unknown, expected: unknown, replacement: unknown): unknown {
    return this.#array.compareExchange(index as number, expected as number, replacement as number);
  }
}

/** Manager-hosted types by type name (each method receives the calling link first). */
// biome-ignore lint/suspicious/noExplicitAny: the factory passes the caller's arguments through
export const HOSTED_SYNC_TYPES: Record<string, new (...args: any[]) => object> = {
  Lock: HostedLock,
  RLock: HostedRLock,
  Semaphore: HostedSemaphore,
  BoundedSemaphore: HostedBoundedSemaphore,
  Condition: HostedCondition,
  Event: HostedEvent,
  Barrier: HostedBarrier,
  Queue: HostedQueue,
  JoinableQueue: HostedJoinableQueue,
  Value: HostedValue,
  Array: HostedArray,
};
