/**
 * One end of a link between a thread and its manager, over a MessagePort (the
 * usual case: the port came with the Manager or with a proxy) or over a pair
 * of BroadcastChannels (a *broadcast link*: for a thread that got its first
 * proxy of a manager through a queue or a pipe, whose items cannot carry a
 * port).
 *
 * A broadcast link starts with a hello on the manager's channel
 * (`parapool.manager:<mgr>`) that names the link; both sides then talk on the
 * link's own two channels (`…:<link>:req`, `…:<link>:rep`), so no other thread
 * sees the traffic. A BroadcastChannel only reaches listeners that exist when
 * a message is posted, so the caller waits until the manager has opened its
 * end (the lane's `READY` word) before it posts anything. Nothing closes when
 * the thread exits, so the manager watches the thread's liveness
 * (lib/atomics/liveness.ts) and drops the link once it died. Transfers cannot
 * ride a BroadcastChannel: values are copied, and proxies sent on from such a
 * thread carry no port (their receivers open broadcast links of their own).
 */
import { BroadcastChannel, type MessagePort, receiveMessageOnPort, type TransferListItem } from 'node:worker_threads';

export interface LinkEnd {
  /** Ports and transferred buffers can travel on it. */
  readonly transfers: boolean;
  post(value: unknown, transferList: readonly TransferListItem[] | undefined): void;
  /** The next queued message, read synchronously (works while the event loop is blocked). */
  receive(): { message: unknown } | undefined;
  listen(onMessage: (value: unknown) => void, onClose: () => void): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export function portEnd(port: MessagePort): LinkEnd {
  return {
    transfers: true,
    post: (value, transferList) => port.postMessage(value, transferList as TransferListItem[] | undefined),
    receive: () => receiveMessageOnPort(port),
    listen: (onMessage, onClose) => {
      port.on('message', onMessage);
      port.on('close', onClose);
    },
    ref: () => port.ref(),
    unref: () => port.unref(),
    close: () => port.close(),
  };
}

/** The manager's channel for broadcast hellos. */
export function helloChannelName(mgr: string): string {
  return `parapool.manager:${mgr}`;
}

/** A broadcast link's end: listens on `listenName`, posts on `postName`; `close()` also reports the close. */
export function broadcastEnd(listenName: string, postName: string): LinkEnd {
  const incoming = new BroadcastChannel(listenName);
  const outgoing = new BroadcastChannel(postName);
  outgoing.unref();
  let onClosed: (() => void) | undefined;
  let closed = false;
  return {
    transfers: false,
    post: (value) => {
      if (!closed) outgoing.postMessage(value);
    },
    receive: () => (closed ? undefined : receiveMessageOnPort(incoming as unknown as MessagePort)),
    listen: (onMessage, onClose) => {
      onClosed = onClose;
      incoming.onmessage = (event) => onMessage((event as MessageEvent).data);
    },
    ref: () => incoming.ref(),
    unref: () => incoming.unref(),
    close: () => {
      if (closed) return;
      closed = true;
      incoming.close();
      outgoing.close();
      onClosed?.();
    },
  };
}

/** The names of a broadcast link's channels: [the manager listens, the thread listens]. */
export function broadcastNames(mgr: string, link: string): [string, string] {
  return [`${helloChannelName(mgr)}:${link}:req`, `${helloChannelName(mgr)}:${link}:rep`];
}
