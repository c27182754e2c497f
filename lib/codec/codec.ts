/**
 * The codec: how values cross threads.
 *
 * Values travel by structured clone. Three things need more than that, and the
 * encoder (sender side) handles them in one walk over the value:
 *
 * - parapool's shared objects (Value, Lock, Queue, ...) are class instances whose
 *   state lives in SharedArrayBuffers; structured clone would strip their
 *   prototype and private fields. Each class registers a tag with an `encode`
 *   (instance → cloneable descriptor) and a `decode` (descriptor → working
 *   instance over the same memory). The encoder swaps instances for tagged
 *   descriptors, copying only the containers on the path to them; the decoder
 *   swaps them back in place, at any depth.
 * - values that cannot be cloned (functions, symbols, WeakMaps, promises) are
 *   reported before anything is sent, with their path: `args[1].cb is a function`.
 * - buffers marked with `transfer()` are moved instead of copied.
 *
 * Adding a shared type is one call to `registerSharedType`.
 */
import { MessagePort, type TransferListItem } from 'node:worker_threads';
import { InvalidStateError, UncloneableError } from '../errors';

/** Where a registered class keeps its tag: on its prototype, under a registered symbol. */
export const SHARED_TAG = Symbol.for('parapool.codec.tag');
/** The key that marks a descriptor object inside an encoded message. */
export const DESCRIPTOR_KEY = '__parapool_shared__';

export interface SharedTypeCodec<T, D> {
  /** Instance → structured-cloneable descriptor (SharedArrayBuffers, numbers, strings, other shared objects). */
  encode(value: T): D;
  /** Descriptor (already decoded at every depth) → working instance over the same memory. */
  decode(descriptor: D): T;
}

interface Descriptor {
  [DESCRIPTOR_KEY]: string;
  data: unknown;
}

const sharedTypes = new Map<string, SharedTypeCodec<unknown, unknown>>();

/**
 * Registers a class whose instances cross threads as "the same object over the
 * same memory". `tag` must be unique and stable (e.g. `'parapool.Value'`).
 */
export function registerSharedType<T extends object, D>(
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature; `unknown[]` parameters would reject classes with typed ones
  ctor: abstract new (...args: any[]) => T,
  tag: string,
  codec: SharedTypeCodec<T, D>,
): void {
  Object.defineProperty(ctor.prototype, SHARED_TAG, { value: tag, enumerable: false, configurable: true });
  sharedTypes.set(tag, codec as SharedTypeCodec<unknown, unknown>);
}

const transferMarks = new WeakSet<object>();

/** Anything `transfer()` accepts. */
export type TransferableValue = ArrayBuffer | ArrayBufferView | MessagePort;

/**
 * Marks a buffer (an `ArrayBuffer`, or the buffer under a typed array or
 * `Buffer`) or a `MessagePort` to be moved, not copied, the next time it is sent
 * as a task argument or returned as a task result. After the move the sender's
 * buffer is detached (length 0). Returns its argument, so it fits in place.
 *
 * @example
 * const pixels = new Uint8Array(1 << 24);
 * await pool.apply(image.invert, [transfer(pixels)]);   // no 16 MiB copy
 */
export function transfer<T extends TransferableValue>(value: T): T {
  const isBuffer = (value as unknown) instanceof ArrayBuffer || ArrayBuffer.isView(value);
  const isPort = (value as unknown) instanceof MessagePort;
  if (!isBuffer && !isPort) {
    throw new UncloneableError(
      `transfer() takes an ArrayBuffer, a typed array or a MessagePort, got ${Object.prototype.toString.call(value)}`,
    );
  }
  transferMarks.add(value);
  return value;
}

/** The result of `encode`: the value to post, what to move, and whether `decode` is needed. */
export interface Encoded<T = unknown> {
  value: T;
  transferList: TransferListItem[] | undefined;
  /** True when the value holds shared-object descriptors, so the receiver must `decode` it. */
  shared: boolean;
}

const IN_PROGRESS = Symbol('in progress');
const toStringTag = Object.prototype.toString;

/** Built-in objects that structured clone copies as a whole: the walk does not look inside. */
const LEAF_TAGS = new Set([
  '[object Date]',
  '[object RegExp]',
  '[object ArrayBuffer]',
  '[object SharedArrayBuffer]',
  '[object Boolean]',
  '[object Number]',
  '[object String]',
  '[object BigInt]',
  '[object Error]',
  '[object Blob]',
  '[object File]',
]);

const UNCLONEABLE_TAGS: Record<string, string> = {
  '[object WeakMap]': 'a WeakMap',
  '[object WeakSet]': 'a WeakSet',
  '[object WeakRef]': 'a WeakRef',
  '[object FinalizationRegistry]': 'a FinalizationRegistry',
  '[object Promise]': 'a Promise',
  '[object Generator]': 'a generator',
  '[object AsyncGenerator]': 'an async generator',
};

class UncloneableAt {
  constructor(readonly what: string) {}
}

class Encoder {
  transferList: TransferListItem[] | undefined;
  shared = false;
  cyclic = false;
  private readonly seen = new Map<object, unknown>();

  constructor(private readonly copyAll: boolean) {}

  node(value: unknown): unknown {
    const type = typeof value;
    if (type !== 'object') {
      if (type === 'function') throw new UncloneableAt('is a function');
      if (type === 'symbol') throw new UncloneableAt('is a symbol');
      return value;
    }
    if (value === null) return value;
    const object = value as object;
    const done = this.seen.get(object);
    if (done !== undefined) {
      if (done === IN_PROGRESS) {
        this.cyclic = true;
        return object;
      }
      return done;
    }
    if (Array.isArray(object)) return this.array(object);
    if (ArrayBuffer.isView(object)) {
      if (transferMarks.has(object) && object.buffer instanceof ArrayBuffer) this.addTransfer(object.buffer);
      return object;
    }
    const tag = (object as Record<symbol, unknown>)[SHARED_TAG];
    if (typeof tag === 'string') return this.sharedObject(object, tag);
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) return this.plainObject(object);
    const kind = toStringTag.call(object);
    if (LEAF_TAGS.has(kind)) {
      if (transferMarks.has(object)) this.addTransfer(object as ArrayBuffer);
      return object;
    }
    if (kind === '[object Map]') return this.map(object as Map<unknown, unknown>);
    if (kind === '[object Set]') return this.set(object as Set<unknown>);
    const uncloneable = UNCLONEABLE_TAGS[kind];
    if (uncloneable !== undefined) throw new UncloneableAt(`is ${uncloneable}`);
    if (object instanceof MessagePort) {
      // A port can only ever be moved.
      this.addTransfer(object);
      return object;
    }
    // Class instances clone as plain objects of their own enumerable properties.
    return this.plainObject(object);
  }

  private addTransfer(item: TransferListItem): void {
    this.transferList ??= [];
    if (!this.transferList.includes(item)) this.transferList.push(item);
  }

  private array(source: unknown[]): unknown[] {
    let result: unknown[] | undefined = this.copyAll ? new Array(source.length) : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    for (let i = 0; i < source.length; i++) {
      const item = source[i];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') {
        if (result !== undefined) result[i] = item;
        continue;
      }
      const encoded = this.node(item);
      if (result === undefined && encoded !== item) result = source.slice(0, i);
      if (result !== undefined) result[i] = encoded;
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private plainObject(source: object): object {
    let result: Record<string, unknown> | undefined = this.copyAll ? {} : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = (source as Record<string, unknown>)[key];
      const encoded = this.node(item);
      if (result === undefined && encoded !== item) {
        result = {};
        for (let j = 0; j < i; j++) result[keys[j]!] = (source as Record<string, unknown>)[keys[j]!];
      }
      if (result !== undefined) result[key] = encoded;
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private map(source: Map<unknown, unknown>): Map<unknown, unknown> {
    let result: Map<unknown, unknown> | undefined = this.copyAll ? new Map() : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let index = 0;
    for (const [key, item] of source) {
      const encodedKey = this.node(key);
      const encoded = this.node(item);
      if (result === undefined && (encodedKey !== key || encoded !== item)) {
        result = new Map();
        let j = 0;
        for (const [k, v] of source) {
          if (j++ === index) break;
          result.set(k, v);
        }
      }
      result?.set(encodedKey, encoded);
      index++;
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private set(source: Set<unknown>): Set<unknown> {
    let result: Set<unknown> | undefined = this.copyAll ? new Set() : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let index = 0;
    for (const item of source) {
      const encoded = this.node(item);
      if (result === undefined && encoded !== item) {
        result = new Set();
        let j = 0;
        for (const v of source) {
          if (j++ === index) break;
          result.add(v);
        }
      }
      result?.add(encoded);
      index++;
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private sharedObject(object: object, tag: string): Descriptor {
    const codec = sharedTypes.get(tag);
    if (codec === undefined) throw new UncloneableAt(`is a shared object of unregistered type ${tag}`);
    this.shared = true;
    const descriptor: Descriptor = { [DESCRIPTOR_KEY]: tag, data: undefined };
    this.seen.set(object, descriptor);
    descriptor.data = this.node(codec.encode(object));
    return descriptor;
  }
}

/**
 * Prepares `value` to be posted to another thread. `rootName` names the value in
 * error messages (`args`, `result`, `item`); `indexOffset` is added to the
 * first index of the path when `value` is an array that is a slice of a larger
 * one (a chunk of a map's input), so the path counts from the whole input.
 *
 * @throws UncloneableError (`ERR_UNCLONEABLE`) naming the path of the first value that cannot cross.
 */
export function encode<T>(value: T, rootName = 'value', indexOffset = 0): Encoded<T> {
  // Fast path: primitives need no walk at all.
  const type = typeof value;
  if (type !== 'object' && type !== 'function' && type !== 'symbol') {
    return { value, transferList: undefined, shared: false };
  }
  try {
    let encoder = new Encoder(false);
    let encoded = encoder.node(value);
    if (encoder.cyclic && encoder.shared) {
      // A cycle that also holds shared objects: copy every container, so back
      // edges point at copies that hold descriptors, not at the originals.
      encoder = new Encoder(true);
      encoded = encoder.node(value);
    }
    return { value: encoded as T, transferList: encoder.transferList, shared: encoder.shared };
  } catch (error) {
    if (error instanceof UncloneableAt) {
      const path = findUncloneablePath(value, rootName, indexOffset) ?? rootName;
      throw new UncloneableError(`${path} ${error.what}; it cannot be sent to another thread`);
    }
    throw error;
  }
}

/** The slow path, on error only: find where the offending value sits. */
function findUncloneablePath(root: unknown, rootName: string, indexOffset: number): string | undefined {
  const seen = new Set<object>();
  const visit = (value: unknown, path: string): string | undefined => {
    const type = typeof value;
    if (type === 'function' || type === 'symbol') return path;
    if (type !== 'object' || value === null) return undefined;
    const object = value as object;
    if (seen.has(object)) return undefined;
    seen.add(object);
    if (typeof (object as Record<symbol, unknown>)[SHARED_TAG] === 'string') {
      const tag = (object as Record<symbol, string>)[SHARED_TAG]!;
      const codec = sharedTypes.get(tag);
      return codec === undefined ? path : visit(codec.encode(object), path);
    }
    if (Array.isArray(object)) {
      const offset = object === root ? indexOffset : 0;
      for (let i = 0; i < object.length; i++) {
        const found = visit(object[i], `${path}[${i + offset}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (ArrayBuffer.isView(object)) return undefined;
    const kind = toStringTag.call(object);
    if (UNCLONEABLE_TAGS[kind] !== undefined) return path;
    if (LEAF_TAGS.has(kind)) return undefined;
    if (kind === '[object Map]') {
      for (const [key, item] of object as Map<unknown, unknown>) {
        const label = typeof key === 'string' ? JSON.stringify(key) : String(key);
        const found = visit(key, `${path}.<key ${label}>`) ?? visit(item, `${path}.get(${label})`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (kind === '[object Set]') {
      let i = 0;
      for (const item of object as Set<unknown>) {
        const found = visit(item, `${path}.<item ${i++}>`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(object)) {
      const label = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      const found = visit((object as Record<string, unknown>)[key], `${path}${label}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(root, rootName);
}

let loadSharedTypes: (() => void) | undefined;

/**
 * Installs what loads every shared type the first time this thread receives a
 * tag it does not know. The thread entries install it (lib/entry/), so a worker
 * can revive a Value or a Queue without having imported its class, and the
 * codec itself knows no shared type.
 */
export function setSharedTypeLoader(loader: () => void): void {
  loadSharedTypes = loader;
}

function codecFor(tag: string): SharedTypeCodec<unknown, unknown> {
  let codec = sharedTypes.get(tag);
  if (codec === undefined && loadSharedTypes !== undefined) {
    // A thread that receives a shared object before it ever created one has not
    // loaded that class yet: load every shared type once.
    const load = loadSharedTypes;
    loadSharedTypes = undefined;
    load();
    codec = sharedTypes.get(tag);
  }
  if (codec === undefined) {
    throw new InvalidStateError(`Received a shared object of type ${tag}, which this thread does not know`);
  }
  return codec;
}

function isDescriptor(value: object): value is Descriptor {
  return typeof (value as Record<string, unknown>)[DESCRIPTOR_KEY] === 'string';
}

/**
 * Revives the shared objects in a received value, in place, at any depth.
 * Only needed when the sender's `Encoded.shared` was true.
 */
export function decode<T>(value: T): T {
  const revived = new Map<object, unknown>();
  const visit = (item: unknown): unknown => {
    if (typeof item !== 'object' || item === null) return item;
    const object = item as object;
    const known = revived.get(object);
    if (known !== undefined) return known;
    if (isDescriptor(object)) {
      const codec = codecFor(object[DESCRIPTOR_KEY]);
      const data = visit(object.data);
      const instance = codec.decode(data) as object;
      revived.set(object, instance);
      return instance;
    }
    revived.set(object, object);
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const child = object[i];
        if (typeof child === 'object' && child !== null) object[i] = visit(child);
      }
      return object;
    }
    if (ArrayBuffer.isView(object)) return object;
    const kind = toStringTag.call(object);
    if (kind === '[object Map]') {
      const map = object as Map<unknown, unknown>;
      const entries = [...map].map(([k, v]) => [visit(k), visit(v)] as const);
      map.clear();
      for (const [k, v] of entries) map.set(k, v);
      return map;
    }
    if (kind === '[object Set]') {
      const set = object as Set<unknown>;
      const items = [...set].map(visit);
      set.clear();
      for (const v of items) set.add(v);
      return set;
    }
    if (kind !== '[object Object]') return object;
    const record = object as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) record[key] = visit(child);
    }
    return object;
  };
  return visit(value) as T;
}
