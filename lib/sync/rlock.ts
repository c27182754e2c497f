/**
 * RLock: a recursive, owner-tracked lock in shared memory (Python's
 * `multiprocessing.RLock`). Words: the robust futex mutex of
 * lib/atomics/mutex.ts (which holds the owner thread), the recursion count,
 * and the async chain that holds it (0: the whole thread).
 *
 * Ownership has two grains. The `…Sync` forms own per thread, as in Python.
 * The async forms own per async call chain: `withLock(fn)` gives `fn` a
 * chain of its own (an AsyncLocalStorage value that every `await` inside
 * `fn` carries along), and only code running in that chain re-enters; other
 * async callers of the same thread wait, as other threads do. A lock taken
 * by a `…Sync` form is the thread's, so every chain of that thread re-enters it.
 *
 * EXTRA (the levels held beyond the first) and CHAIN are written only by the
 * holder, between its atomic take and its atomic release of STATE, which order
 * those writes for the next holder; the holder reads them back with plain
 * accesses (a thread always sees its own writes, and only the holder may read
 * them as "mine"). A take at depth 1 writes them only when they differ from
 * what it needs, and a release from depth 1 writes nothing, so the common
 * `acquireSync()` … `release()` pair touches only STATE.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { threadId } from 'node:worker_threads';
import { registerSharedType } from '../codec/codec';
import { InvalidStateError } from '../errors';
import { type AcquireOptions, checkCallback, type Placement, type RegionDescriptor, type Steps } from '../atomics/futex';
import { Mutex } from '../atomics/mutex';
import { acquireAsync, acquireBlocking, registerConditionLock, regionFor, revive, type SavedOwnership, type Take } from './primitive';

const STATE = 1;
const EXTRA = 2;
const CHAIN = 3;
const SIZE = 16;
const MAX_DEPTH = 2 ** 31 - 1;
/** The chain of a lock held by a `…Sync` form: the whole thread. */
const THREAD_CHAIN = 0;

/** The async chains the running code belongs to: one link per `withLock` it runs inside. */
interface ChainLink {
  readonly chain: number;
  readonly outer: ChainLink | undefined;
}

const chains = new AsyncLocalStorage<ChainLink>();
let lastChain = 0;

function newChain(): number {
  lastChain = lastChain === MAX_DEPTH ? 1 : lastChain + 1;
  return lastChain;
}

function inChain(link: ChainLink | undefined, chain: number): boolean {
  for (let at = link; at !== undefined; at = at.outer) if (at.chain === chain) return true;
  return false;
}

/** Set by RLock's static block, which alone reaches its private state. */
let mutexOfLock: (lock: RLock) => Mutex;

/**
 * The mutex under `lock`, for code of parapool that may skip fences while
 * this thread holds it (Value's accessors ask its `heldByThisThread()`: one
 * plain read of the owner word).
 */
export function mutexOf(lock: RLock): Mutex {
  return mutexOfLock(lock);
}

/**
 * A lock that its holder may take again; it is free once released as many
 * times as it was taken, and only a thread that holds it may release it.
 *
 * Who "its holder" is depends on the form. `acquireSync` owns per thread, as
 * in Python (`worker_threads.threadId`; the main thread is 0). The async forms
 * own per async call chain: inside `withLock(fn)`, `fn` and everything it
 * awaits may take the lock again (recursion); any other async function of the
 * same thread waits for it, as another thread would. So 100 concurrent
 * `withLock(async () => { … await … })` calls on the main thread run one at a
 * time. A bare `await rlock.acquire()` outside `withLock` starts a chain that
 * nothing else joins: a second bare `acquire()` waits for the first's
 * `release()`; nest `withLock` calls to recurse.
 *
 * It is robust: when the thread holding it dies, the next acquirer gets it
 * (at depth 1) and `ownerDied` is `true` until it releases it.
 *
 * @example
 * const rlock = new RLock();
 * await rlock.withLock(async () => {
 *   await rlock.withLock(() => step());   // same chain: recursion, no deadlock
 * });
 */
export class RLock {
  /** Bytes of shared memory one RLock takes (for placing it with `{ buffer, byteOffset }`). */
  static readonly SIZE = SIZE;

  static {
    mutexOfLock = (lock) => lock.#mutex;
  }

  /** The SharedArrayBuffer that holds the lock. */
  readonly buffer: SharedArrayBuffer;
  /** Where the lock starts in `buffer`. */
  readonly byteOffset: number;
  readonly #words: Int32Array;
  readonly #mutex: Mutex;
  readonly #threadTake: Take;

  /**
   * Creates an unlocked RLock, in a new SharedArrayBuffer or at `{ buffer, byteOffset }`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad placement.
   * @example
   * const rlock = new RLock();
   */
  constructor(placement?: Placement) {
    const { region } = regionFor('RLock', SIZE, placement);
    this.buffer = region.buffer;
    this.byteOffset = region.byteOffset;
    this.#words = region.words;
    this.#mutex = new Mutex(region.words, STATE, { what: 'RLock' });
    this.#threadTake = this.#takeAs(THREAD_CHAIN, undefined);
    registerConditionLock(this, {
      isOwned: () => this.#mutex.heldByThisThread(),
      releaseSave: () => this.#releaseAll(),
      acquireRestore: (saved) => this.#restoreSteps(saved),
    });
  }

  /**
   * The RLock that already lives at `byteOffset` in `buffer`.
   * @default byteOffset 0
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when that memory holds no RLock.
   * @example
   * const same = RLock.attach(rlock.buffer, rlock.byteOffset);
   */
  static attach(buffer: SharedArrayBuffer, byteOffset = 0): RLock {
    return revive('RLock', SIZE, buffer, byteOffset, () => new RLock());
  }

  /**
   * Takes the lock without blocking the event loop: at once (one level deeper)
   * when the calling async chain holds it already (inside its `withLock`), or
   * this thread holds it through `acquireSync`. Resolves `true` once taken,
   * `false` if `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`, as a rejection) past 2³¹−1 levels of recursion.
   * @example
   * if (await rlock.acquire({ timeout: 50 })) { try { work(); } finally { rlock.release(); } }
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return acquireAsync(options, this.#takeAs(newChain(), chains.getStore()));
  }

  /**
   * Takes the lock, blocking the calling thread (meant for workers); at once
   * when this thread holds it already. Returns `true` once taken, `false` if
   * `timeout` ms passed first (or at once with `blocking: false`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) past 2³¹−1 levels of recursion.
   * @example
   * rlock.acquireSync();
   * try { shared[0] += 1; } finally { rlock.release(); }
   */
  acquireSync(options?: AcquireOptions): boolean {
    // The free lock without options first: one compare-and-swap, no shell around it.
    if (options === undefined && this.#mutex.tryLock()) {
      this.#ownFirst(THREAD_CHAIN);
      return true;
    }
    return acquireBlocking(options, this.#threadTake);
  }

  /** Just taken at depth 1 by `chain`: writes EXTRA and CHAIN only if a former holder left them otherwise. */
  #ownFirst(chain: number): void {
    const words = this.#words;
    if (words[EXTRA] !== 0) words[EXTRA] = 0;
    if (words[CHAIN] !== chain) words[CHAIN] = chain;
  }

  /**
   * How `chain` (running inside the chains of `link`) takes the lock: the
   * thread chain re-enters whenever this thread holds it; an async chain when
   * it holds it itself or the thread holds it through a `…Sync` form.
   */
  #takeAs(chain: number, link: ChainLink | undefined): Take {
    const words = this.#words;
    const mutex = this.#mutex;
    const own = () => this.#ownFirst(chain);
    return {
      tryTake: () => {
        // The free case first: one compare-and-swap, and no separate read of a
        // word the other core may be writing (a recursive take then fails it once).
        if (mutex.tryLock()) {
          own();
          return true;
        }
        if (!mutex.heldByThisThread()) return false;
        const holder = words[CHAIN]!;
        if (!(chain === THREAD_CHAIN || holder === THREAD_CHAIN || holder === chain || inChain(link, holder))) return false;
        const extra = words[EXTRA]!;
        if (extra === MAX_DEPTH - 1) throw new InvalidStateError('RLock acquired too many times (2³¹−1 levels)');
        words[EXTRA] = extra + 1;
        return true;
      },
      *takeSteps(deadline: number): Steps<boolean> {
        if ((yield* mutex.lockSteps(deadline)) === 'timed-out') return false;
        own();
        return true;
      },
      takeBlocking: (deadline: number) => {
        if (mutex.lockSync(deadline) === 'timed-out') return false;
        own();
        return true;
      },
    };
  }

  /**
   * Releases one level; the lock is free once every level is released. Any
   * code of the holding thread may release (Python checks the thread only).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when this thread does not hold the lock.
   * @example
   * rlock.release();
   */
  release(): void {
    const words = this.#words;
    if (!this.#mutex.heldByThisThread()) {
      const owner = this.#mutex.ownerThreadId;
      throw new InvalidStateError(
        owner === undefined
          ? 'Cannot release an unlocked RLock'
          : `Cannot release an RLock owned by thread ${owner} from thread ${threadId}`,
      );
    }
    const extra = words[EXTRA]!;
    // CHAIN stays as it is: only a holder reads it, and every take sets it.
    if (extra === 0) this.#mutex.unlock();
    else words[EXTRA] = extra - 1;
  }

  /** Python's `RLock._release_save`: drops every level at once. */
  #releaseAll(): SavedOwnership {
    if (!this.#mutex.heldByThisThread()) throw new InvalidStateError('Cannot release an RLock this thread does not own');
    const words = this.#words;
    const saved = { depth: words[EXTRA]! + 1, chain: words[CHAIN]! };
    this.#mutex.unlock();
    return saved;
  }

  /** Python's `RLock._acquire_restore`. */
  *#restoreSteps(saved: SavedOwnership): Steps<void> {
    yield* this.#mutex.lockSteps(Number.POSITIVE_INFINITY);
    this.#words[EXTRA] = saved.depth - 1;
    this.#words[CHAIN] = saved.chain;
  }

  /**
   * Whether some thread holds the lock right now.
   * @example
   * rlock.locked(); // false
   */
  locked(): boolean {
    return this.#mutex.locked();
  }

  /**
   * The `worker_threads.threadId` of the thread that holds the lock (main thread: 0), or `undefined` when free.
   * @example
   * rlock.ownerThreadId === threadId; // "does this thread hold it?"
   */
  get ownerThreadId(): number | undefined {
    return this.#mutex.ownerThreadId;
  }

  /**
   * `true` while the lock is held by a thread that took it over from a thread
   * that died holding it: what the lock protects may be half-updated. It goes
   * back to `false` once that holder has released every level.
   * @example
   * await rlock.acquire();
   * if (rlock.ownerDied) repair(shared);
   */
  get ownerDied(): boolean {
    return this.#mutex.ownerDied;
  }

  /**
   * Runs `fn` (sync or async) holding the lock, and releases it after, also
   * when `fn` throws; `fn` and what it awaits form one async chain, which may
   * take the lock again. Resolves with what `fn` returns.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, as a rejection) when `fn` is not a function.
   * @example
   * await rlock.withLock(async () => { shared[0] += 1; await flush(); });
   */
  async withLock<R>(fn: () => R | PromiseLike<R>): Promise<Awaited<R>> {
    checkCallback('fn', fn);
    const outer = chains.getStore();
    const take = this.#takeAs(newChain(), outer);
    // Inside a chain that holds the lock, the new chain's take re-enters it;
    // the new link keeps the holder's chain reachable for nested calls.
    await acquireAsync(undefined, take);
    const link: ChainLink = { chain: this.#words[CHAIN]!, outer };
    try {
      return await chains.run(link, fn);
    } finally {
      this.release();
    }
  }
}

registerSharedType<RLock, RegionDescriptor>(RLock, 'parapool.RLock', {
  encode: (lock) => ({ buffer: lock.buffer, byteOffset: lock.byteOffset }),
  decode: ({ buffer, byteOffset }) => RLock.attach(buffer, byteOffset),
});
