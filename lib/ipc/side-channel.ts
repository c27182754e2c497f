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
 * queue's `taken` ring, which every listener checks: from its oldest entry on
 * at every post (items leave in FIFO order), all of them whenever its entries
 * have doubled since the last full sweep, and when it drains. So a producer
 * that never gets does not keep every item it sent. A cell of the ring that holds
 * a *later* number than an entry's means that entry's number was passed long
 * ago (the ring has a cell per number modulo its size, and items are taken in
 * FIFO order), so it is dropped as taken too.
 *
 * Handles in flight. A BroadcastChannel only reaches listeners that exist when
 * a message is posted, and a handle sent to another thread starts listening
 * only when it arrives. So a handle travels with (1) a snapshot of the side
 * items its sender knows and nobody took, and (2) a *courier*: a MessagePort
 * on which the sender also posts (and forwards) every side item until the new
 * handle reports itself born (it listens from then on). Messages wait on a
 * port while it travels, so nothing posted in between is lost. The courier's
 * state word is read before the broadcast, so an item either reaches the new
 * handle's channel or goes by courier too (duplicates are harmless: keyed by
 * number). The one gap left: a side item posted by a *third* thread while a
 * handle travels, if the sender's thread does not see it before the handle
 * arrives (the sender forwards what it sees).
 */
import { BroadcastChannel, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

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

/** A port that carries side items to a handle in flight; `state`: [born, retired]. */
export interface Courier {
  port: MessagePort;
  state: Int32Array;
}
const BORN = 0;
const RETIRED = 1;
/**
 * A handle that never arrives (its task was cancelled, its message lost) would
 * otherwise collect every later side item on its port: give up after this many.
 */
const COURIER_LIMIT = 65_536;
/** Entries a side channel keeps before its first sweep of taken ones. */
const SWEEP_MIN = 64;

interface Outbound extends Courier {
  forwarded: number;
}

/** While true, handles described for the codec carry no courier (they travel *inside* a side item). */
let withoutCourier = false;

/** True while a queue item is being encoded (see `describingSideItem`). */
export function encodingSideItem(): boolean {
  return withoutCourier;
}

/** Runs `fn` with couriers off: a MessagePort cannot ride a BroadcastChannel. */
export function describingSideItem<R>(fn: () => R): R {
  withoutCourier = true;
  try {
    return fn();
  } finally {
    withoutCourier = false;
  }
}

function drainPort(port: MessagePort | BroadcastChannel, into: (message: SideMessage) => void): void {
  // Node's receiveMessageOnPort takes a BroadcastChannel too; its typings say MessagePort only.
  const source = port as MessagePort;
  for (let received = receiveMessageOnPort(source); received; received = receiveMessageOnPort(source)) {
    into(received.message as SideMessage);
  }
}

export class SideChannel {
  readonly #channel: BroadcastChannel;
  readonly #pending = new Map<number, SideMessage>();
  readonly #taken: Int32Array;
  readonly #takenBase: number;
  readonly #takenMask: number;
  /** Couriers this thread sends to (handles it described that have not reported born). */
  #outbound: Outbound[] = [];
  /** Couriers this thread receives from (handles that arrived here), until their sender retires them. */
  #inbound: Courier[] = [];
  #users = 0;
  /** Sweep taken entries once `#pending` holds this many. */
  #sweepAt = SWEEP_MIN;
  readonly #onClose: () => void;
  readonly #store = (message: SideMessage): void => {
    if (this.#isTaken(message.id)) return;
    this.#pending.set(message.id, message);
    this.#sweepOldest();
    if (this.#pending.size >= this.#sweepAt) this.#sweep();
    for (const courier of this.#outbound) if (Atomics.load(courier.state, BORN) === 0) this.#forward(courier, message);
  };

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
    if (--this.#users > 0) return;
    this.#channel.close();
    for (const courier of this.#outbound) courier.port.close();
    for (const courier of this.#inbound) courier.port.close();
    this.#outbound = [];
    this.#inbound = [];
    this.#pending.clear();
    this.#onClose();
  }

  /** Taken for sure (its number is in the ring), or passed long ago (a later number with its cell was taken). */
  #isTaken(id: number): boolean {
    const seen = Atomics.load(this.#taken, this.#takenBase + (id & this.#takenMask));
    return seen === id || (seen !== 0 && seen - id > 0);
  }

  /** Drops the oldest entries while they are taken: items leave in FIFO order, so this keeps up at O(1) per item. */
  #sweepOldest(): void {
    for (const id of this.#pending.keys()) {
      if (!this.#isTaken(id)) return;
      this.#pending.delete(id);
    }
  }

  /** Drops every taken entry (for when an old one is stuck: a handle that never arrived took it elsewhere). */
  #sweep(): void {
    for (const id of this.#pending.keys()) if (this.#isTaken(id)) this.#pending.delete(id);
    this.#sweepAt = Math.max(SWEEP_MIN, 2 * this.#pending.size);
  }

  #forward(courier: Outbound, message: SideMessage): void {
    if (courier.forwarded++ < COURIER_LIMIT) courier.port.postMessage(message);
  }

  #retireBorn(): void {
    if (this.#outbound.length === 0) return;
    this.#outbound = this.#outbound.filter((courier) => {
      if (Atomics.load(courier.state, BORN) === 0 && courier.forwarded < COURIER_LIMIT) return true;
      courier.port.close();
      Atomics.store(courier.state, RETIRED, 1);
      return false;
    });
  }

  #drainInbound(): void {
    if (this.#inbound.length === 0) return;
    this.#inbound = this.#inbound.filter((courier) => {
      // Retired means the sender closed its end after its last post: drain, then let go.
      const retired = Atomics.load(courier.state, RETIRED) === 1;
      drainPort(courier.port, this.#store);
      if (retired) courier.port.close();
      return !retired;
    });
  }

  #drain(): void {
    drainPort(this.#channel, this.#store);
    this.#drainInbound();
    if (this.#pending.size > 0) this.#sweep();
  }

  /** Publishes a side item; this thread keeps its own copy (a channel does not deliver to itself). */
  post(message: SideMessage): void {
    // Read the couriers' state before broadcasting (see the module comment).
    const unborn = this.#outbound.filter((courier) => Atomics.load(courier.state, BORN) === 0);
    this.#channel.postMessage(message);
    for (const courier of unborn) this.#forward(courier, message);
    this.#retireBorn();
    // Keep a copy, not the producer's own objects: a consumer in this thread must get a clone too.
    this.#pending.set(message.id, message.bytes === undefined ? structuredClone(message) : message);
    this.#sweepOldest();
    if (this.#pending.size >= this.#sweepAt) this.#sweep();
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

  /**
   * What a handle about to be sent carries: the side items this thread knows
   * of and has not seen taken, and a courier for what comes while it travels.
   */
  handoff(): { side: SideMessage[]; courier: Courier | undefined } {
    this.#drain();
    this.#retireBorn();
    let courier: Courier | undefined;
    if (!withoutCourier) {
      const { port1, port2 } = new MessageChannel();
      const state = new Int32Array(new SharedArrayBuffer(8));
      this.#outbound.push({ port: port1, state, forwarded: 0 });
      courier = { port: port2, state };
    }
    return { side: [...this.#pending.values()], courier };
  }

  /** Takes in what an arriving handle brought: its snapshot, and its courier (reported born). */
  arrive(side: readonly SideMessage[], courier: Courier | undefined): void {
    for (const message of side) if (!this.#pending.has(message.id)) this.#store(message);
    if (courier !== undefined) {
      this.#inbound.push(courier);
      Atomics.store(courier.state, BORN, 1);
      this.#drainInbound();
    }
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
