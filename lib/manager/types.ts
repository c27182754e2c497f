/**
 * The public types of managed objects: `Proxied<T>` for registered classes,
 * and the builtin proxies (`ManagedDict`, `ManagedList`, `ManagedSet`,
 * `ManagedNamespace`). Values read back are copies typed `DeepReadonly`, so
 * mutating one by mistake (Python's `d['k'].append(x)` trap) does not compile;
 * proxies read back stay proxies.
 */

/** The brand every proxy type carries (type level only). */
declare const PROXY_BRAND: unique symbol;

/** Marks a type as a proxy: `DeepReadonly` leaves it alone. */
export interface ProxyBrand {
  readonly [PROXY_BRAND]: true;
}

// biome-ignore lint/suspicious/noExplicitAny: any function type
type AnyFn = (...args: any[]) => any;

/** A copy read back from a manager: read-only at every depth (proxies inside stay proxies). */
export type DeepReadonly<T> = T extends ProxyBrand | AnyFn | string | number | boolean | bigint | symbol | null | undefined
  ? T
  : T extends ReadonlyMap<infer K, infer V>
    ? ReadonlyMap<DeepReadonly<K>, DeepReadonly<V>>
    : T extends ReadonlySet<infer V>
      ? ReadonlySet<DeepReadonly<V>>
      : T extends readonly unknown[]
        ? { readonly [I in keyof T]: DeepReadonly<T[I]> }
        : T extends Date | RegExp | ArrayBufferLike | ArrayBufferView
          ? T
          : { readonly [K in keyof T]: DeepReadonly<T[K]> };

type MethodKeys<T> = { [K in keyof T]: T[K] extends AnyFn ? K : never }[keyof T] & string;

/** Each method of `T`, async: `m(...a): Promise<DeepReadonly<Awaited<R>>>`. */
export type AsyncMethods<T> = {
  readonly [K in MethodKeys<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<DeepReadonly<Awaited<R>>> : never;
};
/** Each method of `T`, blocking: `m(...a): DeepReadonly<Awaited<R>>`. */
export type SyncMethods<T> = {
  readonly [K in MethodKeys<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => DeepReadonly<Awaited<R>> : never;
};

/**
 * A proxy to an instance of a registered class `T`: each public method returns
 * a promise of its (awaited) result; `proxy.sync.method(...)` is the blocking
 * form, for workers.
 *
 * @example
 * const c: Proxied<Counter> = await m.Counter(0);
 * await c.increment(); c.sync.increment();
 */
export type Proxied<T> = AsyncMethods<T> & { readonly sync: SyncMethods<T> } & ProxyBrand;

/** The methods of a managed dict (the blocking forms; the proxy's own methods return promises). */
export interface DictMethods<K, V> {
  /** The value under `key`, or `defaultValue` (undefined if not given). */
  get(key: K, defaultValue?: V): DeepReadonly<V> | undefined;
  set(key: K, value: V): void;
  has(key: K): boolean;
  /** True when the key was there. */
  delete(key: K): boolean;
  size(): number;
  keys(): DeepReadonly<K>[];
  values(): DeepReadonly<V>[];
  entries(): [DeepReadonly<K>, DeepReadonly<V>][];
  update(source: Iterable<readonly [K, V]> | ReadonlyMap<K, V> | (K extends string ? { readonly [key: string]: V } : never)): void;
  /** Removes and returns the value; a missing key without a default → `ERR_KEY_NOT_FOUND`. */
  pop(key: K, defaultValue?: V): DeepReadonly<V>;
  /** The value under `key`, after storing `value` there if it was missing. */
  setDefault(key: K, value: V): DeepReadonly<V>;
  clear(): void;
  copy(): Map<K, V>;
}

/** The methods of a managed list. Negative indices count from the end; out of range → `RangeError`. */
export interface ListMethods<T> {
  length(): number;
  get(index: number): DeepReadonly<T>;
  set(index: number, value: T): void;
  append(value: T): void;
  extend(items: Iterable<T>): void;
  /** Inserts before `index` (clamped, as in Python). */
  insert(index: number, value: T): void;
  /** Removes and returns the item at `index` (default: the last). */
  pop(index?: number): DeepReadonly<T>;
  /** Removes the first item equal to `value` (deep equality); none → `RangeError`. */
  remove(value: T): void;
  /** The index of the first item equal to `value`; none → `RangeError`. */
  index(value: T, start?: number, end?: number): number;
  count(value: T): number;
  slice(start?: number, end?: number): DeepReadonly<T>[];
  reverse(): void;
  /** Sorts numbers by value and strings by code point, like Python. */
  sort(options?: { reverse?: boolean }): void;
  clear(): void;
  copy(): T[];
}

/** The methods of a managed set. */
export interface SetMethods<T> {
  add(value: T): void;
  delete(value: T): boolean;
  has(value: T): boolean;
  size(): number;
  values(): DeepReadonly<T>[];
  clear(): void;
  copy(): Set<T>;
}

/** The methods of a managed namespace. A missing name → `ERR_KEY_NOT_FOUND`. */
export interface NamespaceMethods<T extends object> {
  get<K extends keyof T & string>(name: K): DeepReadonly<T[K]>;
  set<K extends keyof T & string>(name: K, value: T[K]): void;
  delete(name: keyof T & string): void;
  copy(): T;
}

type Promised<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** A proxy to a dict in a manager (Python's `DictProxy`). */
export type ManagedDict<K, V> = Promised<DictMethods<K, V>> & {
  get<D>(key: K, defaultValue: D): Promise<DeepReadonly<V> | D>;
  pop<D>(key: K, defaultValue: D): Promise<DeepReadonly<V> | D>;
  readonly sync: DictMethods<K, V>;
} & ProxyBrand;
/** A proxy to a list in a manager (Python's `ListProxy`). */
export type ManagedList<T> = Promised<ListMethods<T>> & { readonly sync: ListMethods<T> } & ProxyBrand;
/** A proxy to a set in a manager. */
export type ManagedSet<T> = Promised<SetMethods<T>> & { readonly sync: SetMethods<T> } & ProxyBrand;
/** A proxy to a namespace in a manager (Python's `Namespace`). */
export type ManagedNamespace<T extends object> = {
  get<K extends keyof T & string>(name: K): Promise<DeepReadonly<T[K]>>;
  set<K extends keyof T & string>(name: K, value: T[K]): Promise<void>;
  delete(name: keyof T & string): Promise<void>;
  copy(): Promise<T>;
  readonly sync: NamespaceMethods<T>;
} & ProxyBrand;

/** Options every factory takes last. */
export interface FactoryOptions {
  /** Keep the object until shutdown under this name; the same name later gives the same object. */
  readonly name?: string;
}

/** Options of a blocking call of a manager-hosted lock or queue: `blocking: false` or `timeout` ms (≤ 0: do not wait). */
export interface RemoteWaitOptions {
  readonly blocking?: boolean;
  readonly timeout?: number;
}

/** The proxy of manager-hosted methods `M`: each async, and blocking under `.sync`. */
export type Remote<M> = Promised<M> & { readonly sync: M } & ProxyBrand;

/** The methods of a manager-hosted Lock or RLock (a connected manager's `m.Lock()`, `m.RLock()`). */
export interface RemoteLockMethods {
  /** True once acquired; false when not acquired in time (or at once, with `blocking: false`). */
  acquire(options?: RemoteWaitOptions): boolean;
  /** `ERR_INVALID_STATE` for an unlocked Lock, or an RLock this connection does not own. */
  release(): void;
  locked(): boolean;
}
/** The methods of a manager-hosted Semaphore or BoundedSemaphore (over-release of a bounded one: `ERR_INVALID_STATE`). */
export interface RemoteSemaphoreMethods {
  acquire(options?: RemoteWaitOptions): boolean;
  release(): void;
  getValue(): number;
}
/** The methods of a manager-hosted Condition (waiting or notifying without its lock: `ERR_INVALID_STATE`). */
export interface RemoteConditionMethods extends RemoteLockMethods {
  /** Releases the lock, waits for a notify or `timeout` ms, takes the lock again; true when notified. */
  wait(options?: { readonly timeout?: number }): boolean;
  notify(n?: number): void;
  notifyAll(): void;
}
/**
 * The proxy of a manager-hosted Condition (a connected manager's `m.Condition()`):
 * its methods, and `waitFor(predicate, { timeout? })`, a loop of `wait()` and the
 * predicate run in the calling thread (Python's `ConditionProxy.wait_for`), the
 * timeout counted across every wake-up. The predicate runs first: when it holds
 * at once, nothing waits.
 */
export type RemoteCondition = Remote<RemoteConditionMethods> & {
  waitFor<T>(predicate: () => T | PromiseLike<T>, options?: { readonly timeout?: number }): Promise<T>;
  readonly sync: RemoteConditionMethods & { waitFor<T>(predicate: () => T, options?: { readonly timeout?: number }): T };
};
/** The methods of a manager-hosted Event. */
export interface RemoteEventMethods {
  isSet(): boolean;
  set(): void;
  clear(): void;
  /** True once set; false after `timeout` ms. */
  wait(options?: { readonly timeout?: number }): boolean;
}
/** The methods of a manager-hosted Barrier (a timeout, `abort()` or `reset()`: `ERR_BROKEN_BARRIER`). */
export interface RemoteBarrierMethods {
  /** This party's index in its pass, `0..parties-1`. */
  wait(options?: { readonly timeout?: number }): number;
  reset(): void;
  abort(): void;
  parties(): number;
  nWaiting(): number;
  broken(): boolean;
}
/** The methods of a manager-hosted Queue (`ERR_QUEUE_FULL`, `ERR_QUEUE_EMPTY`, `ERR_QUEUE_CLOSED` as §7). */
export interface RemoteQueueMethods<T> {
  put(item: T, options?: RemoteWaitOptions): void;
  get(options?: RemoteWaitOptions): DeepReadonly<T>;
  putNowait(item: T): void;
  getNowait(): DeepReadonly<T>;
  qsize(): number;
  empty(): boolean;
  full(): boolean;
  close(): void;
}
/** The methods of a manager-hosted JoinableQueue. */
export interface RemoteJoinableQueueMethods<T> extends RemoteQueueMethods<T> {
  taskDone(): void;
  join(): void;
}
/** The methods of a manager-hosted Value of element type `E` (typecode checks and C wrapping as §5). */
export interface RemoteValueMethods<E> {
  get(): E;
  set(value: E): void;
  /** Adds `delta`; returns the previous value (so do `sub` and `exchange`). */
  add(delta: E): E;
  sub(delta: E): E;
  exchange(value: E): E;
  compareExchange(expected: E, replacement: E): E;
}
/** The methods of a manager-hosted Array of element type `E` (negative indices, Python slices, C wrapping as §5). */
export interface RemoteArrayMethods<E> {
  length(): number;
  get(index: number): E;
  set(index: number, value: E): void;
  slice(start?: number | null, stop?: number | null, step?: number | null): E[];
  setSlice(start: number | null | undefined, stop: number | null | undefined, values: Iterable<E>, step?: number | null): void;
  toArray(): E[];
  add(index: number, delta: E): E;
  sub(index: number, delta: E): E;
  exchange(index: number, value: E): E;
  compareExchange(index: number, expected: E, replacement: E): E;
}
