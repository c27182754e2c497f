/**
 * What travels between a thread holding proxies and the manager thread (and,
 * framed by wire.ts, between a client and a manager server over TCP).
 *
 * A *link* is one channel to the manager: the main thread's port, a port that
 * came with a proxy, or a TLS connection. Every message on a link is applied in
 * the order it was posted.
 */
import type { MessagePort } from 'node:worker_threads';
import type { EncodedError } from '../runtime/protocol';

/** The codec tag of a proxy (lib/manager/proxy.ts). */
export const PROXY_TAG = 'parapool.ManagerProxy';
/** The id of a manager's root object: the one whose methods are the factories. */
export const ROOT_ID = 0;
/** The version of the TCP protocol, checked in the handshake. */
export const WIRE_VERSION = 5;

/** Words of a manager's control buffer, shared by every proxy of that manager: set once the manager is gone. */
export const GONE = 0;
/** The doorbell: bumped (and notified) by every sync call written to a lane (lane.ts). */
export const DOORBELL = 1;
/** Non-zero while the manager's lane pump is looking at the lanes (a caller need not ring). */
export const LISTENING = 2;

export const Op = {
  /** `{ op, seq, id, m, a, s, sync }`: call method `m` of object `id` with `a`. */
  Call: 1,
  /** `{ op, id }`: this link drops one reference to object `id`. */
  Decref: 2,
  /** `{ op, id, token, port? }`: hold `id` for a proxy in flight; adopt `port` as a new link. */
  Pin: 3,
  /** `{ op, token }`: the proxy in flight under `token` arrived on this link's thread. */
  Claim: 4,
  /** `{ op, lane }`: first message on a port link: the lane its sync calls use (lane.ts). */
  Hello: 5,
  /** `{ op }`: a request waits in this link's lane and the manager was not listening. */
  Ring: 6,
  /** `{ op, n, bytes }`, to a relay: the connecting thread's unanswered direct calls, to send ahead of what follows. */
  Replay: 7,
} as const;

export interface CallMessage {
  readonly op: typeof Op.Call;
  readonly seq: number;
  readonly id: number;
  readonly m: string;
  readonly a: readonly unknown[];
  /** The arguments hold shared-object descriptors (codec `decode` needed). */
  readonly s: boolean;
  readonly sync: boolean;
  /** The call came in the caller's lane: answer there if the answer is plain data. */
  readonly lane?: boolean;
}
/**
 * Counts one reference of a link to object `id` off its `refs`; false when
 * the link held none (a stale or forged decref, which must change nothing).
 */
export function dropRef(refs: Map<number, number>, id: number): boolean {
  const count = refs.get(id);
  if (count === undefined) return false;
  if (count <= 1) refs.delete(id);
  else refs.set(id, count - 1);
  return true;
}

export interface DecrefMessage {
  readonly op: typeof Op.Decref;
  readonly id: number;
}
export interface PinMessage {
  readonly op: typeof Op.Pin;
  readonly id: number;
  readonly token: string;
  readonly port?: MessagePort;
  /** Over TCP: the pin was made on the server by the main thread's own connection (lib/manager/direct.ts). */
  readonly server?: boolean;
}
export interface ClaimMessage {
  readonly op: typeof Op.Claim;
  readonly token: string;
  /** The object's id (a relay claims a server-made pin on the server, then counts it for the claiming thread). */
  readonly id?: number;
  /** The pin was made on the server (the descriptor's `serverPin`). */
  readonly server?: boolean;
}
export interface HelloMessage {
  readonly op: typeof Op.Hello;
  readonly lane: SharedArrayBuffer;
}
export interface RingMessage {
  readonly op: typeof Op.Ring;
}
/**
 * Over TCP, from the connecting thread to its relay (lib/manager/direct.ts):
 * the `n` call frames of its own connection still unanswered, as they were
 * framed there (`bytes`, back to back). The relay sends them, marked as that
 * connection's, ahead of what follows; the server applies those it has not
 * applied yet and skips them when they arrive on the connection itself.
 */
export interface ReplayMessage {
  readonly op: typeof Op.Replay;
  readonly n: number;
  readonly bytes: Uint8Array;
}
export type LinkMessage = CallMessage | DecrefMessage | PinMessage | ClaimMessage | HelloMessage | RingMessage | ReplayMessage;

/** The manager's answer to one call. */
export interface ReplyMessage {
  readonly seq: number;
  readonly ok?: unknown;
  readonly err?: EncodedError;
  /** The value or error holds shared-object descriptors. */
  readonly s: boolean;
}

/** What a proxy carries when it crosses to another thread. */
export interface ProxyDescriptor {
  /** The manager's id (unique per manager in this process). */
  readonly mgr: string;
  /** The manager's control words (`GONE`). */
  readonly control: SharedArrayBuffer;
  readonly id: number;
  /** The object's type name: `dict`, `list`, `set`, `Namespace`, `manager`, or a registered class's name. */
  readonly type: string;
  /** Its exposed methods. */
  readonly methods: readonly string[];
  /** The pin that keeps the object alive until the receiver claims it; absent when the link already holds it. */
  readonly token?: string;
  /** A fresh link to the manager for the receiving thread. */
  readonly port?: MessagePort;
  /** Over TCP: the pin under `token` is held by the server (made by the main thread's own connection). */
  readonly serverPin?: boolean;
  /** The registered types' names (root object only: the manager's factories). */
  readonly types?: readonly string[];
  /** `host:port` when the manager listens on TCP (root object only). */
  readonly address?: { readonly host: string; readonly port: number };
}

/** How the manager thread starts (its `workerData`). */
export interface ManagerWorkerData {
  readonly mode: 'host' | 'relay';
  readonly mgr: string;
  readonly control: SharedArrayBuffer;
  /** The main thread's link. */
  readonly port: MessagePort;
  /** Registered types: name → `{ file, name }` of the class export. */
  readonly types: Readonly<Record<string, { readonly file: string; readonly name: string }>>;
  /** Host: listen here too. Relay: connect here. */
  readonly address?: { readonly host: string; readonly port: number };
  readonly authkey?: Uint8Array;
}

/** What the manager thread posts to the main thread once it is ready (or failed). */
export interface ReadyMessage {
  readonly ready: true;
  /** A relay's session on the server: the main thread's own connection joins it. */
  readonly session?: string;
  readonly address?: { readonly host: string; readonly port: number };
  readonly types: readonly string[];
  readonly root: ProxyDescriptor;
}
export interface StartFailedMessage {
  readonly ready: false;
  readonly error: EncodedError;
}

/** The manager's counters (`Manager.stats()`): for tests and monitoring. */
export interface ManagerStats {
  /** Objects held by at least one proxy or a name (the root not counted). */
  readonly objects: number;
  /** Named objects. */
  readonly named: number;
  /** Open links: threads and connections. */
  readonly links: number;
}
