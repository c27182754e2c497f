/**
 * The client side of a manager, in every thread that holds proxies: one link
 * per manager per thread (the main thread's port, or the first port that came
 * with a proxy), async calls pipelined on it (the messages of one tick posted
 * as one), sync calls through the link's shared-memory lane (lane.ts; they work
 * while this thread's event loop is blocked, and a reply that is not plain
 * data is read from the port with `receiveMessageOnPort`), and the proxies
 * themselves, a shared type of the codec.
 *
 * Lifetime: each proxy holds one reference on its thread's link and drops it
 * when collected (best effort). A proxy that crosses to another thread *pins*
 * its object (the pin travels on the sender's link, ahead of anything the
 * sender does later) and carries a fresh port; the receiver claims the pin on
 * its own link, and uses the port as that link if it has none yet. When a
 * thread exits, its ports close and the manager releases what it held.
 */
import { randomUUID } from 'node:crypto';
import { MessageChannel, type MessagePort, threadId, type TransferListItem } from 'node:worker_threads';
import { decode, encode } from '../codec/codec';
import { checkCallback, waitTimeout, type WaitOptions } from '../atomics/futex';
import { decodeError } from '../codec/error-codec';
import { InvalidStateError, ManagerGoneError } from '../errors';
import { encodingSideItem } from '../ipc/side-channel';
import type { EncodedError } from '../runtime/protocol';
import { deadlineOf, remainingMs } from '../timers';
import { LaneClient, LaneState, newLane, Requested } from './lane';
import { BroadcastChannel } from 'node:worker_threads';
import { broadcastEnd, broadcastNames, helloChannelName, type LinkEnd, portEnd } from './link-end';
import { GONE, type LinkMessage, Op, type ProxyDescriptor, type ReplyMessage } from './protocol';

/** How often a blocked sync call looks at the manager's `GONE` word (ms): the bound on noticing a dead manager. */
const GONE_POLL_MS = 50;

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

function goneError(): ManagerGoneError {
  return new ManagerGoneError('The manager is gone (shut down, or its thread or server died)');
}

function decodeReply(reply: ReplyMessage): { ok: boolean; value: unknown } {
  if (reply.err !== undefined) return { ok: false, value: decodeError(reply.err, reply.s) };
  return { ok: true, value: reply.s ? decode(reply.ok) : reply.ok };
}

let tokenPrefix: string | undefined;
let tokenCounter = 0;

function nextToken(): string {
  tokenPrefix ??= `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  return `${tokenPrefix}.${tokenCounter++}`;
}

/** What a proxy calls through: a thread's link (ClientLink), or the main thread's own TLS connection (direct.ts). */
export interface ProxyLink {
  readonly mgr: string;
  readonly closed: boolean;
  /** Ports can travel on this link. */
  readonly transfers: boolean;
  /** Pins made on this link are held by the server (a proxy that crosses carries `serverPin`). */
  readonly serverPins?: boolean;
  post(message: LinkMessage, transferList?: readonly TransferListItem[]): void;
  call(id: number, method: string, args: unknown[]): Promise<unknown>;
  callSync(id: number, method: string, args: unknown[]): unknown;
  fail(): void;
}

/** This thread's channel to one manager. */
export class ClientLink implements ProxyLink {
  readonly mgr: string;
  readonly control: Int32Array;
  readonly #controlBuffer: SharedArrayBuffer;
  readonly #port: LinkEnd;
  readonly #lane: LaneClient;
  readonly #pending = new Map<number, Pending>();
  /** Messages of this tick, posted together (one port message per microtask). */
  #outbox: LinkMessage[] = [];
  #transfer: TransferListItem[] = [];
  #flushing = false;
  /** Port messages posted so far: a lane request waits until the manager received them all. */
  #posted = 0;
  #seq = 0;
  #closed = false;

  /** A link over `port`, or (no port) a broadcast link (lib/manager/link-end.ts). */
  constructor(mgr: string, control: SharedArrayBuffer, port: MessagePort | undefined) {
    this.mgr = mgr;
    this.#controlBuffer = control;
    this.control = new Int32Array(control);
    const lane = newLane();
    this.#lane = new LaneClient(lane, this.control);
    if (port !== undefined) {
      this.#port = portEnd(port);
    } else {
      const link = randomUUID();
      const [post, listen] = broadcastNames(mgr, link);
      this.#port = broadcastEnd(listen, post);
      const hello = new BroadcastChannel(helloChannelName(mgr));
      hello.postMessage({ link, thread: threadId, lane });
      hello.close();
    }
    this.#port.listen(
      (replies) => this.#settleAll(replies as ReplyMessage | ReplyMessage[]),
      () => this.fail(),
    );
    this.#port.unref();
    if (port !== undefined) {
      this.post({ op: Op.Hello, lane });
    } else if (!this.#lane.waitReady(GONE_POLL_MS, () => Atomics.load(this.control, GONE) !== 0)) {
      this.fail();
    }
  }

  /** Ports can travel on this link (not on a broadcast link). */
  get transfers(): boolean {
    return this.#port.transfers;
  }

  get controlBuffer(): SharedArrayBuffer {
    return this.#controlBuffer;
  }

  get closed(): boolean {
    return this.#closed || Atomics.load(this.control, GONE) !== 0;
  }

  /**
   * Posts a message: the first of a tick at once (a lone call waits for
   * nothing), the others of the same tick together, when its microtasks run.
   */
  post(message: LinkMessage, transferList?: readonly TransferListItem[]): void {
    if (this.#closed) return;
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush());
      this.#posted++;
      this.#port.post(message, transferList);
      return;
    }
    this.#outbox.push(message);
    if (transferList !== undefined) for (const item of transferList) this.#transfer.push(item);
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#outbox.length === 0 || this.#closed) return;
    const messages = this.#outbox;
    const transfer = this.#transfer;
    this.#outbox = [];
    this.#transfer = [];
    this.#posted++;
    this.#port.post(messages.length === 1 ? messages[0] : messages, transfer);
  }

  /** The manager is gone: every pending call rejects, every later one too. */
  fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    links.delete(this.mgr);
    this.#outbox = [];
    this.#transfer = [];
    this.#port.close();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(goneError());
  }

  #settleAll(replies: ReplyMessage | ReplyMessage[]): void {
    if (Array.isArray(replies)) for (const reply of replies) this.#settle(reply);
    else this.#settle(replies);
  }

  #settle(reply: ReplyMessage): void {
    const call = this.#pending.get(reply.seq);
    if (call === undefined) return;
    this.#pending.delete(reply.seq);
    if (this.#pending.size === 0) this.#port.unref();
    try {
      const { ok, value } = decodeReply(reply);
      if (ok) call.resolve(value);
      else call.reject(value);
    } catch (error) {
      call.reject(error);
    }
  }

  call(id: number, method: string, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) throw goneError();
      const encoded = encode(args, 'args');
      const seq = this.#seq++;
      if (this.#pending.size === 0) this.#port.ref();
      this.#pending.set(seq, { resolve, reject });
      this.post({ op: Op.Call, seq, id, m: method, a: encoded.value, s: encoded.shared, sync: false }, encoded.transferList);
    });
  }

  callSync(id: number, method: string, args: unknown[]): unknown {
    if (this.closed) throw goneError();
    const seq = this.#seq++;
    const lane = this.#lane;
    // What this thread queued before goes first (the manager serves the lane after it).
    this.#flush();
    const requested = lane.request(seq, id, method, args, this.#posted);
    if (requested === Requested.Ring) {
      this.post({ op: Op.Ring });
      this.#flush();
    } else if (requested === Requested.No) {
      const encoded = encode(args, 'args');
      lane.expectOnPort();
      this.post({ op: Op.Call, seq, id, m: method, a: encoded.value, s: encoded.shared, sync: true }, encoded.transferList);
      this.#flush();
    }
    const state = lane.wait(GONE_POLL_MS, () => Atomics.load(this.control, GONE) !== 0);
    if (state === LaneState.Reply) {
      const [ok, value] = lane.readReply();
      if (ok) return value;
      throw decodeError(value as EncodedError, false);
    }
    lane.done();
    if (state === LaneState.OnPort) {
      // Replies to earlier async calls may be queued ahead of ours: settle them on the way.
      for (let received = this.#port.receive(); received !== undefined; received = this.#port.receive()) {
        const replies = received.message as ReplyMessage | ReplyMessage[];
        let mine: ReplyMessage | undefined;
        for (const reply of Array.isArray(replies) ? replies : [replies]) {
          if (reply.seq === seq) mine = reply;
          else this.#settle(reply);
        }
        if (mine === undefined) continue;
        const { ok, value } = decodeReply(mine);
        if (ok) return value;
        throw value;
      }
    }
    // The manager woke this lane on its way out, or died without a word.
    this.fail();
    throw goneError();
  }
}

/** This thread's links, by manager id. */
const links = new Map<string, ClientLink>();

/** This thread's link to a manager, if it has one. */
export function linkOf(mgr: string): ClientLink | undefined {
  return links.get(mgr);
}

/** Registers the link a thread got from starting or connecting to a manager. */
export function addLink(link: ClientLink): void {
  links.set(link.mgr, link);
}

/** Set in the manager thread itself: resolves its own proxies to the objects they stand for. */
let hostResolver: { mgr: string; resolve(descriptor: ProxyDescriptor): object } | undefined;

/** Installed by the manager thread. */
export function setHostResolver(resolver: { mgr: string; resolve(descriptor: ProxyDescriptor): object }): void {
  hostResolver = resolver;
}

const collected = new FinalizationRegistry<{ link: ProxyLink; id: number }>(({ link, id }) => {
  if (!link.closed) link.post({ op: Op.Decref, id });
});

/** What a proxy knows about itself (kept off the proxy, so method names never collide with it). */
interface ProxyState {
  readonly link: ProxyLink;
  readonly descriptor: ProxyDescriptor;
}
const states = new WeakMap<object, ProxyState>();

/**
 * A proxy to an object that lives in a manager: one async method per exposed
 * method, and the same methods, blocking, under `.sync`. Made only by a
 * manager's factories and by the codec.
 */
export class ManagerProxy {
  /** The blocking forms of the methods. */
  declare readonly sync: Record<string, (...args: unknown[]) => unknown>;
}

/** The state behind a proxy (for the Manager face and the codec). */
export function proxyState(proxy: object): ProxyState {
  const state = states.get(proxy);
  if (state === undefined) throw new InvalidStateError('Not a manager proxy');
  return state;
}

/** Builds a proxy for an object this link already holds one reference to. */
export function makeProxy(link: ProxyLink, descriptor: ProxyDescriptor): ManagerProxy {
  const proxy = new ManagerProxy();
  const { id } = descriptor;
  const sync: Record<string, (...args: unknown[]) => unknown> = Object.create(null);
  for (const method of descriptor.methods) {
    Object.defineProperty(proxy, method, {
      value: (...args: unknown[]) => link.call(id, method, args),
      enumerable: false,
    });
    sync[method] = (...args: unknown[]) => link.callSync(id, method, args);
  }
  if (descriptor.type === 'Condition' && descriptor.methods.includes('wait')) addWaitFor(proxy, link, id, sync);
  Object.defineProperty(proxy, 'sync', { value: Object.freeze(sync), enumerable: false });
  states.set(proxy, {
    link,
    descriptor: {
      mgr: descriptor.mgr,
      control: descriptor.control,
      id,
      type: descriptor.type,
      methods: descriptor.methods,
      types: descriptor.types,
      address: descriptor.address,
    },
  });
  collected.register(proxy, { link, id });
  return proxy;
}

/**
 * A hosted Condition's `waitFor` (the predicate runs here, in the caller's
 * thread, as with Python's `ConditionProxy.wait_for`): the predicate first,
 * then `wait()` with the time left and the predicate again, until it holds
 * or the timeout (counted across every wake-up) ran out. Gives the
 * predicate's last value.
 */
function addWaitFor(proxy: ManagerProxy, link: ProxyLink, id: number, sync: Record<string, (...args: unknown[]) => unknown>): void {
  const start = (predicate: unknown, options: WaitOptions | undefined): number => {
    checkCallback('predicate', predicate);
    return deadlineOf(waitTimeout(options));
  };
  const timeoutLeft = (deadline: number) => (deadline === Infinity ? [] : [{ timeout: remainingMs(deadline) }]);
  const waitFor = async (predicate: () => unknown, options?: WaitOptions): Promise<unknown> => {
    const deadline = start(predicate, options);
    let result = await predicate();
    while (!result && remainingMs(deadline) > 0) {
      await link.call(id, 'wait', timeoutLeft(deadline));
      result = await predicate();
    }
    return result;
  };
  Object.defineProperty(proxy, 'waitFor', { value: waitFor, enumerable: false });
  sync.waitFor = (predicate: unknown, options?: unknown) => {
    const deadline = start(predicate, options as WaitOptions | undefined);
    let result = (predicate as () => unknown)();
    while (!result && remainingMs(deadline) > 0) {
      link.callSync(id, 'wait', timeoutLeft(deadline));
      result = (predicate as () => unknown)();
    }
    return result;
  };
}

/** The codec's encode for proxies (registered with the Manager, lib/manager/manager.ts). */
export function describeProxy(proxy: ManagerProxy): ProxyDescriptor {
  const { link, descriptor } = proxyState(proxy);
  if (link.closed) throw goneError();
  const token = nextToken();
  if (encodingSideItem() || !link.transfers) {
    // Through a queue or a pipe, or from a broadcast link: no port rides along; a receiver
    // without a link to this manager opens a broadcast link.
    link.post({ op: Op.Pin, id: descriptor.id, token });
    return link.serverPins === true ? { ...descriptor, token, serverPin: true } : { ...descriptor, token };
  }
  const channel = new MessageChannel();
  link.post({ op: Op.Pin, id: descriptor.id, token, port: channel.port1 }, [channel.port1]);
  return link.serverPins === true
    ? { ...descriptor, token, port: channel.port2, serverPin: true }
    : { ...descriptor, token, port: channel.port2 };
}

/** The codec's decode for proxies. */
export function reviveProxy(descriptor: ProxyDescriptor): ManagerProxy {
  if (hostResolver !== undefined && hostResolver.mgr === descriptor.mgr) return hostResolver.resolve(descriptor) as ManagerProxy;
  let link = links.get(descriptor.mgr);
  if (link === undefined) {
    link = new ClientLink(descriptor.mgr, descriptor.control, descriptor.port);
    if (link.closed) throw goneError();
    links.set(descriptor.mgr, link);
  } else if (descriptor.port !== undefined) {
    descriptor.port.close();
  }
  if (descriptor.token !== undefined) {
    link.post(
      descriptor.serverPin === true
        ? { op: Op.Claim, token: descriptor.token, id: descriptor.id, server: true }
        : { op: Op.Claim, token: descriptor.token },
    );
  }
  return makeProxy(link, descriptor);
}
