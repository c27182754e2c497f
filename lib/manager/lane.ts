/**
 * The fast paths of a thread's link to its manager (host.ts, relay.ts):
 *
 * - **The sync lane.** Each link has a small SharedArrayBuffer. A sync call
 *   whose arguments are plain data (compact.ts) writes its request there, rings
 *   the manager's doorbell (a word of the control buffer), and waits on the
 *   lane's state word, spinning briefly first. The manager thread serves lanes
 *   from a pump (woken by a `Ring` on the port when it is not listening);
 *   after serving it keeps looking for a short while, so a worker's
 *   back-to-back sync calls cost no event-loop wake-up, no structured clone and
 *   no port message. (`Atomics.waitAsync` would do instead of `Ring`, but on
 *   Node 20 it loses notifications.) A reply
 *   that is plain data comes back in the lane; anything else (a proxy, a shared
 *   object) comes on the port, and the lane only says so.
 * - **Batched ports.** Messages on the port are arrays of link messages, posted
 *   once per microtask: a thousand pipelined calls are one message each way.
 *
 * Order: a lane request carries the number of port messages its thread posted
 * before it; the manager serves it only after it received that many (taking
 * them off the port synchronously when they are already queued), so calls
 * from one thread are applied in the order they were made.
 */
import { type MessagePort, receiveMessageOnPort, type TransferListItem } from 'node:worker_threads';
import { decodeCompact, encodeCompactInto } from './compact';
import { DOORBELL, LISTENING, type LinkMessage, Op, type ReplyMessage } from './protocol';

/** Bytes of a lane's request/reply area. */
const LANE_DATA = 256 * 1024;
/** Int32 words before the data: state, length, port messages before the request. */
const HEADER = 16;
const STATE = 0;
const LENGTH = 1;
const POSTED = 2;

export const LaneState = {
  Idle: 0,
  Request: 1,
  Serving: 2,
  Reply: 3,
  OnPort: 4,
  Gone: 5,
} as const;

/** What `LaneClient.request` did. */
export const Requested = { No: 0, Written: 1, Ring: 2 } as const;

/**
 * The longest a waiting caller spins before it sleeps on its lane, and the
 * manager before it sleeps on the doorbell (ms): a reply or the next call comes
 * that fast when both threads have a core of their own. Spinning adapts
 * (`Spin`): when the last wait was longer (the threads share a core, the
 * machine is busy), the next one sleeps at once, so spinning never starves the
 * thread it waits for; every `SPIN_PROBE`th wait spins anyway, to notice that
 * the machine got quieter.
 */
const SPIN_MS = 0.02;
const SPIN_PROBE = 32;
/** How long the manager keeps looking for the next call after serving one (ms). */
const SERVER_LOOK_MS = 0.1;
/** The longest the manager serves lanes before it lets its event loop run (ms). */
const SERVER_SLICE_MS = 2;

/** Adaptive spinning: how long the next wait may spin, from how long the last one took. */
class Spin {
  #last = 0;
  #count = 0;

  /** The spin budget of the next wait (ms). */
  budget(): number {
    return this.#last <= SPIN_MS || ++this.#count % SPIN_PROBE === 0 ? SPIN_MS : 0;
  }

  /** How long the wait took (ms). */
  took(ms: number): void {
    this.#last = ms;
  }
}

export function newLane(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER + LANE_DATA);
}

/** The caller's side of a lane. */
export class LaneClient {
  readonly words: Int32Array;
  readonly #bytes: Buffer;
  readonly #control: Int32Array;
  readonly #spin = new Spin();

  constructor(lane: SharedArrayBuffer, control: Int32Array) {
    this.words = new Int32Array(lane, 0, HEADER / 4);
    this.#bytes = Buffer.from(lane, HEADER);
    this.#control = control;
  }

  /**
   * Writes a call and bumps the doorbell. `Ring` when the manager is not
   * listening (the caller must then post `Ring` on its port), `Written` when it
   * is, `No` when the arguments are not plain data or do not fit (then use the port).
   */
  request(seq: number, id: number, method: string, args: readonly unknown[], posted: number): number {
    const end = encodeCompactInto([seq, id, method, args], this.#bytes, 0);
    if (end < 0) return Requested.No;
    Atomics.store(this.words, LENGTH, end);
    Atomics.store(this.words, POSTED, posted);
    Atomics.store(this.words, STATE, LaneState.Request);
    Atomics.add(this.#control, DOORBELL, 1);
    if (Atomics.load(this.#control, LISTENING) === 0) return Requested.Ring;
    Atomics.notify(this.#control, DOORBELL);
    return Requested.Written;
  }

  /** Marks the lane as waiting for a reply that will come on the port. */
  expectOnPort(): void {
    Atomics.store(this.words, STATE, LaneState.Idle);
  }

  /**
   * Waits for the answer: `Reply`, `OnPort` or `Gone`. `gone()` is polled every
   * `pollMs` while sleeping (a manager that died without a word).
   */
  wait(pollMs: number, gone: () => boolean): number {
    const words = this.words;
    let state = Atomics.load(words, STATE);
    if (state >= LaneState.Reply) return state;
    const start = performance.now();
    const spinEnd = start + this.#spin.budget();
    while (state < LaneState.Reply && performance.now() < spinEnd) {
      for (let i = 0; i < 64 && state < LaneState.Reply; i++) state = Atomics.load(words, STATE);
    }
    while (state < LaneState.Reply) {
      Atomics.wait(words, STATE, state, pollMs);
      state = Atomics.load(words, STATE);
      if (state < LaneState.Reply && gone()) return LaneState.Gone;
    }
    this.#spin.took(performance.now() - start);
    return state;
  }

  /** The reply in the lane: `[true, value]` or `[false, encodedError]`. */
  readReply(): [boolean, unknown] {
    const length = Atomics.load(this.words, LENGTH);
    const reply = decodeCompact(this.#bytes, 0, length, false) as [boolean, unknown];
    Atomics.store(this.words, STATE, LaneState.Idle);
    return reply;
  }

  done(): void {
    Atomics.store(this.words, STATE, LaneState.Idle);
  }
}

/** A lane call, as the manager side reads it. */
export interface LaneCall {
  readonly seq: number;
  readonly id: number;
  readonly m: string;
  readonly a: unknown[];
}

/** The manager's side of one lane. */
export class ServedLane {
  readonly words: Int32Array;
  readonly #bytes: Buffer;

  constructor(lane: SharedArrayBuffer) {
    this.words = new Int32Array(lane, 0, HEADER / 4);
    this.#bytes = Buffer.from(lane, HEADER);
  }

  get pending(): boolean {
    return Atomics.load(this.words, STATE) === LaneState.Request;
  }

  /** Port messages the caller posted before its request. */
  get posted(): number {
    return Atomics.load(this.words, POSTED);
  }

  /** Takes the request (the lane is then `Serving`); undefined if malformed. */
  take(): LaneCall | undefined {
    Atomics.store(this.words, STATE, LaneState.Serving);
    try {
      const value = decodeCompact(this.#bytes, 0, Atomics.load(this.words, LENGTH), false);
      const [seq, id, m, a] = value as [unknown, unknown, unknown, unknown];
      if (typeof seq !== 'number' || typeof id !== 'number' || typeof m !== 'string' || !Array.isArray(a)) return undefined;
      return { seq, id, m, a };
    } catch {
      return undefined;
    }
  }

  /** Answers in the lane; false when the answer is not plain data or does not fit (then answer on the port and call `onPort`). */
  reply(ok: boolean, value: unknown): boolean {
    const end = encodeCompactInto([ok, value], this.#bytes, 0);
    if (end < 0) return false;
    Atomics.store(this.words, LENGTH, end);
    this.#set(LaneState.Reply);
    return true;
  }

  /** The answer was posted on the port. */
  onPort(): void {
    this.#set(LaneState.OnPort);
  }

  /** The manager is going: wake the caller. */
  gone(): void {
    this.#set(LaneState.Gone);
  }

  #set(state: number): void {
    Atomics.store(this.words, STATE, state);
    Atomics.notify(this.words, STATE);
  }
}

/**
 * Serves the lanes of one manager thread. A caller that finds the manager not
 * `LISTENING` also posts `Ring` on its port, which runs the pump; the pump
 * serves every waiting lane, keeps looking for `SERVER_LOOK_MS` (spinning
 * briefly, see `Spin`, then sleeping on the doorbell, which callers notify;
 * meanwhile they need not ring), and lets the event loop run at least every `SERVER_SLICE_MS`. No wake-up is lost: a caller stores its
 * request, then reads `LISTENING`; the pump clears `LISTENING`, then looks at
 * every lane once more (sequentially consistent atomics: one of them sees the other).
 */
export class LaneService {
  readonly #control: Int32Array;
  readonly #lanes = new Map<ServedLane, () => boolean>();
  readonly #spin = new Spin();
  #running = false;
  #scheduled = false;
  #stopped = false;

  constructor(control: Int32Array) {
    this.#control = control;
  }

  /** Serves `lane` with `serve` (which returns false when the request must wait for port messages). */
  add(lane: ServedLane, serve: () => boolean): void {
    this.#lanes.set(lane, serve);
    if (lane.pending) this.wake();
  }

  delete(lane: ServedLane): void {
    this.#lanes.delete(lane);
  }

  /** Wakes every caller: the manager is going. */
  stop(): void {
    this.#stopped = true;
    Atomics.store(this.#control, LISTENING, 0);
    for (const lane of this.#lanes.keys()) lane.gone();
  }

  /** Serves what is waiting now (a caller rang, or a request became servable). */
  wake(): void {
    if (!this.#running) this.#pump();
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.wake();
    });
  }

  #serveAll(): boolean {
    let served = false;
    for (const [lane, serve] of this.#lanes) if (lane.pending && serve()) served = true;
    return served;
  }

  #pump(): void {
    if (this.#stopped) return;
    this.#running = true;
    const control = this.#control;
    const sliceEnd = performance.now() + SERVER_SLICE_MS;
    let lookUntil = performance.now() + SERVER_LOOK_MS;
    Atomics.store(control, LISTENING, 1);
    try {
      for (;;) {
        const bell = Atomics.load(control, DOORBELL);
        let served = this.#serveAll();
        if (this.#stopped) return;
        const now = performance.now();
        if (!served && now > lookUntil) {
          Atomics.store(control, LISTENING, 0);
          // A request stored before the caller saw LISTENING cleared: serve it, or the caller rang.
          served = this.#serveAll();
          if (this.#stopped || !served) return;
          Atomics.store(control, LISTENING, 1);
        }
        if (served) {
          if (now > sliceEnd) {
            // Let the event loop run; callers need not ring meanwhile.
            this.#schedule();
            return;
          }
          lookUntil = performance.now() + SERVER_LOOK_MS;
          continue;
        }
        const spinEnd = now + this.#spin.budget();
        let rang = Atomics.load(control, DOORBELL) !== bell;
        while (!rang && performance.now() < spinEnd) {
          for (let i = 0; i < 64 && !rang; i++) rang = Atomics.load(control, DOORBELL) !== bell;
        }
        if (!rang) Atomics.wait(control, DOORBELL, bell, Math.max(0, lookUntil - performance.now()));
        this.#spin.took(performance.now() - now);
      }
    } finally {
      this.#running = false;
    }
  }
}

/** What a port link carries from its thread: one message or, batched, many. */
export type PortPayload = LinkMessage | LinkMessage[];

/** The manager side of a thread's port: counts what arrives, batches replies, and serves the thread's lane. */
export class PortLink {
  readonly port: MessagePort;
  lane: ServedLane | undefined;
  /** Port messages received from the thread. */
  received = 0;
  readonly #service: LaneService;
  readonly #onMessage: (message: LinkMessage) => void;
  readonly #onLane: (call: LaneCall) => void;
  #outbox: ReplyMessage[] = [];
  #transfer: TransferListItem[] = [];
  #flushing = false;
  closed = false;

  constructor(
    port: MessagePort,
    service: LaneService,
    onMessage: (message: LinkMessage) => void,
    onLane: (call: LaneCall) => void,
    onClose: () => void,
  ) {
    this.port = port;
    this.#service = service;
    this.#onMessage = onMessage;
    this.#onLane = onLane;
    port.on('message', (payload: PortPayload) => {
      this.#receive(payload);
      if (this.lane?.pending) this.#service.wake();
    });
    port.on('close', () => {
      this.closed = true;
      if (this.lane !== undefined) this.#service.delete(this.lane);
      onClose();
    });
  }

  #receive(payload: PortPayload): void {
    this.received++;
    if (Array.isArray(payload)) for (const message of payload) this.#one(message);
    else this.#one(payload);
  }

  #one(message: LinkMessage): void {
    if (message.op === Op.Ring) {
      this.#service.wake();
      return;
    }
    if (message.op === Op.Hello) {
      if (this.lane !== undefined) return;
      const lane = new ServedLane(message.lane);
      this.lane = lane;
      this.#service.add(lane, () => this.#serveLane(lane));
      return;
    }
    this.#onMessage(message);
  }

  #serveLane(lane: ServedLane): boolean {
    // Everything the thread posted before this request goes first.
    while (this.received < lane.posted) {
      const next = receiveMessageOnPort(this.port);
      if (next === undefined) return false;
      this.#receive(next.message as PortPayload);
    }
    const call = lane.take();
    if (call === undefined) {
      lane.gone();
      return true;
    }
    this.#onLane(call);
    return true;
  }

  /** Sends a reply: batched per microtask; a sync caller's at once, then its lane says so. */
  send(reply: ReplyMessage, transferList: readonly TransferListItem[] | undefined, sync: boolean): void {
    if (this.closed) return;
    this.#outbox.push(reply);
    if (transferList !== undefined) for (const item of transferList) this.#transfer.push(item);
    if (sync) {
      this.flush();
      this.lane?.onPort();
      return;
    }
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#flushing = false;
    if (this.#outbox.length === 0 || this.closed) return;
    const replies = this.#outbox;
    const transfer = this.#transfer;
    this.#outbox = [];
    this.#transfer = [];
    this.port.postMessage(replies.length === 1 ? replies[0] : replies, transfer);
  }
}
