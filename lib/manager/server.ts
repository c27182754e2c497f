/**
 * A host's TCP listener: each TLS connection is one link of the host. The
 * first frame must be the client's hello with the protocol version; then
 * frames are `call`, `incref` and `decref`. Anything else, a frame over the
 * cap, or one that fails devalue's parse or the guard closes that connection
 * (and releases what it held); the server goes on serving the others.
 */
import * as tls from 'node:tls';
import { encodeError } from '../codec/error-codec';
import { InvalidStateError } from '../errors';
import type { Host, HostLink } from './host';
import { Op, type ReplyMessage, WIRE_VERSION } from './protocol';
import { serverTlsOptions } from './tls-psk';
import { frame, readFrames, RemoteRef, writeFrame } from './wire';

/** How long a new connection may take to finish the TLS handshake and say hello. */
const HELLO_TIMEOUT_MS = 5_000;

export interface Listening {
  readonly address: { host: string; port: number };
  close(): void;
}

/** Client → server frames. */
type ClientFrame =
  | { t: 'hello'; v: number }
  | { t: 'call'; seq: number; id: number; m: string; a: unknown[] }
  | { t: 'incref'; id: number }
  | { t: 'decref'; id: number };

function isFrame(value: unknown): value is ClientFrame {
  if (typeof value !== 'object' || value === null) return false;
  const f = value as Record<string, unknown>;
  switch (f.t) {
    case 'hello':
      return typeof f.v === 'number';
    case 'call':
      return Number.isInteger(f.seq) && Number.isInteger(f.id) && typeof f.m === 'string' && Array.isArray(f.a);
    case 'incref':
    case 'decref':
      return Number.isInteger(f.id);
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
  const server = tls.createServer({ ...serverTlsOptions(authkey), handshakeTimeout: HELLO_TIMEOUT_MS }, (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let link: HostLink | undefined;
    // A connection that has not said hello in time is not a client (half a frame waits forever otherwise).
    const helloTimer = setTimeout(() => close(), HELLO_TIMEOUT_MS).unref();
    const close = () => {
      clearTimeout(helloTimer);
      sockets.delete(socket);
      if (link !== undefined) host.dropLink(link);
      link = undefined;
      socket.destroy();
    };
    socket.on('error', close);
    socket.on('close', close);
    const send = (reply: ReplyMessage) => {
      let bytes: Buffer;
      try {
        bytes = frame({ t: 'reply', ...reply });
      } catch (error) {
        bytes = frame({ t: 'reply', seq: reply.seq, err: encodeError(error).error, s: false });
      }
      writeFrame(socket, bytes);
    };
    readFrames(
      socket,
      (value) => {
        if (!isFrame(value)) return close();
        if (link === undefined) {
          if (value.t !== 'hello') return close();
          if (value.v !== WIRE_VERSION) {
            socket.end(frame({ t: 'hello', v: WIRE_VERSION, error: `protocol version ${value.v} is not ${WIRE_VERSION}` }));
            return;
          }
          clearTimeout(helloTimer);
          link = { remote: true, refs: new Map(), held: new Map(), send };
          host.addLink(link);
          socket.write(frame({ t: 'hello', v: WIRE_VERSION, types }));
          return;
        }
        switch (value.t) {
          case 'call': {
            let args: unknown[];
            try {
              args = resolveRefs(host, link, value.a) as unknown[];
            } catch (error) {
              send({ seq: value.seq, err: encodeError(error).error, s: false });
              return;
            }
            host.receive(link, { op: Op.Call, seq: value.seq, id: value.id, m: value.m, a: args, s: false, sync: false });
            return;
          }
          case 'incref':
            if (!host.increfRemote(link, value.id)) close();
            return;
          case 'decref':
            host.receive(link, { op: Op.Decref, id: value.id });
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
