/**
 * Manager-hosted locks, semaphores, events, queues and values: what a client
 * connected over TCP gets from `m.Lock()`, `m.Queue()` … (shared memory does
 * not cross machines; a local manager hands out parapool's own shared-memory
 * objects instead). Each method takes the calling link first (the dispatcher
 * passes it), so a link that closes can give back what it acquired: a lock a
 * dead client held is released, never left locked.
 *
 * Blocking calls never block the manager thread: they return promises that
 * settle when the lock is granted, an item arrives, or the timeout ends.
 */
import { InvalidStateError, QueueClosedError, QueueEmptyError, QueueFullError } from '../errors';
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

/** A value held by the manager: `get()`, `set(v)`, and `add(n)` (returns the previous value). */
export class HostedValue {
  #value: unknown;

  constructor(_typecode?: unknown, value: unknown = 0) {
    this.#value = value;
  }

  get(_link: HostLink): unknown {
    return this.#value;
  }

  set(_link: HostLink, value: unknown): void {
    this.#value = value;
  }

  add(_link: HostLink, delta: unknown): unknown {
    if (typeof delta !== typeof this.#value || (typeof delta !== 'number' && typeof delta !== 'bigint')) {
      throw invalidArg('delta', `a ${typeof this.#value}`, delta);
    }
    const previous = this.#value;
    this.#value = (this.#value as number) + (delta as number);
    return previous;
  }
}

/** Manager-hosted types by type name (each method receives the calling link first). */
// biome-ignore lint/suspicious/noExplicitAny: the factory passes the caller's arguments through
export const HOSTED_SYNC_TYPES: Record<string, new (...args: any[]) => object> = {
  Lock: HostedLock,
  RLock: HostedRLock,
  Semaphore: HostedSemaphore,
  BoundedSemaphore: HostedBoundedSemaphore,
  Event: HostedEvent,
  Queue: HostedQueue,
  JoinableQueue: HostedJoinableQueue,
  Value: HostedValue,
};
