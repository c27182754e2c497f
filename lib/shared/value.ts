/**
 * Value and RawValue: Python's `multiprocessing.Value` / `RawValue`, one typed
 * element in shared memory that crosses threads as the same memory.
 */
import { registerSharedType } from '../codec/codec';
import { INTERNAL } from '../validate';
import { atomicCompareExchange, atomicLoad, atomicStore, atomicUpdate, storeElement } from './atomic-ops';
import { noLockError, resolveLock, wantsOwnLock, type LockOption, type SharedLock } from './lock-option';
import { OWNER_ID, OWNER_MASK } from '../atomics/mutex';
import { mutexOf, RLock } from '../sync/rlock';
import { readOptions } from './read-options';
import {
  typecodeInfo,
  zeroOf,
  type ElementOf,
  type SharedTypedArray,
  type Typecode,
  type TypecodeInfo,
  type TypedArrayOf,
} from './typecodes';

/** Options of {@link Value}. */
export interface ValueOptions {
  /**
   * `true` creates a new RLock (`getLock()` returns it), `false` none; or pass
   * the Lock or RLock to use. `null` means the default, like Python's `None`.
   * @default true
   */
  readonly lock?: LockOption;
}

interface ValueDescriptor {
  typecode: Typecode;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  lock: SharedLock | null;
}

/** A word no thread's id is ever stored in: the owner word of a value without an RLock. */
const NO_OWNER = new Int32Array(1);

/** The owner word the accessors test: the RLock's mutex word, or NO_OWNER for any other lock or none. */
function ownerWordOf(lock: SharedLock | undefined): [Int32Array, number] {
  if (!(lock instanceof RLock)) return [NO_OWNER, 0];
  const { words, index } = mutexOf(lock).ownerWord();
  return [words, index];
}

/** The codec's view of a value (set by the class, which alone reaches its private state). */
let describeValueMemory: (value: SharedValue) => ValueDescriptor;

/** A value over existing memory (the codec, `getObj()`). */
function reviveValue<C extends Typecode>(descriptor: ValueDescriptor): SharedValue<C> {
  return new (SharedValue as unknown as new (token: typeof INTERNAL, d: ValueDescriptor) => SharedValue<C>)(INTERNAL, descriptor);
}

/**
 * One number or bigint in shared memory. Create it with {@link Value} or
 * {@link RawValue}; pass it to tasks, workers, queues (at any depth) and it
 * arrives as the same value over the same memory.
 *
 * Each read or write of `.value` is one indivisible access, but `v.value += 1`
 * is a read and then a write: hold the lock around it, or use `add(1)`, which
 * is one atomic step (integer typecodes; beyond Python). Unlike Python's
 * synchronized wrapper, reading and writing `.value` does not take the lock.
 *
 * Outside its lock, an integer read is an `Atomics.load` and an integer write an
 * `Atomics.store`: sequentially consistent, so a write also publishes every
 * write this thread made before it, and a flag set without the lock is safe to
 * poll. While this thread holds the value's RLock, both are plain accesses:
 * the lock's take and release are the fences, and no other well-behaved thread
 * writes the value meanwhile.
 */
export class SharedValue<C extends Typecode = Typecode> {
  /** The typecode it was created with (`'i'`, `'c_double'`, ...). */
  readonly typecode: C;
  readonly #info: TypecodeInfo;
  readonly #view: SharedTypedArray;
  readonly #lock: SharedLock | undefined;
  /** The typecode's kind, for the fast paths: 'int' (number elements), 'bigint' or 'float'. */
  readonly #kind: TypecodeInfo['kind'];
  /**
   * The owner word of its lock's mutex when that lock is an RLock (else a word
   * that never names a thread): while this thread holds it, `value` skips the
   * fences. The accessors test it inline; a call through the mutex cost them
   * more than the test (docs/design/performance.md §7).
   */
  readonly #ownerWords: Int32Array;
  readonly #ownerIndex: number;

  /** Same as {@link Value}`(typecode, init, options)`. */
  constructor(typecode: C, init?: ElementOf<C>, options?: ValueOptions);
  constructor(typecode: C | typeof INTERNAL, init?: ElementOf<C> | ValueDescriptor, options?: ValueOptions) {
    // The codec revives a value with the INTERNAL token (lib/validate.ts) and its memory.
    if (typecode === INTERNAL) {
      const descriptor = init as ValueDescriptor;
      this.typecode = descriptor.typecode as C;
      this.#info = typecodeInfo(descriptor.typecode);
      this.#view = new this.#info.ctor(descriptor.buffer, descriptor.byteOffset, 1);
      this.#lock = descriptor.lock ?? undefined;
      [this.#ownerWords, this.#ownerIndex] = ownerWordOf(this.#lock);
      this.#kind = this.#info.kind;
      return;
    }
    this.#info = typecodeInfo(typecode);
    this.typecode = typecode;
    const { lock } = readOptions('options', options, ['lock']);
    // A lock of its own shares the element's memory (the lock first, then the element, within one
    // cache line): a locked increment then moves one line between the cores instead of two.
    const ownLock = wantsOwnLock(lock);
    const offset = ownLock ? RLock.SIZE : 0;
    const buffer = new SharedArrayBuffer(offset + this.#info.size);
    this.#lock = resolveLock(lock as LockOption, ownLock ? { buffer, byteOffset: 0 } : undefined);
    [this.#ownerWords, this.#ownerIndex] = ownerWordOf(this.#lock);
    this.#kind = this.#info.kind;
    this.#view = new this.#info.ctor(buffer, offset, 1);
    storeElement(this.#info, this.#view, 0, init === undefined ? zeroOf(this.#info) : init, 'init');
  }

  /**
   * The value. Setting it checks the type (`bigint` for 64-bit typecodes, an
   * integer `number` for the others, any `number` for `f`/`d`) and wraps
   * out-of-range integers like C (`Value('b', 0).value = 200` reads back `-56`).
   * A read or a write is one aligned access, never torn; `value += 1` is a read
   * then a write, not atomic: do it under `getLock()`, or use `add`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when set to the wrong type.
   * @example
   * const total = Value('d', 0);
   * total.value = 1.5;
   * total.value;   // 1.5
   */
  get value(): ElementOf<C> {
    if (this.#kind === 'float' || (this.#ownerWords[this.#ownerIndex]! & OWNER_MASK) === OWNER_ID) {
      return this.#view[0] as ElementOf<C>;
    }
    return Atomics.load(this.#view as Int32Array, 0) as ElementOf<C>;
  }

  set value(value: ElementOf<C>) {
    // The hot case inline: an int32 number into an integer element (anything else is checked and stored in full).
    if (this.#kind === 'int' && typeof value === 'number' && (value | 0) === value) {
      // Under the lock a plain store: one aligned write, never torn, published by the
      // lock's release. Atomics.store would add a full fence on the very cache line the
      // other threads contend for (docs/design/performance.md §7 has the measurement).
      if ((this.#ownerWords[this.#ownerIndex]! & OWNER_MASK) === OWNER_ID) this.#view[0] = value;
      else Atomics.store(this.#view as Int32Array, 0, value);
      return;
    }
    storeElement(this.#info, this.#view, 0, value, 'value');
  }

  /**
   * The typed array (of length 1) over the value's memory.
   * @example
   * Atomics.wait(flag.view, 0, 0);   // e.g. park a worker until flag.value changes
   */
  get view(): TypedArrayOf<C> {
    return this.#view as TypedArrayOf<C>;
  }

  /**
   * The lock that guards it (Python's `get_lock()`).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when created with `lock: false` or by `RawValue`.
   * @example
   * await counter.getLock().withLock(() => { counter.value += 1; });
   */
  getLock(): SharedLock {
    if (this.#lock === undefined) throw noLockError('Value');
    return this.#lock;
  }

  /**
   * The same memory without the lock (Python's `get_obj()`).
   * @example
   * const raw = counter.getObj(); raw.value = 0;
   */
  getObj(): SharedValue<C> {
    return reviveValue({
      typecode: this.typecode,
      buffer: this.#view.buffer as SharedArrayBuffer,
      byteOffset: this.#view.byteOffset,
      lock: null,
    });
  }

  /**
   * Atomically adds `delta` (wrapping like C); returns the previous value. Lock-free.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `delta` is not an integer of the value's kind.
   * @example
   * const counter = Value('i', 0);
   * counter.add(1);   // from any number of threads at once: no lost updates
   */
  add(delta: ElementOf<C>): ElementOf<C> {
    // The hot cases inline: an int32 number or a bigint of the element's kind (anything else is checked in full).
    if (this.#kind === 'int' && typeof delta === 'number' && (delta | 0) === delta)
      return Atomics.add(this.#view as Int32Array, 0, delta as number) as ElementOf<C>;
    if (this.#kind === 'bigint' && typeof delta === 'bigint') return Atomics.add(this.#view as BigInt64Array, 0, delta) as ElementOf<C>;
    return atomicUpdate(this.#info, this.#view, 0, 'add', delta) as ElementOf<C>;
  }

  /**
   * Atomically subtracts `delta`; returns the previous value.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a `delta` of the wrong type.
   * @example
   * const left = Value('i', 10); left.sub(1);   // 10; left.value is 9
   */
  sub(delta: ElementOf<C>): ElementOf<C> {
    if (this.#kind === 'int' && typeof delta === 'number' && (delta | 0) === delta)
      return Atomics.sub(this.#view as Int32Array, 0, delta as number) as ElementOf<C>;
    if (this.#kind === 'bigint' && typeof delta === 'bigint') return Atomics.sub(this.#view as BigInt64Array, 0, delta) as ElementOf<C>;
    return atomicUpdate(this.#info, this.#view, 0, 'sub', delta) as ElementOf<C>;
  }

  /**
   * Atomically replaces the value; returns the previous one.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a value of the wrong type.
   * @example
   * const flag = Value('i', 0); if (flag.exchange(1) === 0) { firstCaller(); }
   */
  exchange(value: ElementOf<C>): ElementOf<C> {
    return atomicUpdate(this.#info, this.#view, 0, 'exchange', value) as ElementOf<C>;
  }

  /**
   * Atomically sets `replacement` if the value equals `expected`; returns the
   * previous value (equal to `expected` exactly when it was replaced).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for operands of the wrong type.
   * @example
   * const owner = Value('i', 0);
   * if (owner.compareExchange(0, myId) === 0) { iOwnIt(); }
   */
  compareExchange(expected: ElementOf<C>, replacement: ElementOf<C>): ElementOf<C> {
    return atomicCompareExchange(this.#info, this.#view, 0, expected, replacement) as ElementOf<C>;
  }

  /**
   * `Atomics.load` of the value (what `.value` does for integer typecodes).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @example
   * const seen = counter.load();
   */
  load(): ElementOf<C> {
    return atomicLoad(this.#info, this.#view, 0) as ElementOf<C>;
  }

  /**
   * `Atomics.store` of the value (what setting `.value` does for integer typecodes).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on `f`/`d` typecodes.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a value of the wrong type.
   * @example
   * counter.store(0);
   */
  store(value: ElementOf<C>): void {
    atomicStore(this.#info, this.#view, 0, value);
  }

  /** Python's repr: `Value('i', 5)`. */
  toString(): string {
    const value = this.value;
    return `${this.#lock === undefined ? 'RawValue' : 'Value'}('${this.typecode}', ${typeof value === 'bigint' ? `${value}n` : value})`;
  }

  static {
    describeValueMemory = (value) => ({
      typecode: value.typecode,
      buffer: value.#view.buffer as SharedArrayBuffer,
      byteOffset: value.#view.byteOffset,
      lock: value.#lock ?? null,
    });
  }
}

/**
 * A shared number (Python's `multiprocessing.Value`), guarded by a lock unless
 * `lock: false`. Called without `new`, like Python. `init` defaults to zero.
 *
 * @param typecode a Python typecode (`'i'`, `'d'`, `'q'`, ...) or a ctypes name (`'c_int'`, `'c_double'`, ...).
 * @param init the initial value: a `bigint` for 64-bit typecodes, else a `number`.
 * @default init 0 (or 0n)
 * @default options.lock true (a new RLock)
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an unknown typecode, an `init` of the wrong type, or a bad `lock`.
 * @example
 * const counter = Value('i', 0);
 * await Promise.all(chunks.map((n) => pool.apply(increment, [counter, n])));
 * // in the task: counter.getLock().acquireSync(); try { counter.value += 1; } finally { counter.getLock().release(); }
 * // or, lock-free: counter.add(1);
 * console.log(counter.value);
 */
export function Value<C extends Typecode>(typecode: C, init?: ElementOf<C>, options?: ValueOptions): SharedValue<C> {
  return new SharedValue(typecode, init, options);
}

/**
 * A shared number without a lock (Python's `multiprocessing.RawValue`); `getLock()` throws.
 * @default init 0 (or 0n)
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an unknown typecode or an `init` of the wrong type.
 * @example
 * const hits = RawValue('I', 0);
 * hits.add(1);
 */
export function RawValue<C extends Typecode>(typecode: C, init?: ElementOf<C>): SharedValue<C> {
  return new SharedValue(typecode, init, { lock: false });
}

registerSharedType(SharedValue, 'parapool.Value', {
  encode: (value) => describeValueMemory(value),
  decode: (descriptor: ValueDescriptor) => reviveValue(descriptor),
});
