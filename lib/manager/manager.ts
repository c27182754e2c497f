/**
 * The Manager face (API.md §9): `Manager.start()`, `Manager.register()`,
 * `Manager.connect()`, and the factories. The objects live in a manager
 * thread of their own (lib/entry/manager-worker.ts, mode `host`); a connected
 * manager starts a relay thread (mode `relay`) that holds a TLS connection for
 * this process's other threads and for sync calls, and this thread's own
 * connection (lib/manager/direct.ts) carries its async calls, so its proxies
 * have the same async and sync methods and cross to workers like local ones.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
// Tracks the deaths of the Workers this thread creates from now on: a manager drops the
// broadcast link of a thread that died (lib/manager/link-end.ts) only once it is seen dead.
import '../atomics/liveness';
import { registerSharedType } from '../codec/codec';
import { decodeError } from '../codec/error-codec';
import { InvalidStateError, ManagerGoneError } from '../errors';
import type { SharedArray } from '../shared/array';
import type { SharedValue } from '../shared/value';
import type { ElementOf, Typecode } from '../shared/typecodes';
import type { Barrier } from '../sync/barrier';
import type { Condition } from '../sync/condition';
import type { Event } from '../sync/event';
import type { Lock } from '../sync/lock';
import type { RLock } from '../sync/rlock';
import type { BoundedSemaphore, Semaphore } from '../sync/semaphore';
import type { JoinableQueue } from '../ipc/joinable-queue';
import type { Queue } from '../ipc/queue';
import { reserveDirectory } from '../shared/shm-env';
import { threadExecArgv } from '../tasks/exec-argv';
import { task } from '../tasks/task-ref';
import { checkInternal, INTERNAL, invalidArg } from '../validate';
import { addLink, ClientLink, describeProxy, makeProxy, ManagerProxy, type ProxyLink, proxyState, reviveProxy } from './client';
import {
  GONE,
  PROXY_TAG,
  type ManagerStats,
  type ManagerWorkerData,
  type ProxyDescriptor,
  type ReadyMessage,
  type StartFailedMessage,
} from './protocol';
import type {
  FactoryOptions,
  ManagedDict,
  ManagedList,
  ManagedNamespace,
  ManagedSet,
  Proxied,
  Remote,
  RemoteArrayMethods,
  RemoteBarrierMethods,
  RemoteCondition,
  RemoteEventMethods,
  RemoteJoinableQueueMethods,
  RemoteLockMethods,
  RemoteQueueMethods,
  RemoteSemaphoreMethods,
  RemoteValueMethods,
} from './types';

/** What `connect` uses of lib/manager/direct.ts (the connecting thread's own TLS connection). */
interface DirectConnection extends ProxyLink {
  fail(): void;
}

/**
 * lib/manager/direct.ts, loaded with the first TCP connection: it brings the TLS wire and
 * devalue, which a program that only starts local managers never needs (nor type-checks).
 */
function loadDirect(): {
  DirectLink: {
    connect(
      address: { readonly host: string; readonly port: number },
      authkey: Uint8Array,
      session: string,
      relay: ClientLink,
      onClose: () => void,
    ): Promise<DirectConnection>;
  };
} {
  return require('./direct');
}

// biome-ignore lint/suspicious/noExplicitAny: any class
type AnyClass = abstract new (...args: any[]) => any;

/** A reference to an exported class of a module, typed as `C`: what `Manager.register` takes. */
export interface ClassRef<C extends AnyClass = AnyClass> {
  /** The module's file URL. */
  readonly file: string;
  /** The export's name. */
  readonly name: string;
  /** Type only: the class. */
  readonly __class?: C;
}

/**
 * A typed reference to the class exported as `name` by the module `file` (a
 * path or file URL; TypeScript modules load through tsx). Nothing is loaded in
 * the calling thread: the manager thread loads the class the first time it
 * makes one.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when the file does not exist or `name` is empty.
 * @example
 * const Counter = classRef<typeof import('./counter').Counter>(require.resolve('./counter'), 'Counter');
 * const MyManager = Manager.register({ Counter });
 */
export function classRef<C extends AnyClass>(file: string | URL, name: string): ClassRef<C> {
  const ref = task(file, name);
  return Object.freeze({ file: ref.file, name: ref.name });
}

/** Options of `Manager.start()`. */
export interface ManagerStartOptions {
  /** Also listen on TCP here (`port: 0` picks a free port; `m.address` tells which). */
  readonly address?: { readonly host: string; readonly port: number };
  /** The shared secret of the TCP channel (required with `address`): a string or bytes. */
  readonly authkey?: string | Uint8Array;
}

/** Options of `Manager.connect()`. */
export interface ManagerConnectOptions {
  readonly address: { readonly host: string; readonly port: number };
  readonly authkey: string | Uint8Array;
}

/** The factories of a registered class `C`: its constructor's arguments, then an optional `{ name }`. */
export type ClassFactory<C extends AnyClass> = (
  ...args: [...ConstructorParameters<C>] | [...ConstructorParameters<C>, FactoryOptions]
) => Promise<Proxied<InstanceType<C>>>;

/** A manager that also makes the registered classes of `R`. */
export type RegisteredManager<R extends Record<string, ClassRef>> = Manager & {
  readonly [K in keyof R]: R[K] extends ClassRef<infer C> ? ClassFactory<C> : never;
};

/**
 * The factories of §5–7 on a manager reached over TCP (`Manager.connect()`):
 * shared memory does not cross machines, so each returns a proxy to an object
 * the server hosts, with async methods and their blocking forms under `.sync`.
 *
 * @example
 * const m = await Manager.connect({ address, authkey });
 * const lock = await m.Lock({ name: 'db' }); // Remote<RemoteLockMethods>
 * if (await lock.acquire({ timeout: 1000 })) await lock.release();
 */
export interface RemoteFactories {
  Lock(options?: FactoryOptions): Promise<Remote<RemoteLockMethods>>;
  RLock(options?: FactoryOptions): Promise<Remote<RemoteLockMethods>>;
  Semaphore(value?: number, options?: FactoryOptions): Promise<Remote<RemoteSemaphoreMethods>>;
  BoundedSemaphore(value?: number, options?: FactoryOptions): Promise<Remote<RemoteSemaphoreMethods>>;
  /** On `lock` (a hosted Lock or RLock of the same server) or a new RLock. */
  Condition(lock?: Remote<RemoteLockMethods>, options?: FactoryOptions): Promise<RemoteCondition>;
  Event(options?: FactoryOptions): Promise<Remote<RemoteEventMethods>>;
  Barrier(parties: number, options?: FactoryOptions & { readonly timeout?: number }): Promise<Remote<RemoteBarrierMethods>>;
  Queue<T = unknown>(options?: ManagedQueueOptions): Promise<Remote<RemoteQueueMethods<T>>>;
  JoinableQueue<T = unknown>(options?: ManagedQueueOptions): Promise<Remote<RemoteJoinableQueueMethods<T>>>;
  Value<C extends Typecode>(typecode: C, init?: ElementOf<C>, options?: FactoryOptions): Promise<Remote<RemoteValueMethods<ElementOf<C>>>>;
  Array<C extends Typecode>(
    typecode: C,
    sizeOrValues: number | Iterable<ElementOf<C>>,
    options?: FactoryOptions,
  ): Promise<Remote<RemoteArrayMethods<ElementOf<C>>>>;
}

/** A manager reached over TCP: a Manager whose §5–7 factories give manager-hosted proxies (`RemoteFactories`). */
export type ConnectedManager = Omit<Manager, keyof RemoteFactories> & RemoteFactories;

/** A connected manager that also makes the registered classes of `R`. */
export type RegisteredConnectedManager<R extends Record<string, ClassRef>> = ConnectedManager & {
  readonly [K in keyof R]: R[K] extends ClassRef<infer C> ? ClassFactory<C> : never;
};

/** The class `Manager.register()` returns. */
export interface ManagerClass<R extends Record<string, ClassRef>> {
  start(options?: ManagerStartOptions): Promise<RegisteredManager<R>>;
  connect(options: ManagerConnectOptions): Promise<RegisteredConnectedManager<R>>;
  register<S extends Record<string, ClassRef>>(types: S): ManagerClass<R & S>;
}

/** Options of `m.Queue()` / `m.JoinableQueue()`. */
export interface ManagedQueueOptions extends FactoryOptions {
  readonly maxsize?: number;
}

/** The root object's methods, as its proxy has them. */
interface RootProxy {
  create(type: string, args: unknown[], name: string | undefined): Promise<unknown>;
  stats(): Promise<ManagerStats>;
  shutdown(): Promise<void>;
}

const devEntry = __filename.endsWith('.ts');
const MANAGER_ENTRY = path.join(__dirname, '..', 'entry', devEntry ? 'manager-worker-dev.cjs' : 'manager-worker.js');
const TYPE_NAME = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(Object.getOwnPropertyNames(Object.getPrototypeOf({})));

function authkeyBytes(authkey: unknown): Uint8Array {
  if (typeof authkey === 'string' && authkey.length > 0) return new TextEncoder().encode(authkey);
  if (authkey instanceof Uint8Array && authkey.length > 0) return new Uint8Array(authkey);
  throw invalidArg('authkey', 'a non-empty string or Uint8Array', authkey);
}

function checkAddress(address: unknown): { host: string; port: number } {
  const { host, port } = (address ?? {}) as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || host.length === 0 || typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArg('address', '{ host: string, port: integer 0..65535 }', address);
  }
  return { host, port };
}

function nameOf(options: FactoryOptions | undefined): string | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw invalidArg('options', 'an options object', options);
  const { name } = options;
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw invalidArg('options.name', 'a non-empty string', name);
  return name;
}

/** Splits a factory's `{ name }` (and other options) from what the object's constructor takes. */
function withoutName<T extends object>(options: T | undefined): Omit<T, 'name'> | undefined {
  if (options === undefined || options === null) return undefined;
  const { name: _name, ...rest } = options as T & FactoryOptions;
  return rest;
}

/**
 * Holds objects in a thread of its own and hands out typed proxies to them
 * that work from every thread (Python's `SyncManager`), and, when it listens
 * on an address, from other processes and machines (`BaseManager`).
 *
 * @example
 * await using m = await Manager.start();
 * const d = await m.dict<string, number>([['a', 1]]);
 * await d.set('b', 2);
 * await pool.map(tasksMod.bump, [[d, 'b'], [d, 'b']]);
 */
export class Manager {
  /** Registered types of this class: name → class reference. */
  static readonly types: Readonly<Record<string, ClassRef>> = Object.freeze({});

  readonly #root: ManagerProxy;
  readonly #worker: Worker | undefined;
  #shutdown: Promise<void> | undefined;

  /** Made by `start()`, `connect()`, and the codec. */
  constructor(token: typeof INTERNAL, root: ManagerProxy, worker?: Worker) {
    checkInternal(token, 'Manager', 'Manager.start() or Manager.connect()');
    this.#root = root;
    this.#worker = worker;
    for (const type of proxyState(root).descriptor.types ?? []) {
      Object.defineProperty(this, type, {
        value: (...args: unknown[]) => this.#create(type, args, undefined),
        enumerable: false,
      });
    }
  }

  /**
   * A Manager class that also makes instances of the given classes: `m.Name(...args)`
   * runs `new Name(...args)` in the manager thread and returns a `Proxied<Name>`
   * (Python's `BaseManager.register`). A last argument `{ name }` beyond the
   * constructor's declared parameters names the object.
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a name that is not an identifier, clashes with a factory, or a value that is not a `classRef`.
   * @example
   * const MyManager = Manager.register({ Counter: classRef<typeof Counter>(require.resolve('./counter'), 'Counter') });
   * await using m = await MyManager.start();
   * const c = await m.Counter(0);
   */
  static register<R extends Record<string, ClassRef>>(this: typeof Manager, types: R): ManagerClass<R> {
    if (typeof types !== 'object' || types === null) throw invalidArg('types', 'an object of classRef()s', types);
    // biome-ignore lint/complexity/noThisInStatic: `this` is the registered subclass, whose types it must use
    const merged: Record<string, ClassRef> = { ...this.types };
    for (const [name, ref] of Object.entries(types)) {
      if (!TYPE_NAME.test(name) || name in Manager.prototype || RESERVED.has(name)) {
        throw invalidArg(`types.${name}`, 'an identifier that is not a Manager method', name);
      }
      if (typeof ref !== 'object' || ref === null || typeof ref.file !== 'string' || typeof ref.name !== 'string') {
        throw invalidArg(`types.${name}`, 'a classRef(file, name)', ref);
      }
      merged[name] = Object.freeze({ file: ref.file, name: ref.name });
    }
    // biome-ignore lint/complexity/noThisInStatic: `this` is the registered subclass, whose types it must use
    const Registered = class extends this {
      static override readonly types = Object.freeze(merged);
    };
    return Registered as unknown as ManagerClass<R>;
  }

  /**
   * Starts a manager thread (and a TCP listener when `address` is given).
   *
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`, by rejecting) for a bad address, or an address without `authkey`.
   * @example
   * await using m = await Manager.start();
   * const server = await Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'secret' });
   * server.address; // { host: '127.0.0.1', port: 40123 }
   */
  static async start<M extends typeof Manager>(this: M, options?: ManagerStartOptions): Promise<Manager> {
    const { address, authkey } = options ?? {};
    const checked = address === undefined ? undefined : checkAddress(address);
    if (checked !== undefined && authkey === undefined) throw invalidArg('authkey', 'a key (required with address)', authkey);
    const key = authkey === undefined ? undefined : authkeyBytes(authkey);
    // biome-ignore lint/complexity/noThisInStatic: `this` is the registered subclass, whose types it must use
    return spawn('host', this.types, checked, key);
  }

  /**
   * Connects to a manager listening on `address` (started with `Manager.start({ address, authkey })`
   * or `npx parapool manager`). The proxies are the same as a local manager's; the objects of §5–7
   * (`m.Lock()`, `m.Queue()` …) are manager-hosted proxies here.
   *
   * @throws AuthenticationError (`ERR_AUTH`, by rejecting) when the keys differ; ManagerGoneError (`ERR_MANAGER_GONE`) when nothing answers.
   * @example
   * const m = await MyManager.connect({ address: { host: '10.0.0.5', port: 50000 }, authkey: key });
   * const d = await m.dict<string, number>(undefined, { name: 'results' });
   */
  static async connect<M extends typeof Manager>(this: M, options: ManagerConnectOptions): Promise<ConnectedManager> {
    if (typeof options !== 'object' || options === null) throw invalidArg('options', '{ address, authkey }', options);
    // The factories of §5–7 give the server's hosted objects here (RemoteFactories); the methods are the same.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the registered subclass, whose types it must use
    return (await spawn('relay', this.types, checkAddress(options.address), authkeyBytes(options.authkey))) as unknown as ConnectedManager;
  }

  /** Where the manager listens (or the server this one is connected to); undefined for a local manager. */
  get address(): { readonly host: string; readonly port: number } | undefined {
    return proxyState(this.#root).descriptor.address;
  }

  #create(type: string, args: unknown[], name: string | undefined): Promise<never> {
    return (this.#root as unknown as RootProxy).create(type, args, name) as Promise<never>;
  }

  /**
   * A dict in the manager (Python's `manager.dict()`).
   * @example
   * const d = await m.dict<string, number>([['a', 1]]);
   * await d.get('a'); // 1
   */
  dict<K, V>(
    init?: Iterable<readonly [K, V]> | ReadonlyMap<K, V> | (K extends string ? Record<string, V> : never),
    options?: FactoryOptions,
  ): Promise<ManagedDict<K, V>> {
    return this.#call('dict', init === undefined ? [] : [init], options);
  }

  /**
   * A list in the manager (Python's `manager.list()`).
   * @example
   * const l = await m.list<number>([1, 2, 3]);
   * await l.pop(); // 3
   */
  list<T>(init?: Iterable<T>, options?: FactoryOptions): Promise<ManagedList<T>> {
    return this.#call('list', init === undefined ? [] : [[...init]], options);
  }

  /**
   * A set in the manager.
   * @example
   * const s = await m.set<string>(['a']);
   */
  set<T>(init?: Iterable<T>, options?: FactoryOptions): Promise<ManagedSet<T>> {
    return this.#call('set', init === undefined ? [] : [[...init]], options);
  }

  /**
   * A namespace in the manager (Python's `manager.Namespace()`).
   * @example
   * const ns = await m.Namespace({ x: 1 });
   * await ns.set('x', 2);
   */
  Namespace<T extends object>(init?: T, options?: FactoryOptions): Promise<ManagedNamespace<T>> {
    return this.#call('Namespace', init === undefined ? [] : [init], options);
  }

  /**
   * A Lock (API.md §6). From a local manager, parapool's own shared-memory Lock.
   * @example
   * const lock = await m.Lock({ name: 'db' });
   */
  Lock(options?: FactoryOptions): Promise<Lock> {
    return this.#call('Lock', [], options);
  }

  /** An RLock (API.md §6). @example const r = await m.RLock(); */
  RLock(options?: FactoryOptions): Promise<RLock> {
    return this.#call('RLock', [], options);
  }

  /** A Semaphore (API.md §6). @default value 1 @example const s = await m.Semaphore(3); */
  Semaphore(value = 1, options?: FactoryOptions): Promise<Semaphore> {
    return this.#call('Semaphore', [value], options);
  }

  /** A BoundedSemaphore (API.md §6). @default value 1 @example const s = await m.BoundedSemaphore(2); */
  BoundedSemaphore(value = 1, options?: FactoryOptions): Promise<BoundedSemaphore> {
    return this.#call('BoundedSemaphore', [value], options);
  }

  /** A Condition (API.md §6), on `lock` or a new RLock. Local managers only. @example const c = await m.Condition(); */
  Condition(lock?: Lock | RLock, options?: FactoryOptions): Promise<Condition> {
    return this.#call('Condition', lock === undefined ? [] : [lock], options);
  }

  /** An Event (API.md §6). @example const e = await m.Event(); */
  Event(options?: FactoryOptions): Promise<Event> {
    return this.#call('Event', [], options);
  }

  /** A Barrier for `parties` (API.md §6; no `action`: a function cannot reach the manager). Local managers only. @example const b = await m.Barrier(2); */
  Barrier(parties: number, options?: FactoryOptions & { readonly timeout?: number }): Promise<Barrier> {
    return this.#call('Barrier', [parties, withoutName(options)], options);
  }

  /** A Queue (API.md §7). @example const q = await m.Queue<number>({ maxsize: 10 }); */
  Queue<T = unknown>(options?: ManagedQueueOptions): Promise<Queue<T>> {
    return this.#call('Queue', [withoutName(options)], options);
  }

  /** A JoinableQueue (API.md §7). @example const q = await m.JoinableQueue<string>(); */
  JoinableQueue<T = unknown>(options?: ManagedQueueOptions): Promise<JoinableQueue<T>> {
    return this.#call('JoinableQueue', [withoutName(options)], options);
  }

  /**
   * A Value (API.md §5). Over TCP, a manager-hosted value with `get()`, `set(v)` and `add(n)`.
   * @example const v = await m.Value('i', 0);
   */
  Value<C extends Typecode>(
    typecode: C,
    init?: ElementOf<C>,
    options?: FactoryOptions & { readonly lock?: boolean },
  ): Promise<SharedValue<C>> {
    return this.#call('Value', [typecode, init, withoutName(options)], options);
  }

  /** An Array (API.md §5). Local managers only. @example const a = await m.Array('d', 10); */
  Array<C extends Typecode>(
    typecode: C,
    sizeOrValues: number | Iterable<ElementOf<C>>,
    options?: FactoryOptions & { readonly lock?: boolean },
  ): Promise<SharedArray<C>> {
    const init = typeof sizeOrValues === 'number' ? sizeOrValues : [...sizeOrValues];
    return this.#call('Array', [typecode, init, withoutName(options)], options);
  }

  #call<R>(type: string, args: unknown[], options: FactoryOptions | undefined): Promise<R> {
    try {
      return this.#create(type, args, nameOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The manager's counters: objects held, named objects, open links.
   * @example
   * (await m.stats()).objects; // 0 after every proxy was released
   */
  stats(): Promise<ManagerStats> {
    return (this.#root as unknown as RootProxy).stats();
  }

  /**
   * Stops the manager: every pending and later call of every proxy, in every
   * thread, fails with `ERR_MANAGER_GONE`. On a connected manager, closes the
   * connection (the server goes on). Resolves once the thread has ended; calling it again is harmless.
   * @example
   * await m.shutdown();
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#stop();
    return this.#shutdown;
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    const { link } = proxyState(this.#root);
    if (worker === undefined) {
      // A manager that reached this thread through the codec: ask the manager thread to stop.
      await (this.#root as unknown as RootProxy).shutdown().catch((error: unknown) => {
        if (!(error instanceof ManagerGoneError)) throw error;
      });
      return;
    }
    worker.ref();
    const exited = new Promise<void>((resolve) => {
      if (worker.threadId === -1) resolve();
      else worker.once('exit', () => resolve());
    });
    try {
      await (this.#root as unknown as RootProxy).shutdown();
    } catch {
      await worker.terminate();
    }
    await exited;
    link.fail();
  }

  static {
    // A proxy crosses as its descriptor, with a pin and a fresh port (lib/manager/client.ts).
    registerSharedType<ManagerProxy, ProxyDescriptor>(ManagerProxy, PROXY_TAG, { encode: describeProxy, decode: reviveProxy });
    // A Manager crosses to other threads as its root proxy (each factory is a call on it).
    registerSharedType<Manager, { root: ManagerProxy }>(Manager, 'parapool.Manager', {
      encode: (manager) => ({ root: manager.#root }),
      decode: (descriptor) => new Manager(INTERNAL, descriptor.root),
    });
  }

  /** `await using m = await Manager.start()` shuts it down at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

async function spawn(
  mode: 'host' | 'relay',
  types: Readonly<Record<string, ClassRef>>,
  address: { host: string; port: number } | undefined,
  authkey: Uint8Array | undefined,
): Promise<Manager> {
  const mgr = randomUUID();
  const control = new SharedArrayBuffer(16);
  const channel = new MessageChannel();
  const data: ManagerWorkerData = {
    mode,
    mgr,
    control,
    port: channel.port2,
    types: Object.fromEntries(Object.entries(types).map(([name, ref]) => [name, { file: ref.file, name: ref.name }])),
    address,
    authkey,
  };
  reserveDirectory();
  const worker = new Worker(MANAGER_ENTRY, {
    workerData: data,
    transferList: [channel.port2],
    name: `parapool manager ${mode}`,
    execArgv: threadExecArgv(),
  });
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const onExit = (code: number) => reject(new ManagerGoneError(`The manager thread exited with code ${code} before it was ready`));
    const onError = (error: unknown) => reject(error);
    worker.once('exit', onExit);
    worker.once('error', onError);
    worker.once('message', (message: ReadyMessage | StartFailedMessage) => {
      worker.off('exit', onExit);
      worker.off('error', onError);
      if (message.ready) resolve(message);
      else {
        reject(decodeError(message.error, false));
        void worker.terminate();
      }
    });
  });
  const controlWords = new Int32Array(control);
  const link = new ClientLink(mgr, control, channel.port1);
  addLink(link);
  // Connected: this thread's async calls take a connection of their own, in the relay's session.
  let direct: DirectConnection | undefined;
  if (mode === 'relay') {
    try {
      direct = await loadDirect().DirectLink.connect(address!, authkey!, ready.session!, link, () => void worker.terminate());
    } catch (error) {
      link.fail();
      await worker.terminate();
      throw error;
    }
  }
  let crash: unknown;
  worker.on('error', (error) => {
    crash ??= error;
  });
  const ended = new Promise<ManagerEnd>((resolve) => {
    worker.once('exit', (code) => {
      Atomics.store(controlWords, GONE, 1);
      Atomics.notify(controlWords, GONE);
      link.fail();
      direct?.fail();
      resolve({ code, error: crash });
    });
  });
  worker.unref();
  const manager = new Manager(INTERNAL, makeProxy(direct ?? link, ready.root), worker);
  ends.set(manager, ended);
  return manager;
}

/** How a manager thread ended: its exit code, and what it threw if it crashed. */
export interface ManagerEnd {
  readonly code: number;
  readonly error: unknown;
}

const ends = new WeakMap<Manager, Promise<ManagerEnd>>();

/**
 * Settles when the thread of a manager this process started (or connected
 * through) has ended, for whatever reason (the `parapool manager` command
 * watches it). Not exported from the package.
 */
export function managerEnded(manager: Manager): Promise<ManagerEnd> {
  const ended = ends.get(manager);
  if (ended === undefined) throw new InvalidStateError('This manager was not started or connected in this thread');
  return ended;
}
