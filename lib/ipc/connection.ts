/**
 * Connection: one end of a Pipe (Python's `multiprocessing.connection.Connection`).
 *
 * Design: a Pipe is exactly two ends, so it rides on one `MessageChannel`
 * (any size, SharedArrayBuffers and shared objects included, nothing to
 * allocate per message) plus a small SharedArrayBuffer of counters: per end, a
 * doorbell word bumped on every message sent to it and when its peer closes,
 * the messages sent to it and received by it, and a closed flag. A receiver
 * reads with `receiveMessageOnPort` and, when nothing is there, parks on its
 * doorbell with `Atomics.wait` (`recvSync`) or `Atomics.waitAsync` (`recv`),
 * so it works whatever its thread's event loop is doing.
 *
 * An end *moves*: sending a Connection to a task or a worker transfers its
 * port, with every message still queued on it, and the copy left behind is
 * detached (using it throws `ERR_INVALID_STATE`; `close()` on it does
 * nothing). This is Python's idiom of passing `child_conn` to a Process and
 * then closing the parent's copy. The end keeps working from whichever thread
 * holds it, and can be passed on again from there.
 */
import { types } from 'node:util';
import { isMainThread, receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';
import { decode, encode, registerSharedType } from '../codec/codec';
import { EOFError, InvalidStateError, ParapoolError, TimeoutError, UncloneableError } from '../errors';
import { readOptions } from '../shared/read-options';
import { INTERNAL, checkInteger, checkInternal, checkTimeout, invalidArg } from '../validate';
import { deadlineAfter, park, runAsync, runSync, wake, type ParkResult, type Steps, type WaitOptions } from '../atomics/futex';
import { encodingSideItem } from './side-channel';

export const PIPE_TAG = 0x50495045; // 'PIPE'
const TAG = 0;
/** Words of end `end`: messages *to* it. One cache line per end. */
const endBase = (end: number): number => 16 + 16 * end;
const BELL = 0;
const SENT = 1;
const RECEIVED = 2;
const WAITERS = 3;
const CLOSED = 4;
export const PIPE_WORDS = 48;

// Wire kinds: a plain value, a value holding shared-object descriptors, bytes.
const PLAIN = 0;
const SHARED = 1;
const BYTES = 2;
type Wire = [kind: number, value: unknown];

const NOTHING: unique symbol = Symbol('nothing');

/** What a Connection sends through the codec when it moves to another thread. */
export interface ConnectionDescriptor {
  buffer: SharedArrayBuffer;
  end: number;
  port: MessagePort;
  readable: boolean;
  writable: boolean;
}

/** An end this thread holds open: what `markClosed` needs, and its port. */
interface OpenEnd {
  words: Int32Array;
  end: number;
  port: MessagePort | undefined;
}

// The peer must see EOF when the holder of an end is gone without `close()`,
// as a Python child's pipe closes when the process exits: an end that is
// garbage-collected, or whose worker thread exits (naturally or by
// `process.exit()`; `worker.terminate()` runs no JavaScript), is marked closed.
// A collected end also closes its port, so pipes nobody closed give their
// channels back.
const openEnds = new Set<OpenEnd>();
const unclosed = new FinalizationRegistry<OpenEnd>((open) => {
  openEnds.delete(open);
  markClosed(open.words, open.end);
  open.port?.close();
});
let exitHooked = false;

function holdOpen(connection: object, open: OpenEnd): void {
  openEnds.add(open);
  unclosed.register(connection, open, connection);
  if (!exitHooked && !isMainThread) {
    exitHooked = true;
    process.once('exit', () => {
      for (const end of openEnds) markClosed(end.words, end.end);
    });
  }
}

function letGo(connection: object, open: OpenEnd): void {
  openEnds.delete(open);
  unclosed.unregister(connection);
}

function markClosed(words: Int32Array, end: number): void {
  Atomics.store(words, endBase(end) + CLOSED, 1);
  const peer = endBase(1 - end);
  Atomics.add(words, peer + BELL, 1);
  wake(words, peer + BELL);
}

/** Builds an end (for `Pipe()` and the codec only). */
export function connectionEnd<T>(descriptor: ConnectionDescriptor): Connection<T> {
  return new Connection<T>(INTERNAL, descriptor);
}

/** A `{ timeout }` wait option: the timeout in ms (`undefined`: none). */
function recvTimeout(options: WaitOptions | undefined): number | undefined {
  return checkTimeout('timeout', readOptions('options', options, ['timeout']).timeout);
}

/** The codec's view of an end (set by the class, which alone reaches its private state). */
let describeEnd: (connection: Connection<unknown>) => ConnectionDescriptor;

/**
 * One end of a Pipe: `send` objects to the other end and `recv` what it sent,
 * in order. Each end is meant for one thread at a time; pass it to a task,
 * Process or worker to move it there.
 *
 * @example
 * const [parentConn, childConn] = Pipe();
 * new Process({ target: children.squarer, args: [childConn] }).start();   // childConn moves
 * parentConn.send(7);
 * console.log(await parentConn.recv());                  // 49
 */
export class Connection<T = unknown> {
  readonly #words: Int32Array;
  readonly #buffer: SharedArrayBuffer;
  readonly #end: number;
  readonly #readable: boolean;
  readonly #writable: boolean;
  #port: MessagePort | undefined;
  #closed = false;
  readonly #peeked: Wire[] = [];
  readonly #open: OpenEnd;

  /**
   * Ends are made by `Pipe()` (the token is lib/validate.ts's INTERNAL).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when called with `new`.
   */
  constructor(token: typeof INTERNAL, descriptor: ConnectionDescriptor) {
    checkInternal(token, 'Connection', '`Pipe()`');
    this.#buffer = descriptor.buffer;
    this.#words = new Int32Array(descriptor.buffer);
    if (Atomics.load(this.#words, TAG) !== PIPE_TAG) throw invalidArg('buffer', 'the SharedArrayBuffer of a Pipe', descriptor.buffer);
    this.#end = descriptor.end;
    this.#port = descriptor.port;
    this.#readable = descriptor.readable;
    this.#writable = descriptor.writable;
    this.#open = { words: this.#words, end: this.#end, port: this.#port };
    holdOpen(this, this.#open);
  }

  /** True after `close()` (or once this end moved to another thread). */
  get closed(): boolean {
    return this.#closed || this.#port === undefined;
  }

  /** True when this end can receive (false for the writer of a one-way pipe). */
  get readable(): boolean {
    return this.#readable;
  }

  /** True when this end can send (false for the reader of a one-way pipe). */
  get writable(): boolean {
    return this.#writable;
  }

  #usablePort(): MessagePort {
    if (this.#closed) throw new InvalidStateError('The connection is closed');
    if (this.#port === undefined) throw new InvalidStateError('The connection was sent to another thread; use it there');
    return this.#port;
  }

  #post(wire: Wire, transferList: readonly Transferable[] | undefined): void {
    const port = this.#usablePort();
    if (!this.#writable) throw new InvalidStateError('This end of a one-way Pipe only receives');
    const peer = endBase(1 - this.#end);
    const words = this.#words;
    if (Atomics.load(words, peer + CLOSED) === 1) throw new InvalidStateError('The other end of the pipe is closed');
    try {
      port.postMessage(wire, transferList);
    } catch (error) {
      throw new UncloneableError(`obj cannot be sent to another thread: ${(error as Error).message}`);
    }
    Atomics.add(words, peer + SENT, 1);
    Atomics.add(words, peer + BELL, 1);
    if (Atomics.load(words, peer + WAITERS) > 0) wake(words, peer + BELL);
  }

  /**
   * Sends `obj` (any structured-cloneable value, shared objects included) to the other end.
   * Never waits.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on a closed or moved end, on the reader of
   *   a one-way pipe, or when the other end is closed; UncloneableError (`ERR_UNCLONEABLE`).
   * @example
   * conn.send({ op: 'square', n: 12 });
   */
  send(obj: T): void {
    let encoded: ReturnType<typeof encode>;
    try {
      encoded = encode(obj, 'obj');
    } catch (error) {
      if (error instanceof ParapoolError) throw error;
      throw new UncloneableError(`obj cannot be sent to another thread: ${(error as Error).message}`);
    }
    this.#post([encoded.shared ? SHARED : PLAIN, encoded.value], encoded.transferList);
  }

  /**
   * Sends bytes: `size` bytes of `buffer` from `offset` (a copy; `buffer` stays usable).
   * @default offset 0; size the rest of the buffer
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when the range is outside the buffer;
   *   InvalidStateError (`ERR_INVALID_STATE`) as `send`.
   * @example
   * conn.sendBytes(Buffer.from('hello'));
   * conn.sendBytes(frame, 16, 1024);
   */
  sendBytes(buffer: ArrayBuffer | ArrayBufferView, offset = 0, size?: number): void {
    let bytes: Uint8Array;
    if (types.isProxy(buffer)) {
      throw invalidArg('buffer', 'an ArrayBuffer, a typed array, a DataView or a Buffer', buffer);
    }
    if (types.isArrayBuffer(buffer) || types.isSharedArrayBuffer(buffer)) {
      bytes = new Uint8Array(buffer as ArrayBuffer);
    } else if (ArrayBuffer.isView(buffer)) {
      bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } else {
      throw invalidArg('buffer', 'an ArrayBuffer, a typed array, a DataView or a Buffer', buffer);
    }
    const start = checkInteger('offset', offset, 0, bytes.length);
    const length = size === undefined ? bytes.length - start : checkInteger('size', size, 0, bytes.length - start);
    const copy = bytes.slice(start, start + length);
    this.#post([BYTES, copy], [copy.buffer]);
  }

  /** The next message, or NOTHING; throws EOFError once the peer closed and all is read. */
  #take(): Wire | typeof NOTHING {
    const port = this.#usablePort();
    if (!this.#readable) throw new InvalidStateError('This end of a one-way Pipe only sends');
    const peeked = this.#peeked.shift();
    if (peeked !== undefined) return peeked;
    const received = receiveMessageOnPort(port);
    if (received !== undefined) {
      Atomics.add(this.#words, endBase(this.#end) + RECEIVED, 1);
      return received.message as Wire;
    }
    return NOTHING;
  }

  *#receiveSteps(deadline: number, bytesOnly: boolean): Steps<unknown> {
    const words = this.#words;
    const mine = endBase(this.#end);
    for (;;) {
      const bell = Atomics.load(words, mine + BELL);
      let wire = this.#take();
      if (wire === NOTHING && Atomics.load(words, endBase(1 - this.#end) + CLOSED) === 1) {
        // The peer sends everything before it marks itself closed: look once more.
        wire = this.#take();
        if (wire === NOTHING) throw new EOFError('The other end of the pipe is closed and everything it sent was received');
      }
      if (wire !== NOTHING) {
        if (bytesOnly && wire[0] !== BYTES) {
          this.#peeked.unshift(wire);
          throw new InvalidStateError('The next message was sent with send(), not sendBytes(): read it with recv()');
        }
        return wire[0] === SHARED ? decode(wire[1]) : wire[0] === BYTES ? Buffer.from((wire[1] as Uint8Array).buffer) : wire[1];
      }
      Atomics.add(words, mine + WAITERS, 1);
      let result: ParkResult;
      try {
        result = yield park(words, mine + BELL, bell, deadline);
      } finally {
        Atomics.sub(words, mine + WAITERS, 1);
      }
      if (result === 'timed-out' && Atomics.load(words, mine + BELL) === bell) {
        throw new TimeoutError('Nothing was received before the timeout');
      }
    }
  }

  /**
   * Receives the next object the other end sent, waiting without blocking the event loop.
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws EOFError (`ERR_EOF`) once the other end is closed and everything it sent was received;
   *   TimeoutError (`ERR_TIMEOUT`) after `timeout` ms; InvalidStateError (`ERR_INVALID_STATE`) on a
   *   closed or moved end, or the writer of a one-way pipe.
   * @example
   * const reply = await conn.recv({ timeout: 1000 });
   */
  async recv(options?: WaitOptions): Promise<T> {
    const deadline = deadlineAfter(recvTimeout(options));
    return (await runAsync(this.#receiveSteps(deadline, false))) as T;
  }

  /**
   * `recv`, blocking the calling thread (works in a worker whatever its event loop is doing).
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws EOFError (`ERR_EOF`), TimeoutError (`ERR_TIMEOUT`), InvalidStateError (`ERR_INVALID_STATE`) as `recv`.
   * @example
   * for (;;) { const n = conn.recvSync(); if (n === null) break; conn.send(n * n); }
   */
  recvSync(options?: WaitOptions): T {
    const deadline = deadlineAfter(recvTimeout(options));
    return runSync(this.#receiveSteps(deadline, false)) as T;
  }

  /**
   * Receives the next message sent with `sendBytes`, as a Buffer.
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when the next message came from `send()`
   *   (it stays for `recv()`); otherwise as `recv`.
   * @example
   * const frame = await conn.recvBytes();
   */
  async recvBytes(options?: WaitOptions): Promise<Buffer> {
    const deadline = deadlineAfter(recvTimeout(options));
    return (await runAsync(this.#receiveSteps(deadline, true))) as Buffer;
  }

  /**
   * `recvBytes`, blocking the calling thread.
   * @default options `{ timeout: undefined }` (wait forever)
   * @throws as `recvBytes`.
   * @example
   * const frame = conn.recvBytesSync({ timeout: 100 });
   */
  recvBytesSync(options?: WaitOptions): Buffer {
    const deadline = deadlineAfter(recvTimeout(options));
    return runSync(this.#receiveSteps(deadline, true)) as Buffer;
  }

  #ready(): boolean {
    if (!this.#readable) throw new InvalidStateError('This end of a one-way Pipe only sends');
    this.#usablePort();
    const words = this.#words;
    const mine = endBase(this.#end);
    return (
      this.#peeked.length > 0 ||
      Atomics.load(words, mine + SENT) !== Atomics.load(words, mine + RECEIVED) ||
      Atomics.load(words, endBase(1 - this.#end) + CLOSED) === 1
    );
  }

  /**
   * Whether a `recv` would return (or throw EOF) without waiting. `poll()` answers at once;
   * `poll(ms)` waits up to `ms` milliseconds for data; `poll(null)` or `poll(Infinity)` waits
   * until there is some.
   * @default timeout undefined (answer at once)
   * @throws InvalidStateError (`ERR_INVALID_STATE`) on a closed or moved end, or the writer of a one-way pipe.
   * @example
   * if (await conn.poll(100)) handle(await conn.recv());
   */
  async poll(timeout?: number | null): Promise<boolean> {
    const ms = timeout === null ? Infinity : timeout === undefined ? 0 : checkTimeout('timeout', timeout)!;
    const deadline = deadlineAfter(ms);
    const words = this.#words;
    const bell = endBase(this.#end) + BELL;
    for (;;) {
      const seen = Atomics.load(words, bell);
      if (this.#ready()) return true;
      if (ms === 0) return false;
      const result = await runAsync(this.#parkSteps(seen, deadline));
      if (result === 'timed-out') return this.#ready();
    }
  }

  *#parkSteps(seen: number, deadline: number): Steps<string> {
    const waiters = endBase(this.#end) + WAITERS;
    Atomics.add(this.#words, waiters, 1);
    try {
      return yield park(this.#words, endBase(this.#end) + BELL, seen, deadline);
    } finally {
      Atomics.sub(this.#words, waiters, 1);
    }
  }

  /**
   * Closes this end: the other end receives what was already sent, then `ERR_EOF`.
   * Idempotent; does nothing on an end that moved to another thread.
   * @example
   * conn.send(null);
   * conn.close();
   */
  close(): void {
    if (this.#closed || this.#port === undefined) return;
    this.#closed = true;
    letGo(this, this.#open);
    markClosed(this.#words, this.#end);
    this.#port.close();
    this.#peeked.length = 0;
  }

  /** Detaches this end for the codec: the port and everything queued on it move. */
  #describe(): ConnectionDescriptor {
    if (encodingSideItem()) {
      // Checked before anything moves: the connection stays usable here.
      throw new UncloneableError('A Connection cannot be put in a queue: pass it as a task or Process argument, or send it through a Pipe');
    }
    const port = this.#usablePort();
    if (this.#peeked.length > 0) {
      throw new InvalidStateError('A connection holding a message that recvBytes() refused cannot move: recv() it first');
    }
    this.#port = undefined;
    this.#open.port = undefined;
    letGo(this, this.#open);
    return { buffer: this.#buffer, end: this.#end, port, readable: this.#readable, writable: this.#writable };
  }

  static {
    describeEnd = (connection) => connection.#describe();
  }
}

registerSharedType<Connection, ConnectionDescriptor>(Connection, 'parapool.Connection', {
  encode: (connection) => describeEnd(connection),
  decode: (descriptor) => connectionEnd(descriptor),
});
