/**
 * A host's TCP listener. Each client process is one link of the host, a
 * *session*: its first connection (the relay thread's, lib/manager/relay.ts)
 * opens it and learns its secret id in the hello; the main thread's own
 * connection (lib/manager/direct.ts) joins it by that id. The connections of
 * a session share its references and its locks (one owner, as with one
 * connection); each call is answered on the connection it came on (the
 * session renumbers calls and routes the replies back). The session, and what
 * it held, ends when its last connection closes.
 *
 * A call is applied when its frame arrives (Host.receive starts it at once).
 * The main thread's connection numbers its calls in order; the relay's may
 * carry copies of some of them (a `dup` frame, then that many call frames:
 * the main thread's calls still unanswered when it made one through the
 * relay). Each of them is applied once, the first time its number arrives on
 * either connection, and answered on the main thread's; a number at or below
 * the highest applied is skipped. So the main thread's calls are applied in
 * the order it made them, whichever connection they took.
 *
 * A pin the main thread's connection makes for another thread of its process
 * is claimed on the relay's, with the object's id; a claim that comes first
 * takes the reference at once when the session holds the object (it does
 * until the pin came: its own release comes after the pin on that connection),
 * and the pin then adds nothing (Host, `Op.Claim`).
 *
 * The first frame of a connection must be the client's hello with the
 * protocol version; then frames are `call`, `incref`, `decref`, `pin`,
 * `claim` and `dup`. Anything else, a frame over the cap, or one that fails
 * devalue's parse or the guard closes that connection; the server goes on
 * serving the others.
 */
import { randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import { encodeError } from '../codec/error-codec';
import { InvalidStateError } from '../errors';
import type { Host, HostLink } from './host';
import { Op, type ReplyMessage, WIRE_VERSION } from './protocol';
import { serverTlsOptions } from './tls-psk';
import { frame, readFrames, RemoteRef, replyFrame, writeFrame } from './wire';

/** How long a new connection may take to finish the TLS handshake and say hello. */
const HELLO_TIMEOUT_MS = 5_000;

export interface Listening {
  readonly address: { host: string; port: number };
  close(): void;
}

/** Client → server frames. */
type ClientFrame =
  | { t: 'hello'; v: number; session?: string }
  | { t: 'call'; seq: number; id: number; m: string; a: unknown[] }
  | { t: 'incref'; id: number }
  | { t: 'decref'; id: number }
  | { t: 'pin'; id: number; token: string }
  | { t: 'claim'; token: string; id?: number }
  | { t: 'dup'; n: number };

/** One client process: its link (refs, locks) and its open connections. */
interface Session {
  readonly id: string;
  readonly link: HostLink;
  readonly sockets: Set<tls.TLSSocket>;
  /** Calls in progress, by the session's number: the connection and the number the client gave. */
  readonly routes: Map<number, { socket: tls.TLSSocket; seq: number }>;
  /** Pins this session made and has not claimed: dropped with it. */
  readonly pins: Set<string>;
  next: number;
  /** The connection that joined the session (the main thread's, lib/manager/direct.ts), while open. */
  joined: tls.TLSSocket | undefined;
  /** The highest number of a call of the joined connection applied so far (on either connection). */
  joinedApplied: number;
}

function isFrame(value: unknown): value is ClientFrame {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Record<string, unknown>;
  switch (f.t) {
    case 'hello':
      return typeof f.v === 'number' && (f.session === undefined || typeof f.session === 'string');
    case 'call':
      return Number.isInteger(f.seq) && Number.isInteger(f.id) && typeof f.m === 'string' && Array.isArray(f.a);
    case 'incref':
    case 'decref':
      return Number.isInteger(f.id);
    case 'pin':
      return Number.isInteger(f.id) && typeof f.token === 'string';
    case 'claim':
      return typeof f.token === 'string' && (f.id === undefined || Number.isInteger(f.id));
    case 'dup':
      return Number.isInteger(f.n) && (f.n as number) > 0;
    default:
      return false;
  }
}

export function listen(
  host: Host,
  address: { host: string; port: number },
  authkey: Uint8Array,
  types: readonly string[],
): Promise<Listening> {
  const sockets = new Set<tls.TLSSocket>();
  const sessions = new Map<string, Session>();
  const reply = (session: Session, out: ReplyMessage) => {
    const route = session.routes.get(out.seq);
    if (route === undefined) return;
    session.routes.delete(out.seq);
    if (route.socket.destroyed) return;
    let bytes: Buffer;
    try {
      bytes = out.err === undefined ? replyFrame(route.seq, true, out.ok) : replyFrame(route.seq, false, out.err);
    } catch (error) {
      bytes = replyFrame(route.seq, false, encodeError(error).error);
    }
    writeFrame(route.socket, bytes);
  };
  const openSession = (): Session => {
    const id = randomBytes(16).toString('hex');
    const session: Session = {
      id,
      sockets: new Set(),
      routes: new Map(),
      pins: new Set(),
      next: 0,
      joined: undefined,
      joinedApplied: -1,
      link: {
        remote: true,
        refs: new Map(),
        held: new Map(),
        send: (out) => reply(session, out),
      },
    };
    sessions.set(id, session);
    host.addLink(session.link);
    return session;
  };
  const server = tls.createServer({ ...serverTlsOptions(authkey), handshakeTimeout: HELLO_TIMEOUT_MS }, (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let session: Session | undefined;
    /** Call frames still to come that are copies of the joined connection's (after a `dup`). */
    let dups = 0;
    // A connection that has not said hello in time is not a client (half a frame waits forever otherwise).
    const helloTimer = setTimeout(() => close(), HELLO_TIMEOUT_MS).unref();
    const close = () => {
      clearTimeout(helloTimer);
      sockets.delete(socket);
      if (session !== undefined) {
        session.sockets.delete(socket);
        if (session.joined === socket) session.joined = undefined;
        if (session.sockets.size === 0) {
          sessions.delete(session.id);
          host.dropLink(session.link);
          for (const token of session.pins) host.unpin(token);
        }
      }
      session = undefined;
      socket.destroy();
    };
    socket.on('error', close);
    socket.on('close', close);
    readFrames(
      socket,
      (value) => {
        if (!isFrame(value)) return close();
        if (session === undefined) {
          if (value.t !== 'hello') return close();
          const refuse = (error: string) => socket.end(frame({ t: 'hello', v: WIRE_VERSION, error }));
          if (value.v !== WIRE_VERSION) return refuse(`protocol version ${value.v} is not ${WIRE_VERSION}`);
          const joined = value.session === undefined ? openSession() : sessions.get(value.session);
          if (joined === undefined) return refuse('no such session (its connections closed)');
          if (value.session !== undefined && joined.joined !== undefined) return refuse('the session has its second connection');
          clearTimeout(helloTimer);
          session = joined;
          session.sockets.add(socket);
          if (value.session !== undefined) {
            session.joined = socket;
            session.joinedApplied = -1;
          }
          socket.write(frame({ t: 'hello', v: WIRE_VERSION, types, session: session.id }));
          return;
        }
        const { link } = session;
        if (dups > 0 && value.t !== 'call') return close();
        switch (value.t) {
          case 'call': {
            let to = socket;
            if (dups > 0) {
              // A copy of a call of the joined connection: applied there, unless it was already.
              dups--;
              if (session.joined === undefined || value.seq <= session.joinedApplied) return;
              to = session.joined;
              session.joinedApplied = value.seq;
            } else if (socket === session.joined) {
              if (value.seq <= session.joinedApplied) return;
              session.joinedApplied = value.seq;
            }
            const seq = session.next++;
            session.routes.set(seq, { socket: to, seq: value.seq });
            let args: unknown[];
            try {
              args = value.a.some((arg) => typeof arg === 'object' && arg !== null)
                ? (resolveRefs(host, link, value.a) as unknown[])
                : value.a;
            } catch (error) {
              reply(session, { seq, err: encodeError(error).error, s: false });
              return;
            }
            host.receive(link, { op: Op.Call, seq, id: value.id, m: value.m, a: args, s: false, sync: false });
            return;
          }
          case 'dup':
            if (socket === session.joined) return close();
            dups = value.n;
            return;
          case 'incref':
            if (!host.increfRemote(link, value.id)) close();
            return;
          case 'decref':
            host.receive(link, { op: Op.Decref, id: value.id });
            return;
          case 'pin':
            if (!link.refs.has(value.id)) return close();
            host.receive(link, { op: Op.Pin, id: value.id, token: value.token });
            // Kept to drop with the session if nobody claims it (a pin claimed before it came adds nothing).
            if (host.isPinned(value.token)) session.pins.add(value.token);
            return;
          case 'claim':
            session.pins.delete(value.token);
            host.receive(link, { op: Op.Claim, token: value.token, id: value.id, server: true });
            return;
          default:
            close();
        }
      },
      () => close(),
    );
  });
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      resolve({
        address: { host: address.host, port },
        close: () => {
          server.close();
          for (const socket of sockets) socket.destroy();
        },
      });
    });
  });
}

/** References in a client's arguments become the objects themselves, if this connection holds them. */
function resolveRefs(host: Host, link: HostLink, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof RemoteRef) {
    if (!link.refs.has(value.id)) throw new InvalidStateError(`This connection holds no object ${value.id}`);
    return host.objectFor(value.id);
  }
  if (Array.isArray(value)) return value.map((item) => resolveRefs(host, link, item));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [resolveRefs(host, link, k), resolveRefs(host, link, v)]));
  if (value instanceof Set) return new Set([...value].map((v) => resolveRefs(host, link, v)));
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = resolveRefs(host, link, (value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
