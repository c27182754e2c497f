/**
 * The queue's side channel: how items that shared memory cannot carry travel.
 *
 * A queue item that holds SharedArrayBuffers (parapool's shared objects, after
 * the codec has turned them into descriptors) cannot be written as bytes, and
 * an item too big for the free blocks should not wait for them. Such an item
 * is posted, under a number taken from the queue's side counter, on a
 * `BroadcastChannel` that every thread holding the queue listens to; the
 * queue itself carries only a small block that says "side item n". The
 * consumer that takes that block reads the channel synchronously
 * (`receiveMessageOnPort` accepts a BroadcastChannel, and a message is in every
 * listener's queue as soon as `postMessage` returns), so it works in a thread
 * whose event loop is blocked or parked.
 *
 * One channel per queue per thread, shared by every handle of that queue in
 * the thread and closed when the last one is closed or collected. Entries
 * that another thread took are dropped: the taker writes the number into the
 * queue's `taken` ring, which every listener checks.
 *
 * A BroadcastChannel only delivers to listeners that exist when the message is
 * posted. A handle that is sent to another thread carries a snapshot of the
 * side items its thread has not seen taken, which covers everything put before
 * the handle was sent; a side item put in the moment between sending a handle
 * and its arrival does not reach that new thread.
 */
import { BroadcastChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** What travels on the channel for one side item. */
export interface SideMessage {
  readonly id: number;
  /** The item as the codec encoded it (when `bytes` is absent). */
  readonly value?: unknown;
  /** True when `value` holds shared-object descriptors that `decode` must revive. */
  readonly shared?: boolean;
  /** The item's serialized payload, for items too big for the free blocks. */
  readonly bytes?: SharedArrayBuffer;
}

export class SideChannel {
  readonly #channel: BroadcastChannel;
  readonly #pending = new Map<number, SideMessage>();
  readonly #taken: Int32Array;
  readonly #takenBase: number;
  readonly #takenMask: number;
  #users = 0;
  readonly #onClose: () => void;

  constructor(name: string, taken: Int32Array, takenBase: number, takenCount: number, onClose: () => void) {
    this.#taken = taken;
    this.#takenBase = takenBase;
    this.#takenMask = takenCount - 1;
    this.#onClose = onClose;
    this.#channel = new BroadcastChannel(name);
    // When this thread's event loop runs, drain as messages come, so a thread
    // that holds the queue but does not use it does not pile them up.
    this.#channel.onmessage = (event) => this.#store((event as { data: SideMessage }).data);
    this.#channel.unref();
  }

  retain(): void {
    this.#users++;
  }

  release(): void {
    if (--this.#users === 0) {
      this.#channel.close();
      this.#pending.clear();
      this.#onClose();
    }
  }

  #isTaken(id: number): boolean {
    return Atomics.load(this.#taken, this.#takenBase + (id & this.#takenMask)) === id;
  }

  #store(message: SideMessage): void {
    if (!this.#isTaken(message.id)) this.#pending.set(message.id, message);
  }

  #drain(): void {
    // Node's receiveMessageOnPort takes a BroadcastChannel too; its typings say MessagePort only.
    const port = this.#channel as unknown as MessagePort;
    for (let received = receiveMessageOnPort(port); received; received = receiveMessageOnPort(port)) {
      this.#store(received.message as SideMessage);
    }
    if (this.#pending.size > 0) {
      for (const id of this.#pending.keys()) if (this.#isTaken(id)) this.#pending.delete(id);
    }
  }

  /** Publishes a side item; this thread keeps its own copy (a channel does not deliver to itself). */
  post(message: SideMessage): void {
    this.#channel.postMessage(message);
    // Keep a copy, not the producer's own objects: a consumer in this thread must get a clone too.
    this.#pending.set(message.id, message.bytes === undefined ? structuredClone(message) : message);
  }

  /** Takes side item `id` for this thread's consumer and marks it taken for every other listener. */
  take(id: number): SideMessage | undefined {
    let message = this.#pending.get(id);
    if (message === undefined) {
      this.#drain();
      message = this.#pending.get(id);
    }
    this.#pending.delete(id);
    Atomics.store(this.#taken, this.#takenBase + (id & this.#takenMask), id);
    return message;
  }

  /** The side items this thread knows of and has not seen taken, for a handle about to be sent. */
  snapshot(): SideMessage[] {
    this.#drain();
    return [...this.#pending.values()];
  }

  /** Adds the entries a received handle brought along. */
  seed(messages: readonly SideMessage[]): void {
    for (const message of messages) if (!this.#pending.has(message.id)) this.#store(message);
  }
}

const channels = new Map<string, SideChannel>();

/** This thread's side channel of the queue named `name` (created on first use), retained once for the caller. */
export function sideChannel(name: string, taken: Int32Array, takenBase: number, takenCount: number): SideChannel {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = new SideChannel(name, taken, takenBase, takenCount, () => channels.delete(name));
    channels.set(name, channel);
  }
  channel.retain();
  return channel;
}
