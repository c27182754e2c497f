/**
 * A connected manager's thread (mode `relay`): holds a TLS connection to the
 * server (the first of this process's session, lib/manager/server.ts; the main
 * thread's async calls take its own, lib/manager/direct.ts) and serves this
 * process's threads, and the main thread's sync calls, exactly as a local host does
 * (same link messages, same sync flags), forwarding each call; the main
 * thread's unanswered direct calls it hands over (`Op.Replay`) go first. References
 * are counted twice: the server counts this connection's, this relay counts
 * each local thread's, and tells the server when one is dropped, so a thread
 * that exits releases what it held on the server too.
 */
import { decode, encode, sharedDescriptor } from '../codec/codec';
import { encodeError } from '../codec/error-codec';
import { InvalidStateError, ManagerGoneError } from '../errors';
import type { EncodedError } from '../runtime/protocol';
import { setHostResolver } from './client';
import {
  type CallMessage,
  dropRef,
  GONE,
  type LinkMessage,
  type ManagerWorkerData,
  Op,
  PROXY_TAG,
  type ProxyDescriptor,
  type ReadyMessage,
  type ReplyMessage,
  ROOT_ID,
  WIRE_VERSION,
} from './protocol';
import { LaneService, PortLink, serveBroadcastLinks } from './lane';
import { type LinkEnd, portEnd } from './link-end';
import { connectTls } from './tls-psk';
import { callFrame, frame, readFrames, RemoteRef, writeFrame } from './wire';

interface RelayLink {
  readonly port: PortLink;
  readonly refs: Map<number, number>;
}

interface ServerReply {
  t: 'reply';
  seq: number;
  ok?: unknown;
  err?: EncodedError;
}

const ROOT_METHODS = ['create', 'stats', 'shutdown'];

export async function startRelay(data: ManagerWorkerData): Promise<ReadyMessage> {
  const socket = await connectTls(data.address!, data.authkey!);
  const control = new Int32Array(data.control);
  const links = new Set<RelayLink>();
  const pending = new Map<number, { link: RelayLink; message: CallMessage }>();
  const pins = new Map<string, number>();
  const earlyClaims = new Map<string, RelayLink>();
  let seq = 0;
  let types: string[] = [];
  let session: string | undefined;
  /** Server-made pins claimed while decoding a call's arguments: dropped once the call is written. */
  let afterCall: number[] | undefined;
  let helloDone: ((error?: Error) => void) | undefined;
  /** A look at the lanes is due after the replies just read (see the reply handler). */
  let looking = false;

  const write = (value: unknown) => writeFrame(socket, frame(value));

  const lanes = new LaneService(control);
  const markGone = () => {
    Atomics.store(control, GONE, 1);
    Atomics.notify(control, GONE);
    lanes.stop();
  };
  process.on('exit', markGone);
  process.on('uncaughtExceptionMonitor', markGone);

  /** `proxies`: the value holds proxy descriptors (never answered in a lane). */
  const reply = (link: RelayLink, message: CallMessage, ok: boolean, value: unknown, proxies = false) => {
    if (!links.has(link)) return;
    let out: ReplyMessage;
    let transferList: ReturnType<typeof encode>['transferList'];
    if (ok) {
      if (message.lane === true && !proxies && link.port.lane?.reply(true, value) === true) return;
      const encoded = encode(value, 'result');
      out = { seq: message.seq, ok: encoded.value, s: true };
      transferList = encoded.transferList;
    } else {
      const encoded = encodeError(value);
      if (message.lane === true && !encoded.shared && link.port.lane?.reply(false, encoded.error) === true) return;
      out = { seq: message.seq, err: encoded.error, s: encoded.shared };
    }
    link.port.send(out, transferList, message.sync);
  };

  const addRef = (link: RelayLink, id: number) => link.refs.set(id, (link.refs.get(id) ?? 0) + 1);

  /** Server references in a reply become local descriptors held by `link` (`found.proxies` set). */
  const localize = (value: unknown, link: RelayLink, found: { proxies: boolean }): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (value instanceof RemoteRef) {
      found.proxies = true;
      addRef(link, value.id);
      const descriptor: ProxyDescriptor = { mgr: data.mgr, control: data.control, id: value.id, type: value.type, methods: value.methods };
      return sharedDescriptor(PROXY_TAG, descriptor);
    }
    if (Array.isArray(value)) return value.map((item) => localize(item, link, found));
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [localize(k, link, found), localize(v, link, found)]));
    if (value instanceof Set) return new Set([...value].map((v) => localize(v, link, found)));
    if (Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) out[key] = localize((value as Record<string, unknown>)[key], link, found);
      return out;
    }
    return value;
  };

  // A proxy of this manager passed as an argument travels as a reference to the server's object.
  setHostResolver({
    mgr: data.mgr,
    resolve: (descriptor) => {
      descriptor.port?.close();
      if (descriptor.serverPin === true && descriptor.token !== undefined) {
        // The pin is the server's: this connection takes it, and drops it after the call that carries the reference.
        write({ t: 'claim', token: descriptor.token, id: descriptor.id });
        afterCall ??= [];
        afterCall.push(descriptor.id);
      } else if (descriptor.token !== undefined && pins.delete(descriptor.token)) write({ t: 'decref', id: descriptor.id });
      return new RemoteRef(descriptor.id, descriptor.type, descriptor.methods);
    },
  });

  const dropLink = (link: RelayLink) => {
    if (!links.delete(link)) return;
    for (const [id, count] of link.refs) for (let i = 0; i < count; i++) write({ t: 'decref', id });
    link.refs.clear();
  };

  const dropAfterCall = () => {
    const ids = afterCall;
    afterCall = undefined;
    if (ids !== undefined) for (const id of ids) write({ t: 'decref', id });
  };

  const goneAll = () => {
    markGone();
    const calls = [...pending.values()];
    pending.clear();
    for (const { link, message } of calls) reply(link, message, false, new ManagerGoneError('The connection to the manager closed'));
  };

  const onLocal = (link: RelayLink, message: LinkMessage) => {
    switch (message.op) {
      case Op.Call: {
        if (message.id === ROOT_ID && message.m === 'shutdown') {
          reply(link, message, true, undefined);
          setImmediate(() => {
            markGone();
            socket.destroy();
            process.exit(0);
          });
          return;
        }
        if (Atomics.load(control, GONE) !== 0)
          return reply(link, message, false, new ManagerGoneError('The connection to the manager closed'));
        let bytes: Buffer;
        const remoteSeq = seq++;
        afterCall = undefined;
        try {
          const args = message.s ? decode(message.a) : message.a;
          bytes = callFrame(remoteSeq, message.id, message.m, args as unknown[]);
        } catch (error) {
          dropAfterCall();
          return reply(link, message, false, error);
        }
        pending.set(remoteSeq, { link, message });
        writeFrame(socket, bytes);
        dropAfterCall();
        return;
      }
      case Op.Decref: {
        if (dropRef(link.refs, message.id)) write({ t: 'decref', id: message.id });
        return;
      }
      case Op.Replay: {
        // The connecting thread's direct calls still unanswered: ahead of its call that follows (lib/manager/direct.ts).
        if (Atomics.load(control, GONE) !== 0) return;
        write({ t: 'dup', n: message.n });
        writeFrame(socket, Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength));
        return;
      }
      case Op.Pin: {
        if (message.port !== undefined) adopt(portEnd(message.port));
        // A pin the main thread's own connection made on the server: the receiver claims it there.
        if (message.server === true) return;
        write({ t: 'incref', id: message.id });
        const claimer = earlyClaims.get(message.token);
        if (claimer !== undefined) {
          earlyClaims.delete(message.token);
          addRef(claimer, message.id);
        } else pins.set(message.token, message.id);
        return;
      }
      case Op.Claim: {
        if (message.server === true && message.id !== undefined) {
          write({ t: 'claim', token: message.token, id: message.id });
          addRef(link, message.id);
          return;
        }
        const id = pins.get(message.token);
        if (id === undefined) {
          earlyClaims.set(message.token, link);
          return;
        }
        pins.delete(message.token);
        addRef(link, id);
        return;
      }
      default:
    }
  };

  const adopt = (end: LinkEnd): PortLink => {
    const portLink: PortLink = new PortLink(
      end,
      lanes,
      (message) => onLocal(link, message),
      (call) => onLocal(link, { op: Op.Call, seq: call.seq, id: call.id, m: call.m, a: call.a, s: false, sync: true, lane: true }),
      () => dropLink(link),
    );
    const link: RelayLink = { port: portLink, refs: new Map() };
    links.add(link);
    return portLink;
  };
  serveBroadcastLinks(data.mgr, adopt);

  readFrames(
    socket,
    (value) => {
      const f = value as { t?: unknown; v?: unknown; types?: unknown; error?: unknown; session?: unknown };
      if (f.t === 'hello') {
        if (typeof f.error === 'string') helloDone?.(new InvalidStateError(`The manager refused the connection: ${f.error}`));
        else {
          types = Array.isArray(f.types) ? f.types.map(String) : [];
          session = typeof f.session === 'string' ? f.session : undefined;
          helloDone?.();
        }
        return;
      }
      if (f.t !== 'reply') return socket.destroy();
      const r = value as ServerReply;
      const call = pending.get(r.seq);
      if (call === undefined) return;
      pending.delete(r.seq);
      // A thread blocked in a sync call tends to make the next one at once: once the replies of
      // this chunk are in their lanes, look for it a moment (as a host does after serving a lane),
      // so it need not ring.
      if (call.message.lane === true && !looking) {
        looking = true;
        queueMicrotask(() => {
          looking = false;
          lanes.wake();
        });
      }
      if (r.err !== undefined) {
        if (!links.has(call.link)) return;
        if (call.message.lane === true && call.link.port.lane?.reply(false, r.err) === true) return;
        call.link.port.send({ seq: call.message.seq, err: r.err, s: false }, undefined, call.message.sync);
        return;
      }
      let local: unknown;
      const found = { proxies: false };
      try {
        local = localize(r.ok, call.link, found);
      } catch (error) {
        return reply(call.link, call.message, false, error);
      }
      reply(call.link, call.message, true, local, found.proxies);
    },
    () => socket.destroy(),
  );
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    helloDone?.(new ManagerGoneError('The manager closed the connection during the handshake'));
    goneAll();
    setImmediate(() => process.exit(0));
  });

  await new Promise<void>((resolve, reject) => {
    helloDone = (error) => {
      helloDone = undefined;
      if (error === undefined) resolve();
      else reject(error);
    };
    write({ t: 'hello', v: WIRE_VERSION });
  });
  adopt(portEnd(data.port));
  return {
    ready: true,
    session,
    address: data.address,
    types,
    root: { mgr: data.mgr, control: data.control, id: ROOT_ID, type: 'manager', methods: ROOT_METHODS, types, address: data.address },
  };
}
