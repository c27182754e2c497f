/**
 * The manager itself: the objects, their reference counts per link, and the
 * dispatch of calls. It runs in the manager thread (lib/entry/manager-worker.ts)
 * and never blocks: a method that returns a promise is awaited while other
 * calls are served.
 *
 * Lifetime. An object lives while some link holds a reference to it, or a pin
 * (a proxy in flight to another thread), or a name. With none left it becomes
 * *weak*: still reachable by id while anything in the manager (a dict that
 * stores it by reference) keeps it, collected otherwise. A link that closes (a
 * thread that exited, a connection that dropped) releases all it held,
 * including the manager-hosted locks it had acquired.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { decode, encode, sharedDescriptor } from '../codec/codec';
import { encodeError } from '../codec/error-codec';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { Array as createArray } from '../shared/array';
import { Value } from '../shared/value';
import { Barrier } from '../sync/barrier';
import { Condition } from '../sync/condition';
import { Event } from '../sync/event';
import { Lock } from '../sync/lock';
import { RLock } from '../sync/rlock';
import { BoundedSemaphore, Semaphore } from '../sync/semaphore';
import { Queue } from '../ipc/queue';
import { JoinableQueue } from '../ipc/joinable-queue';
import { invalidArg } from '../validate';
import { setHostResolver } from './client';
import { BUILTIN_TYPES, exposedMethods } from './hosted';
import { HOSTED_SYNC_TYPES, type Releasable } from './hosted-sync';
import { LaneService, PortLink, type ServedLane, serveBroadcastLinks } from './lane';
import { type LinkEnd, portEnd } from './link-end';
import { RemoteRef } from './wire';
import {
  type CallMessage,
  dropRef,
  GONE,
  type LinkMessage,
  type ManagerStats,
  Op,
  PROXY_TAG,
  type ProxyDescriptor,
  type ReplyMessage,
  ROOT_ID,
} from './protocol';

// biome-ignore lint/suspicious/noExplicitAny: a registered class takes whatever its factory was given
type AnyClass = new (...args: any[]) => object;

/** One channel to a client: a thread's port, or a TCP connection (wire.ts). */
export interface HostLink {
  /** Sends a reply; `transferList` only for port links. */
  send(reply: ReplyMessage, transferList: TransferListItem[] | undefined, sync: boolean): void;
  /** True for TCP connections: shared-memory objects cannot reach them, so they get manager-hosted ones. */
  readonly remote: boolean;
  /** References held, by object id. */
  readonly refs: Map<number, number>;
  /** Manager-hosted locks and semaphores this link acquired and has not released. */
  readonly held: Map<Releasable, number>;
  /** A thread's sync lane (port links only). */
  readonly lane?: ServedLane | undefined;
  /** Set once the link closed: nothing is granted to it any more. */
  closed?: boolean;
}

interface Entry {
  readonly id: number;
  readonly type: string;
  readonly methods: ReadonlySet<string>;
  readonly methodList: readonly string[];
  /** The object while it is held; undefined once weak. */
  strong: object | undefined;
  readonly weak: WeakRef<object>;
  refs: number;
  named: boolean;
}

/** The shared-memory types a local manager makes (API.md §9: "those shared-memory objects themselves"). */
const SHARED_FACTORIES: Record<string, (args: unknown[]) => object> = {
  Lock: () => new Lock(),
  RLock: () => new RLock(),
  Semaphore: (args) => new Semaphore(args[0] as number | undefined),
  BoundedSemaphore: (args) => new BoundedSemaphore(args[0] as number | undefined),
  Condition: (args) => new Condition(args[0] as Lock | RLock | undefined),
  Event: () => new Event(),
  Barrier: (args) => new Barrier(args[0] as number, args[1] as { timeout?: number } | undefined),
  Queue: (args) => new Queue(args[0] as { maxsize?: number } | undefined),
  JoinableQueue: (args) => new JoinableQueue(args[0] as { maxsize?: number } | undefined),
  Value: (args) => Value(args[0] as 'i', args[1] as number | undefined, args[2] as { lock?: boolean } | undefined),
  Array: (args) => createArray(args[0] as 'i', args[1] as number, args[2] as { lock?: boolean } | undefined),
};

export interface HostOptions {
  readonly mgr: string;
  readonly control: SharedArrayBuffer;
  readonly typeNames: readonly string[];
  /** Loads a registered class by its type name. */
  readonly loadClass: (type: string) => Promise<AnyClass>;
  /** Called once shutdown() has replied. */
  readonly onShutdown: () => void;
  /** The TCP address, when listening. */
  address?: { host: string; port: number } | undefined;
}

function isNameOption(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'name' && typeof (value as { name: unknown }).name === 'string';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class Host {
  readonly #options: HostOptions;
  readonly #control: Int32Array;
  readonly #entries = new Map<number, Entry>();
  readonly #idOf = new WeakMap<object, number>();
  readonly #names = new Map<string, { type: string; value: object }>();
  readonly #links = new Set<HostLink>();
  readonly #lanes: LaneService;
  readonly #pins = new Map<string, number>();
  readonly #earlyClaims = new Map<string, HostLink>();
  /** Pins a session claimed on one connection before they came on its other one (`Op.Claim`): the pin adds nothing. */
  readonly #claimedFirst = new Map<string, HostLink>();
  readonly #classes = new Map<string, { ctor: AnyClass; methods: string[] }>();
  #nextId = ROOT_ID + 1;
  #strongCount = 0;
  /** Set once a proxy was stored inside a managed object: results must then be walked for hosted objects. */
  #byReference = false;
  readonly #collected = new FinalizationRegistry<number>((id) => {
    const entry = this.#entries.get(id);
    if (entry !== undefined && entry.strong === undefined && entry.weak.deref() === undefined) this.#entries.delete(id);
  });

  constructor(options: HostOptions) {
    this.#options = options;
    this.#control = new Int32Array(options.control);
    this.#lanes = new LaneService(this.#control);
    const root = {
      create: (link: HostLink, type: unknown, args: unknown, name: unknown) => this.#create(type, args, name, link.remote),
      stats: () => this.stats(),
      shutdown: () => this.#shutdown(),
    };
    this.#register(ROOT_ID, 'manager', root, ['create', 'stats', 'shutdown']).named = true;
    setHostResolver({ mgr: options.mgr, resolve: (descriptor) => this.#resolve(descriptor) });
    serveBroadcastLinks(options.mgr, (end) => this.#adopt(end));
  }

  /** The root object's descriptor: what the main thread's Manager holds. */
  rootDescriptor(): ProxyDescriptor {
    const root = this.#entries.get(ROOT_ID)!;
    return {
      mgr: this.#options.mgr,
      control: this.#options.control,
      id: ROOT_ID,
      type: 'manager',
      methods: root.methodList,
      types: this.#options.typeNames,
      address: this.#options.address,
    };
  }

  stats(): ManagerStats {
    return { objects: this.#strongCount, named: this.#names.size, links: this.#links.size };
  }

  /** Marks the manager gone and wakes every blocked sync caller (they then see `GONE`). */
  markGone(): void {
    Atomics.store(this.#control, GONE, 1);
    Atomics.notify(this.#control, GONE);
    this.#lanes.stop();
  }

  /** Serves a thread's port (and its lane). */
  adoptPort(port: MessagePort): void {
    this.#adopt(portEnd(port));
  }

  #adopt(end: LinkEnd): PortLink {
    const portLink: PortLink = new PortLink(
      end,
      this.#lanes,
      (message) => this.receive(link, message),
      (call) => this.#call(link, { op: Op.Call, seq: call.seq, id: call.id, m: call.m, a: call.a, s: false, sync: true, lane: true }),
      () => this.dropLink(link),
    );
    const link: HostLink = {
      remote: false,
      refs: new Map(),
      held: new Map(),
      send: (reply, transferList, sync) => portLink.send(reply, transferList, sync),
      get lane() {
        return portLink.lane;
      },
    };
    this.#links.add(link);
    return portLink;
  }

  /** The TCP address, once listening. */
  setAddress(address: { host: string; port: number } | undefined): void {
    this.#options.address = address;
  }

  /** The object under `id` (a TCP client's argument; the server checked that the connection holds it). */
  objectFor(id: number): object {
    const entry = this.#live(id);
    const value = entry?.strong ?? entry?.weak.deref();
    if (value === undefined) throw new InvalidStateError(`Manager object ${id} no longer exists`);
    this.#byReference = true;
    return value;
  }

  /** A TCP client's proxy crossed to another of its threads: one more reference, if the connection holds one already. */
  increfRemote(link: HostLink, id: number): boolean {
    const entry = this.#live(id);
    if (entry === undefined || !link.refs.has(id)) return false;
    this.#ref(entry);
    this.#moveTo(link, id);
    return true;
  }

  /** Adds a link served by someone else (a TCP connection). */
  addLink(link: HostLink): void {
    this.#links.add(link);
  }

  /** A link closed: release everything it held. */
  dropLink(link: HostLink): void {
    if (!this.#links.delete(link)) return;
    link.closed = true;
    for (const [lock, count] of link.held) for (let i = 0; i < count; i++) lock._releaseFor(link);
    link.held.clear();
    for (const [id, count] of link.refs) this.#unref(id, count);
    link.refs.clear();
    for (const [token, claimer] of this.#earlyClaims) if (claimer === link) this.#earlyClaims.delete(token);
    for (const [token, claimer] of this.#claimedFirst) if (claimer === link) this.#claimedFirst.delete(token);
  }

  receive(link: HostLink, message: LinkMessage): void {
    switch (message.op) {
      case Op.Call:
        this.#call(link, message);
        return;
      case Op.Decref: {
        if (dropRef(link.refs, message.id)) this.#unref(message.id, 1);
        return;
      }
      case Op.Pin: {
        if (message.port !== undefined) this.adoptPort(message.port);
        if (this.#claimedFirst.delete(message.token)) return;
        const entry = this.#live(message.id);
        if (entry === undefined) return;
        this.#ref(entry);
        const claimer = this.#earlyClaims.get(message.token);
        if (claimer !== undefined) {
          this.#earlyClaims.delete(message.token);
          this.#moveTo(claimer, entry.id);
        } else {
          this.#pins.set(message.token, entry.id);
        }
        return;
      }
      case Op.Claim: {
        const id = this.#pins.get(message.token);
        if (id === undefined) {
          // The pin is still on its way on the sender's link. A session claiming a pin its other
          // connection made (over TCP, lib/manager/direct.ts) holds the object meanwhile (its own
          // release of it comes after the pin on that connection): the claim takes its reference now,
          // so nothing the claimer does next (a call, then its release) can meet a count without it.
          const entry =
            message.server === true && message.id !== undefined && link.refs.has(message.id) ? this.#live(message.id) : undefined;
          if (entry !== undefined) {
            this.#ref(entry);
            this.#moveTo(link, entry.id);
            this.#claimedFirst.set(message.token, link);
            return;
          }
          this.#earlyClaims.set(message.token, link);
          return;
        }
        this.#pins.delete(message.token);
        if (this.#links.has(link)) this.#moveTo(link, id);
        else this.#unref(id, 1);
        return;
      }
      default:
        return;
    }
  }

  /** Whether `token` is a pin nobody has claimed yet. */
  isPinned(token: string): boolean {
    return this.#pins.has(token);
  }

  /** Drops a pin nobody claimed (its sender's session closed); false when it was claimed already. */
  unpin(token: string): boolean {
    const id = this.#pins.get(token);
    if (id === undefined) return false;
    this.#pins.delete(token);
    this.#unref(id, 1);
    return true;
  }

  /** Turns a pin's reference into `link`'s. */
  #moveTo(link: HostLink, id: number): void {
    link.refs.set(id, (link.refs.get(id) ?? 0) + 1);
  }

  #register(id: number, type: string, value: object, methods: readonly string[]): Entry {
    const entry: Entry = {
      id,
      type,
      methods: new Set(methods),
      methodList: methods,
      strong: value,
      weak: new WeakRef(value),
      refs: 0,
      named: false,
    };
    this.#entries.set(id, entry);
    this.#idOf.set(value, id);
    if (id !== ROOT_ID) this.#strongCount++;
    this.#collected.register(value, id);
    return entry;
  }

  #live(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.strong === undefined) {
      const value = entry.weak.deref();
      if (value === undefined) {
        this.#entries.delete(id);
        return undefined;
      }
    }
    return entry;
  }

  #ref(entry: Entry): void {
    entry.refs++;
    if (entry.strong === undefined) {
      entry.strong = entry.weak.deref();
      this.#strongCount++;
    }
  }

  #unref(id: number, count: number): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    entry.refs -= count;
    if (entry.refs <= 0 && !entry.named && entry.strong !== undefined) {
      entry.refs = 0;
      entry.strong = undefined;
      this.#strongCount--;
    }
  }

  /** In the manager thread, a proxy to one of its own objects is that object (stored by reference). */
  #resolve(descriptor: ProxyDescriptor): object {
    descriptor.port?.close();
    if (descriptor.token !== undefined) {
      const id = this.#pins.get(descriptor.token);
      if (id !== undefined) {
        this.#pins.delete(descriptor.token);
        this.#unref(id, 1);
      }
    }
    const entry = this.#entries.get(descriptor.id);
    const value = entry?.strong ?? entry?.weak.deref();
    if (value === undefined) throw new InvalidStateError(`Manager object ${descriptor.id} no longer exists`);
    this.#byReference = true;
    return value;
  }

  #descriptor(entry: Entry, link: HostLink): object {
    this.#ref(entry);
    this.#moveTo(link, entry.id);
    if (link.remote) return new RemoteRef(entry.id, entry.type, entry.methodList);
    const data: ProxyDescriptor = {
      mgr: this.#options.mgr,
      control: this.#options.control,
      id: entry.id,
      type: entry.type,
      methods: entry.methodList,
    };
    return sharedDescriptor(PROXY_TAG, data);
  }

  /** Replaces the hosted objects in a result by proxy descriptors that `link` holds. */
  #outbound(value: unknown, link: HostLink, found: { proxies: boolean }): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const id = this.#idOf.get(value);
    if (id !== undefined) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) {
        found.proxies = true;
        return this.#descriptor(entry, link);
      }
    }
    if (!this.#byReference) return value;
    const seen = new Map<object, unknown>();
    const walk = (item: unknown): unknown => {
      if (typeof item !== 'object' || item === null) return item;
      const object = item as object;
      const done = seen.get(object);
      if (done !== undefined) return done;
      const itemId = this.#idOf.get(object);
      const entry = itemId === undefined ? undefined : this.#entries.get(itemId);
      if (entry !== undefined) {
        found.proxies = true;
        const descriptor = this.#descriptor(entry, link);
        seen.set(object, descriptor);
        return descriptor;
      }
      if (Array.isArray(object)) {
        const copy: unknown[] = [];
        seen.set(object, copy);
        for (const child of object) copy.push(walk(child));
        return copy;
      }
      if (object instanceof Map) {
        const copy = new Map();
        seen.set(object, copy);
        for (const [k, v] of object) copy.set(walk(k), walk(v));
        return copy;
      }
      if (object instanceof Set) {
        const copy = new Set();
        seen.set(object, copy);
        for (const v of object) copy.add(walk(v));
        return copy;
      }
      const proto = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) return object;
      const copy: Record<string, unknown> = {};
      seen.set(object, copy);
      for (const key of Object.keys(object)) copy[key] = walk((object as Record<string, unknown>)[key]);
      return copy;
    };
    return walk(value);
  }

  #reply(link: HostLink, message: CallMessage, ok: boolean, value: unknown): void {
    if (!this.#links.has(link)) return;
    let reply: ReplyMessage;
    let transferList: TransferListItem[] | undefined;
    if (ok) {
      try {
        const found = { proxies: false };
        const outbound = this.#outbound(value, link, found);
        if (message.lane === true && !found.proxies && link.lane?.reply(true, outbound) === true) return;
        const encoded = link.remote ? { value: outbound, shared: false, transferList: undefined } : encode(outbound, 'result');
        reply = { seq: message.seq, ok: encoded.value, s: encoded.shared || found.proxies };
        transferList = encoded.transferList;
      } catch (error) {
        this.#reply(link, message, false, error);
        return;
      }
    } else {
      const encoded = encodeError(value);
      if (message.lane === true && !encoded.shared && link.lane?.reply(false, encoded.error) === true) return;
      reply = { seq: message.seq, err: encoded.error, s: encoded.shared };
    }
    link.send(reply, transferList, message.sync);
  }

  #call(link: HostLink, message: CallMessage): void {
    const entry = this.#live(message.id);
    if (entry === undefined) {
      this.#reply(link, message, false, new InvalidStateError(`Manager object ${message.id} no longer exists`));
      return;
    }
    if (link.remote && message.id !== ROOT_ID && !link.refs.has(message.id)) {
      this.#reply(link, message, false, new InvalidStateError(`This connection holds no object ${message.id}`));
      return;
    }
    if (typeof message.m !== 'string' || !entry.methods.has(message.m)) {
      this.#reply(link, message, false, new InvalidArgumentError(`A ${entry.type} proxy has no method ${String(message.m)}`));
      return;
    }
    const target = (entry.strong ?? entry.weak.deref()) as Record<string, (...args: unknown[]) => unknown>;
    let result: unknown;
    try {
      const args = message.s ? decode(message.a) : message.a;
      if (!Array.isArray(args)) throw invalidArg('args', 'an array', args);
      result = entry.id === ROOT_ID || entry.type in HOSTED_SYNC_TYPES ? target[message.m]!(link, ...args) : target[message.m]!(...args);
    } catch (error) {
      this.#reply(link, message, false, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.#reply(link, message, true, value),
        (error) => this.#reply(link, message, false, error),
      );
    } else {
      this.#reply(link, message, true, result);
    }
  }

  async #create(type: unknown, givenArgs: unknown, givenName: unknown, remote: boolean): Promise<object> {
    if (typeof type !== 'string') throw invalidArg('type', 'a type name', type);
    if (!Array.isArray(givenArgs)) throw invalidArg('args', 'an array', givenArgs);
    if (givenName !== undefined && (typeof givenName !== 'string' || givenName.length === 0))
      throw invalidArg('name', 'a non-empty string', givenName);
    let args: unknown[] = givenArgs;
    let name = givenName as string | undefined;
    if (this.#options.typeNames.includes(type)) {
      // A registered class's factory: a last `{ name }` beyond the constructor's declared parameters names the object.
      const ctor = (await this.#classOf(type)).ctor;
      const last = args.at(-1);
      if (args.length > ctor.length && isNameOption(last)) {
        args = args.slice(0, -1);
        name = (last as { name: string }).name;
      }
    }
    if (name !== undefined) {
      const known = this.#names.get(name);
      if (known !== undefined) {
        if (known.type !== type)
          throw new InvalidArgumentError(`The manager's object named ${JSON.stringify(name)} is a ${known.type}, not a ${type}`);
        return known.value;
      }
    }
    const value = await this.#make(type, args, remote);
    if (name !== undefined) {
      const raced = this.#names.get(name);
      if (raced !== undefined) return raced.value;
      this.#names.set(name, { type, value });
      const id = this.#idOf.get(value);
      if (id !== undefined) this.#entries.get(id)!.named = true;
    }
    return value;
  }

  async #make(type: string, args: unknown[], remote: boolean): Promise<object> {
    const builtin = BUILTIN_TYPES[type as keyof typeof BUILTIN_TYPES];
    if (builtin !== undefined) {
      const value = new builtin(args[0]);
      this.#register(this.#nextId++, type, value, exposedMethods(builtin));
      return value;
    }
    // Shared memory does not cross machines: a TCP client gets a manager-hosted object.
    const shared = SHARED_FACTORIES[type];
    if (shared !== undefined && !remote) return shared(args);
    const hosted = HOSTED_SYNC_TYPES[type];
    if (hosted !== undefined) {
      const value = new hosted(...args);
      this.#register(this.#nextId++, type, value, exposedMethods(hosted));
      return value;
    }
    if (!this.#options.typeNames.includes(type)) throw new InvalidArgumentError(`This manager has no type ${JSON.stringify(type)}`);
    const known = await this.#classOf(type);
    const value = new known.ctor(...args);
    this.#register(this.#nextId++, type, value, known.methods);
    return value;
  }

  async #classOf(type: string): Promise<{ ctor: AnyClass; methods: string[] }> {
    let known = this.#classes.get(type);
    if (known === undefined) {
      const ctor = await this.#options.loadClass(type);
      known = { ctor, methods: exposedMethods(ctor) };
      this.#classes.set(type, known);
    }
    return known;
  }

  #shutdown(): void {
    // Reply first, then go: the caller hears that shutdown happened.
    setImmediate(() => {
      this.markGone();
      this.#options.onShutdown();
    });
  }
}
