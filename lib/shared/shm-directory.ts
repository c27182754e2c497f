/**
 * The process-wide directory of named shared-memory blocks: what lets
 * `new SharedMemory({ name })` attach synchronously, in any thread, to a block
 * that another thread created.
 *
 * A SharedArrayBuffer can only reach another thread inside a message, so every
 * thread keeps its own map name → block and learns about blocks in three ways:
 *
 * 1. Environment data. Each thread keeps `setEnvironmentData(ENV_KEY, ...)` up to
 *    date with its map, so a Worker started later begins with a snapshot
 *    (SharedArrayBuffers in it stay shared).
 * 2. A BroadcastChannel (one per directory). Creating or unlinking a block posts
 *    on it; attaching first drains it with `receiveMessageOnPort`, which works
 *    even in a thread whose event loop is frozen (a piscina worker parked in
 *    `Atomics.wait` between tasks): the message was queued on its port when it
 *    was posted.
 * 3. The race window. A Worker started before a block existed but whose channel
 *    opened only after the block was posted got it neither way. To tell "exists
 *    but I missed it" from "does not exist", blocks carry a sequence number from
 *    a shared counter: a thread knows it is complete once it knows every block up
 *    to the counter value it read when its channel opened (its horizon). An
 *    incomplete thread that misses a name checks a counting filter (a per-bucket
 *    count of live names, also in the directory memory); a zero count means "does
 *    not exist" at once. Otherwise it asks the main thread, which has seen every
 *    block, for a full snapshot and blocks (`Atomics.wait`) until it arrives.
 *    Only this path needs the main thread's event loop to run.
 *
 * Create and unlink run under a mutex in the directory memory, so two threads
 * cannot both create one name, and a thread that holds the mutex and drained its
 * channel has seen every earlier create.
 */
import * as os from 'node:os';
import {
  BroadcastChannel,
  getEnvironmentData,
  isMainThread,
  type MessagePort,
  receiveMessageOnPort,
  setEnvironmentData,
  threadId,
} from 'node:worker_threads';
import { Mutex } from '../atomics/mutex';
import {
  type BlockRecord,
  DIRECTORY_BYTES,
  ENV_KEY,
  type EnvSnapshot,
  FILTER,
  FILTER_BUCKETS,
  isEnvSnapshot,
  newDirectoryId,
} from './shm-env';

export { type BlockRecord, ENV_KEY };
import { InvalidArgumentError, TimeoutError } from '../errors';

// Slots of the directory's Int32Array (then the counting filter, from FILTER: ./shm-env).
const MUTEX = 0;
const CREATE_SEQ = 1;
const REPLY_EPOCH = 2;
const LOCK_GENERATION = 3;

// Slots of a block's header (its own small SharedArrayBuffer, so the data
// buffer is exactly `size` bytes and users can lay typed arrays over it).
const STATE = 0;
const SEQ = 1;
const LIVE = 1;
const UNLINKED = 2;
/** Bytes of a block header. */
export const HEADER_BYTES = 8;

/** A directory mutex held this long belongs to a terminated thread (see `lock`). */
const STALE_LOCK_MS = 5_000;
/** How long an incomplete thread waits for the main thread's snapshot. */
const SYNC_TIMEOUT_MS = 10_000;

type DirectoryMessage =
  | { t: 'create'; name: string; data: SharedArrayBuffer; header: SharedArrayBuffer; seq: number }
  | { t: 'unlink'; name: string; header: SharedArrayBuffer }
  | { t: 'sync'; request: string }
  | { t: 'snapshot'; request: string; blocks: [string, BlockRecord][]; knownThrough: number };

/** True while a block has not been unlinked. */
export function isLive(record: BlockRecord): boolean {
  return Atomics.load(new Int32Array(record.header), STATE) === LIVE;
}

/** FNV-1a over UTF-16 code units, folded onto the filter buckets. */
function bucketOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return FILTER + ((hash >>> 0) % FILTER_BUCKETS);
}

class ShmDirectory {
  private readonly id: string;
  private readonly words: Int32Array;
  private readonly mutex: Mutex;
  private readonly channel: BroadcastChannel;
  private readonly blocks = new Map<string, BlockRecord>();
  /** Whether this thread answers snapshot requests (the main thread, or a thread with no parent directory). */
  private readonly isServer: boolean;
  /** Every block with a sequence number ≤ this is (or was, if since unlinked) known here. */
  private knownThrough = 0;
  private readonly seenAbove = new Set<number>();
  /** Blocks numbered above this reach this thread's channel. */
  private readonly horizon: number;
  private requestCounter = 0;
  private awaitedRequest: string | undefined;

  constructor() {
    const inherited = getEnvironmentData(ENV_KEY);
    if (isMainThread && isEnvSnapshot(inherited) && inherited.reserved === true) {
      // The identity reserveDirectory() published before starting threads: they share it.
      this.id = inherited.id;
      this.words = new Int32Array(inherited.directory);
      this.isServer = true;
    } else if (!isMainThread && isEnvSnapshot(inherited)) {
      this.id = inherited.id;
      this.words = new Int32Array(inherited.directory);
      this.isServer = false;
      this.knownThrough = inherited.knownThrough;
      for (const [name, record] of inherited.blocks) if (isLive(record)) this.blocks.set(name, record);
    } else {
      // The main thread always starts a fresh directory (a second copy of this
      // module in it, e.g. one per jest test file, gets its own), and so does a
      // thread whose parent published none.
      this.id = newDirectoryId();
      this.words = new Int32Array(new SharedArrayBuffer(DIRECTORY_BYTES));
      this.isServer = true;
    }
    this.mutex = new Mutex(this.words, MUTEX, { what: 'SharedMemory directory mutex' });
    this.lock();
    try {
      this.channel = new BroadcastChannel(`${ENV_KEY}:${this.id}`);
      this.horizon = Atomics.load(this.words, CREATE_SEQ);
    } finally {
      this.unlock();
    }
    this.channel.onmessage = (event) => this.handle((event as MessageEvent).data as DirectoryMessage);
    this.channel.unref();
    // Take over this thread's environment data (from an older copy of this module, if any).
    setEnvironmentData(ENV_KEY, this.snapshot() as never);
  }

  /** The live block named `name`, or `undefined` when there is none in the process. */
  lookup(name: string): BlockRecord | undefined {
    this.drain();
    const known = this.liveRecord(name);
    if (known !== undefined || this.isComplete()) return known;
    if (Atomics.load(this.words, bucketOf(name)) === 0) return undefined;
    this.syncWithServer();
    return this.liveRecord(name);
  }

  /**
   * Registers a new block under `name`; returns `undefined` when a live block
   * already has that name.
   */
  create(name: string, size: number): BlockRecord | undefined {
    // Allocate (and zero-fill) outside the mutex, after a cheap early check.
    if (this.lookup(name) !== undefined) return undefined;
    // More than the machine's memory cannot be zero-filled; V8 would collect garbage
    // several times over before saying so (seconds, in a large heap), so say it at once.
    if (size > os.totalmem()) {
      throw new InvalidArgumentError(
        `Expected \`size\` to be a number of bytes this process can allocate, got ${size}: more than this machine's memory (${os.totalmem()} bytes)`,
      );
    }
    let data: SharedArrayBuffer;
    try {
      data = new SharedArrayBuffer(size);
    } catch (error) {
      // V8's RangeError ("Array buffer allocation failed", or past its length limit), said with a code.
      throw new InvalidArgumentError(
        `Expected \`size\` to be a number of bytes this process can allocate, got ${size}: ${(error as Error).message}`,
      );
    }
    const record: BlockRecord = { data, header: new SharedArrayBuffer(HEADER_BYTES) };
    for (;;) {
      if (!this.isComplete() && Atomics.load(this.words, bucketOf(name)) !== 0) this.syncWithServer();
      this.lock();
      try {
        this.drain();
        if (!this.isComplete() && Atomics.load(this.words, bucketOf(name)) !== 0) continue;
        if (this.liveRecord(name) !== undefined) return undefined;
        const seq = Atomics.add(this.words, CREATE_SEQ, 1) + 1;
        const header = new Int32Array(record.header);
        header[STATE] = LIVE;
        header[SEQ] = seq;
        Atomics.add(this.words, bucketOf(name), 1);
        this.post({ t: 'create', name, data: record.data, header: record.header, seq });
        this.blocks.set(name, record);
        this.noteSeq(seq);
        return record;
      } finally {
        this.unlock();
        this.publish();
      }
    }
  }

  /** Marks a block unlinked for every thread; false when it already was. */
  unlink(name: string, record: BlockRecord): boolean {
    this.lock();
    try {
      if (Atomics.compareExchange(new Int32Array(record.header), STATE, LIVE, UNLINKED) !== LIVE) return false;
      Atomics.sub(this.words, bucketOf(name), 1);
      this.post({ t: 'unlink', name, header: record.header });
      if (this.blocks.get(name) === record) this.blocks.delete(name);
      return true;
    } finally {
      this.unlock();
      this.publish();
    }
  }

  private liveRecord(name: string): BlockRecord | undefined {
    const record = this.blocks.get(name);
    if (record === undefined) return undefined;
    if (isLive(record)) return record;
    this.blocks.delete(name);
    return undefined;
  }

  private isComplete(): boolean {
    return this.knownThrough >= this.horizon;
  }

  private noteSeq(seq: number): void {
    if (seq <= this.knownThrough) return;
    this.seenAbove.add(seq);
    while (this.seenAbove.delete(this.knownThrough + 1)) this.knownThrough++;
  }

  private post(message: DirectoryMessage): void {
    this.channel.postMessage(message);
  }

  private drain(): void {
    // Node accepts a BroadcastChannel here (its typings say MessagePort only).
    const port = this.channel as unknown as MessagePort;
    for (let received = receiveMessageOnPort(port); received !== undefined; received = receiveMessageOnPort(port)) {
      this.handle(received.message as DirectoryMessage);
    }
  }

  private handle(message: DirectoryMessage): void {
    switch (message.t) {
      case 'create':
        if (isLive(message)) this.blocks.set(message.name, { data: message.data, header: message.header });
        this.noteSeq(message.seq);
        break;
      case 'unlink':
        if (this.blocks.get(message.name)?.header === message.header) this.blocks.delete(message.name);
        break;
      case 'sync':
        if (this.isServer) this.answerSync(message.request);
        return;
      case 'snapshot':
        if (message.request !== this.awaitedRequest) return;
        this.awaitedRequest = undefined;
        for (const [name, record] of message.blocks) if (isLive(record)) this.blocks.set(name, record);
        this.knownThrough = Math.max(this.knownThrough, message.knownThrough);
        for (const seq of this.seenAbove) if (seq <= this.knownThrough) this.seenAbove.delete(seq);
        while (this.seenAbove.delete(this.knownThrough + 1)) this.knownThrough++;
        break;
    }
    this.publish();
  }

  private answerSync(request: string): void {
    const blocks: [string, BlockRecord][] = [];
    for (const [name, record] of this.blocks) if (isLive(record)) blocks.push([name, record]);
    this.post({ t: 'snapshot', request, blocks, knownThrough: this.knownThrough });
    Atomics.add(this.words, REPLY_EPOCH, 1);
    Atomics.notify(this.words, REPLY_EPOCH);
  }

  /**
   * Asks the server (the main thread) for every block it knows and blocks until
   * the answer is on this thread's channel. The server answers from its channel
   * listener, so this needs its event loop to run.
   */
  private syncWithServer(): void {
    const request = `${threadId}:${this.id}:${++this.requestCounter}:${Math.random().toString(36).slice(2, 10)}`;
    this.awaitedRequest = request;
    this.post({ t: 'sync', request });
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      const epoch = Atomics.load(this.words, REPLY_EPOCH);
      this.drain();
      if (this.awaitedRequest !== request) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        this.awaitedRequest = undefined;
        throw new TimeoutError(
          'Timed out attaching to shared memory by name: this worker started before the block existed and the main ' +
            `thread did not answer within ${SYNC_TIMEOUT_MS} ms (its event loop must be running). Pass the SharedMemory ` +
            'object itself to the worker instead of its name to avoid this.',
        );
      }
      Atomics.wait(this.words, REPLY_EPOCH, epoch, remaining);
    }
  }

  /** Keeps this thread's environment data current, so Workers started from here begin with a snapshot. */
  private publish(): void {
    const current = getEnvironmentData(ENV_KEY);
    // An older copy of this module in the same thread must not overwrite a newer one's directory.
    if (isEnvSnapshot(current) && current.id !== this.id) return;
    setEnvironmentData(ENV_KEY, this.snapshot() as never);
  }

  private snapshot(): EnvSnapshot {
    return { id: this.id, directory: this.words.buffer as SharedArrayBuffer, blocks: this.blocks, knownThrough: this.knownThrough };
  }

  // The shared robust mutex (lib/atomics/mutex.ts): a holder that died inside
  // the section (`worker.terminate()` stops JavaScript anywhere) is taken over.
  // One addition, for deaths that thread cannot see yet (its creator's event
  // loop may be the one blocked here): the holder only does bookkeeping
  // (microseconds), so a mutex whose acquisition counter has not moved for
  // STALE_LOCK_MS while held is abandoned; one waiter takes it over, chosen by
  // a compare-exchange on the counter.
  private lock(): void {
    let generation = Atomics.load(this.words, LOCK_GENERATION);
    let since = Date.now();
    this.mutex.lockSync(Number.POSITIVE_INFINITY, () => {
      const now = Atomics.load(this.words, LOCK_GENERATION);
      if (now !== generation) {
        generation = now;
        since = Date.now();
        return false;
      }
      return (
        Date.now() - since >= STALE_LOCK_MS &&
        Atomics.compareExchange(this.words, LOCK_GENERATION, generation, generation + 1) === generation
      );
    });
    Atomics.add(this.words, LOCK_GENERATION, 1);
  }

  private unlock(): void {
    this.mutex.unlock();
  }
}

/** This thread's directory, created when the module loads so its channel opens as early as possible. */
export const directory = new ShmDirectory();
