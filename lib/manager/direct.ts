/**
 * The connecting thread's own TLS connection to a manager server: the async
 * calls of the proxies this thread makes go straight to the server and back
 * (two threads on the way, like Python's two processes), not through the
 * relay thread. It joins the relay's session on the server (server.ts), so
 * both connections share one set of references and one lock owner.
 *
 * What needs the relay still goes there: sync calls (this thread blocks, and a
 * socket of its own cannot be read while it does), calls whose arguments the
 * wire cannot carry as they are, and the ports of proxies that cross to other
 * threads (the pin itself is made on the server, on this connection, ahead of
 * anything this thread does later, and the receiver's relay claims it there,
 * with the object's id: a claim that comes before its pin, which may still
 * sit in this thread's socket while it blocks, takes its reference at once,
 * since the session holds the object until then, and the pin adds nothing.
 * So no release on either connection can meet a count without it).
 *
 * Order (API §9: a thread's calls are applied in the order it made them).
 * This connection numbers its calls; before anything of this thread's goes
 * through the relay, the frames of the calls here still unanswered go there
 * too (`Op.Replay`, once each), and the relay sends them first: the server
 * applies each call of this connection once, the first time its number comes
 * on either connection, and answers it here. Waiting on the server for this
 * connection's frames instead could deadlock: while this thread blocks in a
 * sync call, its later writes may still sit in its own socket's buffer. And
 * while a call of this thread's through the relay is unanswered, later calls
 * take the relay too.
 *
 * Failure: when this connection closes, or the relay's, every pending and
 * later call fails with `ERR_MANAGER_GONE` (the manager's `GONE` word is set,
 * so the other threads' sync calls see it too).
 */
import type * as tls from 'node:tls';
import type { TransferListItem } from 'node:worker_threads';
import { encode } from '../codec/codec';
import { decodeError } from '../codec/error-codec';
import { InvalidStateError, ManagerGoneError } from '../errors';
import type { EncodedError } from '../runtime/protocol';
import { type ClientLink, ManagerProxy, makeProxy, type ProxyLink, proxyState } from './client';
import { GONE, type LinkMessage, Op, type ProxyDescriptor, ROOT_ID, WIRE_VERSION } from './protocol';
import { connectTls } from './tls-psk';
import { callFrame, frame, readFrames, RemoteRef, writeFrame } from './wire';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Proxies of the relay's link in the arguments: kept alive until the answer, so their release cannot overtake the call. */
  readonly held: ManagerProxy[] | undefined;
  /** The call's frame, handed to the relay if this thread's next call through it comes first (see the header). */
  readonly bytes: Buffer;
}

function goneError(): ManagerGoneError {
  return new ManagerGoneError('The connection to the manager closed');
}

export class DirectLink implements ProxyLink {
  readonly mgr: string;
  readonly transfers = true;
  readonly serverPins = true;
  readonly #control: Int32Array;
  readonly #controlBuffer: SharedArrayBuffer;
  readonly #socket: tls.TLSSocket;
  readonly #relay: ClientLink;
  readonly #pending = new Map<number, Pending>();
  readonly #onClose: () => void;
  #seq = 0;
  /** The highest number whose frame went to the relay too (`#handOff`). */
  #handed = -1;
  /** This thread's calls through the relay that are unanswered: later calls follow them there. */
  #relayed = 0;
  #closed = false;

  private constructor(socket: tls.TLSSocket, relay: ClientLink, controlBuffer: SharedArrayBuffer, onClose: () => void) {
    this.mgr = relay.mgr;
    this.#socket = socket;
    this.#relay = relay;
    this.#controlBuffer = controlBuffer;
    this.#control = new Int32Array(controlBuffer);
    this.#onClose = onClose;
  }

  /**
   * Connects to the server at `address` and joins `session` (the relay's).
   * `onClose` runs once if the connection closes while the manager is in use.
   */
  static async connect(
    address: { readonly host: string; readonly port: number },
    authkey: Uint8Array,
    session: string,
    relay: ClientLink,
    onClose: () => void,
  ): Promise<DirectLink> {
    const socket = await connectTls(address, authkey);
    const link = new DirectLink(socket, relay, relay.controlBuffer, onClose);
    await new Promise<void>((resolve, reject) => {
      let hello = true;
      const refused = (error: Error) => {
        if (!hello) return;
        hello = false;
        socket.destroy();
        reject(error);
      };
      readFrames(
        socket,
        (value) => {
          if (hello) {
            const f = value as { t?: unknown; error?: unknown };
            if (f.t !== 'hello') return refused(new InvalidStateError('The manager did not answer the hello'));
            if (typeof f.error === 'string') return refused(new InvalidStateError(`The manager refused the connection: ${f.error}`));
            hello = false;
            resolve();
            return;
          }
          link.#onFrame(value);
        },
        () => socket.destroy(),
      );
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        refused(new ManagerGoneError('The manager closed the connection during the handshake'));
        link.#lost();
      });
      socket.write(frame({ t: 'hello', v: WIRE_VERSION, session }));
    });
    socket.unref();
    return link;
  }

  get closed(): boolean {
    return this.#closed || Atomics.load(this.#control, GONE) !== 0;
  }

  #write(value: unknown): void {
    if (!this.#closed) writeFrame(this.#socket, frame(value));
  }

  /** A proxy of this thread's: decrefs and pins go on this connection; a port for the receiver goes to the relay. */
  post(message: LinkMessage, transferList?: readonly TransferListItem[]): void {
    if (this.closed) return;
    switch (message.op) {
      case Op.Decref:
        this.#write({ t: 'decref', id: message.id });
        return;
      case Op.Pin:
        // The root is never counted: nothing to pin (the receiver reaches it through its relay link).
        if (message.id !== ROOT_ID) this.#write({ t: 'pin', id: message.id, token: message.token });
        if (message.port !== undefined)
          this.#relay.post({ op: Op.Pin, id: message.id, token: message.token, port: message.port, server: true }, transferList);
        return;
      default:
        this.#relay.post(message, transferList);
    }
  }

  call(id: number, method: string, args: unknown[]): Promise<unknown> {
    // Stopping a connected manager stops its relay, which closes the session (the server goes on).
    if (id === ROOT_ID && method === 'shutdown') return this.#relay.call(id, method, args);
    if (this.closed) return Promise.reject(goneError());
    if (this.#relayed > 0) return this.#viaRelay(id, method, args);
    const held: ManagerProxy[] = [];
    const wire = args.some((arg) => typeof arg === 'object' && arg !== null)
      ? args.map((arg) => (typeof arg === 'object' && arg !== null ? this.#toWire(arg, held, new Map()) : arg))
      : args;
    const seq = this.#seq;
    let bytes: Buffer;
    try {
      bytes = callFrame(seq, id, method, wire);
    } catch {
      // Not what the wire carries as it is (a function, a class instance …): what cannot cross a
      // thread rejects as everywhere else (ERR_UNCLONEABLE); the rest goes through the relay, which
      // copies it as a thread would (structured clone) before it frames it.
      try {
        encode(args, 'args');
      } catch (error) {
        return Promise.reject(error);
      }
      return this.#viaRelay(id, method, args);
    }
    this.#seq++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#socket.ref();
      this.#pending.set(seq, { resolve, reject, held: held.length === 0 ? undefined : held, bytes });
      writeFrame(this.#socket, bytes);
    });
  }

  /** Through the relay (lib/manager/relay.ts): this thread blocks until it answers. */
  callSync(id: number, method: string, args: unknown[]): unknown {
    if (this.closed) throw goneError();
    this.#handOff();
    return this.#relay.callSync(id, method, args);
  }

  /** An async call through the relay, after this connection's unanswered ones; later calls follow it there until it is answered. */
  #viaRelay(id: number, method: string, args: unknown[]): Promise<unknown> {
    this.#handOff();
    const promise = this.#relay.call(id, method, args);
    this.#relayed++;
    const answered = () => {
      this.#relayed--;
    };
    promise.then(answered, answered);
    return promise;
  }

  /**
   * Gives the relay the frames of this connection's unanswered calls not given
   * to it yet (in the order they were made): it sends them ahead of what this
   * thread posts it next, and the server applies each call once.
   */
  #handOff(): void {
    if (this.#pending.size === 0 || this.#seq - 1 <= this.#handed) return;
    const frames: Buffer[] = [];
    let length = 0;
    for (const [seq, call] of this.#pending) {
      if (seq <= this.#handed) continue;
      frames.push(call.bytes);
      length += call.bytes.length;
    }
    this.#handed = this.#seq - 1;
    if (frames.length === 0) return;
    // A buffer of their own (a frame may be a slice of a larger one), moved to the relay thread.
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const bytesOf of frames) {
      bytes.set(bytesOf, offset);
      offset += bytesOf.length;
    }
    this.#relay.post({ op: Op.Replay, n: frames.length, bytes }, [bytes.buffer]);
  }

  /** The manager is gone for this thread: every pending call rejects, every later one too. */
  fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(goneError());
  }

  #lost(): void {
    if (this.#closed) return;
    Atomics.store(this.#control, GONE, 1);
    Atomics.notify(this.#control, GONE);
    this.fail();
    this.#onClose();
  }

  /** This manager's proxies become references (the session holds them); everything else travels as it is. */
  #toWire(value: unknown, held: ManagerProxy[], seen: Map<object, unknown>): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
    if (value instanceof ManagerProxy) {
      const { link, descriptor } = proxyState(value);
      if (descriptor.mgr !== this.mgr) return value;
      if (link !== this) held.push(value);
      const ref = new RemoteRef(descriptor.id, descriptor.type, descriptor.methods);
      seen.set(value, ref);
      return ref;
    }
    if (Array.isArray(value)) {
      const copy: unknown[] = [];
      seen.set(value, copy);
      for (const item of value) copy.push(this.#toWire(item, held, seen));
      return copy;
    }
    if (value instanceof Map) {
      const copy = new Map();
      seen.set(value, copy);
      for (const [k, v] of value) copy.set(this.#toWire(k, held, seen), this.#toWire(v, held, seen));
      return copy;
    }
    if (value instanceof Set) {
      const copy = new Set();
      seen.set(value, copy);
      for (const v of value) copy.add(this.#toWire(v, held, seen));
      return copy;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    const copy: Record<string, unknown> = {};
    seen.set(value, copy);
    for (const key of Object.keys(value)) copy[key] = this.#toWire((value as Record<string, unknown>)[key], held, seen);
    return copy;
  }

  /** References in an answer become this thread's proxies, held on this connection. */
  #fromWire(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (value instanceof RemoteRef) {
      const descriptor: ProxyDescriptor = {
        mgr: this.mgr,
        control: this.#controlBuffer,
        id: value.id,
        type: value.type,
        methods: value.methods,
      };
      return makeProxy(this, descriptor);
    }
    if (Array.isArray(value)) return value.map((item) => this.#fromWire(item));
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [this.#fromWire(k), this.#fromWire(v)]));
    if (value instanceof Set) return new Set([...value].map((v) => this.#fromWire(v)));
    if (Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) out[key] = this.#fromWire((value as Record<string, unknown>)[key]);
      return out;
    }
    return value;
  }

  #onFrame(value: unknown): void {
    const r = value as { t?: unknown; seq?: unknown; ok?: unknown; err?: EncodedError };
    if (r.t !== 'reply' || typeof r.seq !== 'number') {
      this.#socket.destroy();
      return;
    }
    const call = this.#pending.get(r.seq);
    if (call === undefined) return;
    this.#pending.delete(r.seq);
    if (this.#pending.size === 0) this.#socket.unref();
    try {
      if (r.err !== undefined) call.reject(decodeError(r.err, false));
      else call.resolve(this.#fromWire(r.ok));
    } catch (error) {
      call.reject(error);
    }
  }
}
