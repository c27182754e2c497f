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
 * - values that cannot be cloned (functions, symbols, Proxies, WeakMaps,
 *   promises) and values that cannot even be read (a throwing getter, a revoked
 *   Proxy) are reported before anything is sent, with their path:
 *   `args[1].cb is a function`. `encode` throws nothing but parapool errors.
 * - buffers marked with `transfer()` are moved instead of copied.
 *
 * Descriptors cannot be forged by user data. A descriptor is a plain object
 * whose own key `__parapool_shared__` holds its tag. The encoder escapes every
 * object of the user's that has that key itself (as an own enumerable property,
 * the kind structured clone carries over) into an escape descriptor,
 * `{ __parapool_shared__: 'parapool.codec.escaped', data: [[key, value], ...] }`,
 * which the decoder turns back into an object with exactly those properties, in
 * that order. So in an encoded value every object that holds the key was made
 * by the encoder, and the decoder can trust it. The decoder looks for the key on
 * plain objects only, never on arrays, Maps, Sets or built-ins.
 *
 * What the walk visits, on both sides: array elements, own enumerable string
 * keys of plain objects and of class instances (which clone as plain objects),
 * Map entries, Set items, and a shared object's descriptor. Named (non-index)
 * properties of arrays are left to structured clone on both sides: listing an
 * array's keys costs more than cloning it, and arrays of numbers must stay fast.
 * Where the encoder copies an array it copies them too, as they are.
 *
 * Nesting: the walk is recursive, as V8's serializer is. A value nested deeper
 * than the stack allows is ERR_UNCLONEABLE ("is nested too deeply"), never a
 * RangeError. Walking iteratively would not help: structured clone itself
 * gives up at about the same depth, so such a value could not be sent anyway.
 *
 * Adding a shared type is one call to `registerSharedType`.
 */
import { types } from 'node:util';
import { MessagePort, type TransferListItem } from 'node:worker_threads';
import { InvalidStateError, isParapoolError, type ParapoolError, UncloneableError } from '../errors';
import { invalidArg } from '../validate';
import { safeDescription } from './describe';

/** The key that marks a descriptor object inside an encoded message. */
export const DESCRIPTOR_KEY = '__parapool_shared__';
/** The tag of an escape descriptor: a user's object that holds DESCRIPTOR_KEY itself. */
const ESCAPED = 'parapool.codec.escaped';

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
/** Registered prototypes → tags; looked up along the prototype chain, so a subclass inherits its parent's tag. */
const tagsByPrototype = new WeakMap<object, string>();

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
  if (tag === ESCAPED) throw invalidArg('tag', 'a tag the codec does not use itself', tag);
  tagsByPrototype.set(ctor.prototype, tag);
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
 * @throws UncloneableError (`ERR_UNCLONEABLE`) for anything else.
 * @example
 * const pixels = new Uint8Array(1 << 24);
 * await pool.apply(image.invert, [transfer(pixels)]);   // no 16 MiB copy
 */
export function transfer<T extends TransferableValue>(value: T): T {
  const movable = !types.isProxy(value) && (value instanceof ArrayBuffer || ArrayBuffer.isView(value) || value instanceof MessagePort);
  if (!movable) {
    throw new UncloneableError(`transfer() takes an ArrayBuffer, a typed array or a MessagePort, got ${safeDescription(value)}`);
  }
  transferMarks.add(value);
  return value;
}

/** The result of `encode`: the value to post, what to move, and whether `decode` is needed. */
export interface Encoded<T = unknown> {
  value: T;
  transferList: TransferListItem[] | undefined;
  /** True when the value holds descriptors (shared objects, escaped objects), so the receiver must `decode` it. */
  shared: boolean;
}

const IN_PROGRESS = Symbol('in progress');
const {
  isAnyArrayBuffer,
  isBoxedPrimitive,
  isDate,
  isGeneratorObject,
  isMap,
  isNativeError,
  isPromise,
  isProxy,
  isRegExp,
  isSet,
  isWeakMap,
  isWeakSet,
} = types;
// The built-in iterators, not the instance's: a Map subclass may override `entries`, structured clone does not look.
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;

/** Why a value cannot cross, and where. `path` is filled on the way out, innermost segment first. */
class UncloneableAt {
  readonly #brand = true;
  readonly path: string[] = [];
  constructor(
    readonly what: string,
    readonly cause?: unknown,
    /** A shared type's own refusal (e.g. a closed SharedMemory): thrown as it is. */
    readonly refusal?: ParapoolError,
  ) {}

  /** Whatever was thrown during the walk, as an UncloneableAt; never runs user code. */
  static of(thrown: unknown): UncloneableAt {
    if (typeof thrown === 'object' && thrown !== null && #brand in thrown) return thrown as UncloneableAt;
    if (isStackOverflow(thrown)) return new UncloneableAt('is nested too deeply');
    return new UncloneableAt(`could not be read: reading it threw ${safeDescription(thrown)}`, thrown);
  }
}

function isStackOverflow(thrown: unknown): boolean {
  if (!isNativeError(thrown) || isProxy(thrown) || Object.getPrototypeOf(thrown) !== RangeError.prototype) return false;
  const message = Object.getOwnPropertyDescriptor(thrown, 'message')?.value;
  return typeof message === 'string' && message.includes('call stack');
}

/** Structured clone refuses these outright. */
function uncloneableKind(object: object): string | undefined {
  if (isWeakMap(object)) return 'a WeakMap';
  if (isWeakSet(object)) return 'a WeakSet';
  if (isPromise(object)) return 'a Promise';
  if (isGeneratorObject(object)) return 'a generator';
  if (object instanceof WeakRef) return 'a WeakRef';
  if (object instanceof FinalizationRegistry) return 'a FinalizationRegistry';
  return undefined;
}

function sharedTagOf(proto: object | null): string | undefined {
  for (let current = proto; current !== null && current !== Object.prototype; current = Object.getPrototypeOf(current)) {
    if (isProxy(current)) return undefined;
    const tag = tagsByPrototype.get(current);
    if (tag !== undefined) return tag;
  }
  return undefined;
}

/** `target[key] = value` as an own data property, also for the key `__proto__` (which would set the prototype). */
function setOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

function isArrayIndex(key: string): boolean {
  const index = Number(key);
  return index >>> 0 === index && index !== 4294967295 && String(index) === key;
}

function propertySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function keyLabel(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  return typeof key === 'object' || typeof key === 'function' ? safeDescription(key) : String(key);
}

/** How many path segments an error message shows at most, from each end. */
const PATH_SHOWN = 12;

function renderPath(rootName: string, innermostFirst: readonly string[]): string {
  const segments = innermostFirst.slice().reverse();
  if (segments.length <= 2 * PATH_SHOWN) return rootName + segments.join('');
  const hidden = segments.length - 2 * PATH_SHOWN;
  return `${rootName}${segments.slice(0, PATH_SHOWN).join('')}…(${hidden} more)…${segments.slice(-PATH_SHOWN).join('')}`;
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
      if (type === 'function') throw new UncloneableAt(isProxy(value) ? 'is a Proxy' : 'is a function');
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
    // Before anything else touches it: every other check could run a trap.
    if (isProxy(object)) throw new UncloneableAt('is a Proxy');
    if (Array.isArray(object)) return this.array(object);
    if (ArrayBuffer.isView(object)) {
      if (transferMarks.has(object) && object.buffer instanceof ArrayBuffer) this.addTransfer(object.buffer);
      return object;
    }
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) return this.plainObject(object, false);
    return this.instance(object, proto);
  }

  private instance(object: object, proto: object): unknown {
    if (isMap(object)) return this.map(object as Map<unknown, unknown>);
    if (isSet(object)) return this.set(object as Set<unknown>);
    if (isAnyArrayBuffer(object)) {
      if (transferMarks.has(object)) this.addTransfer(object as ArrayBuffer);
      return object;
    }
    // Cloned whole by structured clone; nothing of ours can be inside.
    if (isDate(object) || isRegExp(object) || isBoxedPrimitive(object) || isNativeError(object)) return object;
    const uncloneable = uncloneableKind(object);
    if (uncloneable !== undefined) throw new UncloneableAt(`is ${uncloneable}`);
    if (object instanceof MessagePort) {
      // A port can only ever be moved.
      this.addTransfer(object);
      return object;
    }
    const tag = sharedTagOf(proto);
    if (tag !== undefined) return this.sharedObject(object, tag);
    // Class instances clone as plain objects of their own enumerable properties.
    return this.plainObject(object, true);
  }

  private addTransfer(item: TransferListItem): void {
    this.transferList ??= [];
    if (!this.transferList.includes(item)) this.transferList.push(item);
  }

  private array(source: unknown[]): unknown[] {
    const length = source.length;
    let result: unknown[] | undefined = this.copyAll ? new Array(length) : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let i = 0;
    try {
      for (; i < length; i++) {
        const item = source[i];
        if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') {
          // `i in source` only for undefined: a hole stays a hole, as structured clone keeps it.
          if (result !== undefined && (item !== undefined || i in source)) result[i] = item;
          continue;
        }
        const encoded = this.node(item);
        if (result === undefined && encoded !== item) {
          result = new Array(length);
          for (let j = 0; j < i; j++) if (j in source) result[j] = source[j];
        }
        if (result !== undefined) result[i] = encoded;
      }
    } catch (error) {
      throw this.failure(error, `[${i}]`);
    }
    if (result !== undefined) this.copyNamedProperties(source, result);
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  /** An array's named properties, onto its copy, as they are (see the header: the walk leaves them to structured clone). */
  private copyNamedProperties(source: unknown[], result: unknown[]): void {
    const keys = Object.keys(source);
    // Own keys list array indices first, then names in insertion order.
    let first = keys.length;
    while (first > 0 && !isArrayIndex(keys[first - 1]!)) first--;
    let key = '';
    try {
      for (let k = first; k < keys.length; k++) {
        key = keys[k]!;
        setOwn(result, key, (source as unknown as Record<string, unknown>)[key]);
      }
    } catch (error) {
      throw this.failure(error, propertySegment(key));
    }
  }

  private plainObject(source: object, isInstance: boolean): object {
    const keys = Object.keys(source);
    // An instance without own properties (an empty one, or a host object such as a Blob, whose
    // state is not in properties) goes to structured clone as it is.
    if (isInstance && keys.length === 0) return source;
    if (keys.includes(DESCRIPTOR_KEY)) return this.escaped(source, keys);
    const record = source as Record<string, unknown>;
    let result: object | undefined = this.copyAll ? {} : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let i = 0;
    try {
      for (; i < keys.length; i++) {
        const key = keys[i]!;
        const item = record[key];
        const encoded = typeof item === 'object' || typeof item === 'function' || typeof item === 'symbol' ? this.node(item) : item;
        if (result === undefined && encoded !== item) {
          result = {};
          for (let j = 0; j < i; j++) setOwn(result, keys[j]!, record[keys[j]!]);
        }
        if (result !== undefined) setOwn(result, key, encoded);
      }
    } catch (error) {
      throw this.failure(error, propertySegment(keys[i]!));
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  /** A user's object that holds DESCRIPTOR_KEY: as an escape descriptor, so it cannot pass for one of ours. */
  private escaped(source: object, keys: string[]): Descriptor {
    this.shared = true;
    const entries: [string, unknown][] = [];
    const descriptor: Descriptor = { [DESCRIPTOR_KEY]: ESCAPED, data: entries };
    this.seen.set(source, descriptor);
    let i = 0;
    try {
      for (; i < keys.length; i++) entries.push([keys[i]!, this.node((source as Record<string, unknown>)[keys[i]!])]);
    } catch (error) {
      throw this.failure(error, propertySegment(keys[i]!));
    }
    return descriptor;
  }

  private map(source: Map<unknown, unknown>): Map<unknown, unknown> {
    let result: Map<unknown, unknown> | undefined = this.copyAll ? new Map() : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let index = 0;
    let key: unknown;
    let inKey = true;
    try {
      for (const [entryKey, item] of mapEntries.call(source)) {
        key = entryKey;
        inKey = true;
        const encodedKey = this.node(key);
        inKey = false;
        const encoded = this.node(item);
        if (result === undefined && (encodedKey !== key || encoded !== item)) {
          result = new Map();
          let j = 0;
          for (const [k, v] of mapEntries.call(source)) {
            if (j++ === index) break;
            result.set(k, v);
          }
        }
        result?.set(encodedKey, encoded);
        index++;
      }
    } catch (error) {
      throw this.failure(error, inKey ? `.<key ${keyLabel(key)}>` : `.get(${keyLabel(key)})`);
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private set(source: Set<unknown>): Set<unknown> {
    let result: Set<unknown> | undefined = this.copyAll ? new Set() : undefined;
    this.seen.set(source, result ?? IN_PROGRESS);
    let index = 0;
    try {
      for (const item of setValues.call(source)) {
        const encoded = this.node(item);
        if (result === undefined && encoded !== item) {
          result = new Set();
          let j = 0;
          for (const v of setValues.call(source)) {
            if (j++ === index) break;
            result.add(v);
          }
        }
        result?.add(encoded);
        index++;
      }
    } catch (error) {
      throw this.failure(error, `.<item ${index}>`);
    }
    const out = result ?? source;
    this.seen.set(source, out);
    return out;
  }

  private sharedObject(object: object, tag: string): Descriptor {
    const codec = sharedTypes.get(tag)!;
    this.shared = true;
    const descriptor: Descriptor = { [DESCRIPTOR_KEY]: tag, data: undefined };
    this.seen.set(object, descriptor);
    let data: unknown;
    try {
      data = codec.encode(object);
    } catch (error) {
      if (isParapoolError(error)) throw new UncloneableAt('', error, error);
      throw new UncloneableAt(`is a ${tag} that cannot be sent: ${safeDescription(error)}`, error);
    }
    descriptor.data = this.node(data);
    return descriptor;
  }

  /** Adds this container's segment to the path of whatever was thrown below it. */
  private failure(thrown: unknown, segment: string): UncloneableAt {
    const at = UncloneableAt.of(thrown);
    at.path.push(segment);
    return at;
  }
}

/**
 * Prepares `value` to be posted to another thread. `rootName` names the value in
 * error messages (`args`, `result`, `item`). A value structured clone can send
 * comes back unchanged (the same object) unless it holds shared objects or an
 * object with the key `__parapool_shared__`; then the containers on the path to
 * them are copied and `shared` is true.
 *
 * @throws UncloneableError (`ERR_UNCLONEABLE`) naming the path of the first value that cannot cross,
 *   or that cannot be read (a throwing getter, a revoked Proxy), or nests too deeply;
 *   or a shared type's own error (e.g. `ERR_INVALID_STATE` for a closed SharedMemory). Never anything else.
 */
export function encode<T>(value: T, rootName = 'value'): Encoded<T> {
  // Fast path: primitives need no walk at all.
  const type = typeof value;
  if (type !== 'object' && type !== 'function' && type !== 'symbol') {
    return { value, transferList: undefined, shared: false };
  }
  try {
    let encoder = new Encoder(false);
    let encoded = encoder.node(value);
    if (encoder.cyclic && encoder.shared) {
      // A cycle that also holds descriptors: copy every container, so back
      // edges point at copies that hold descriptors, not at the originals.
      encoder = new Encoder(true);
      encoded = encoder.node(value);
    }
    return { value: encoded as T, transferList: encoder.transferList, shared: encoder.shared };
  } catch (error) {
    const at = UncloneableAt.of(error);
    if (at.refusal !== undefined) throw at.refusal;
    const message = `${renderPath(rootName, at.path)} ${at.what}; it cannot be sent to another thread`;
    throw new UncloneableError(message, at.cause === undefined ? undefined : { cause: at.cause });
  }
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

/** Marks "not one of ours after all": a key with a value no encoder writes stays plain data. */
const NOT_A_DESCRIPTOR = Symbol('not a descriptor');

class Decoder {
  private readonly revived = new Map<object, unknown>();

  node(item: unknown): unknown {
    if (typeof item !== 'object' || item === null) return item;
    const object = item as object;
    const known = this.revived.get(object);
    if (known !== undefined) return known;
    if (Array.isArray(object)) {
      this.revived.set(object, object);
      for (let i = 0; i < object.length; i++) {
        const child = object[i];
        if (typeof child === 'object' && child !== null) {
          const revived = this.node(child);
          if (revived !== child) object[i] = revived;
        }
      }
      return object;
    }
    if (ArrayBuffer.isView(object)) return object;
    if (isMap(object)) return this.map(object as Map<unknown, unknown>);
    if (isSet(object)) return this.set(object as Set<unknown>);
    // After structured clone every object that is not a built-in is a plain object, of whichever
    // realm received it (so its prototype is an Object.prototype, not necessarily this one's).
    const proto = Object.getPrototypeOf(object);
    if (proto !== null && (isProxy(proto) || Object.getPrototypeOf(proto) !== null)) return object;
    if (Object.hasOwn(object, DESCRIPTOR_KEY)) {
      const revived = this.descriptor(object as Descriptor);
      if (revived !== NOT_A_DESCRIPTOR) return revived;
    }
    this.revived.set(object, object);
    const record = object as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) {
        const revived = this.node(child);
        if (revived !== child) setOwn(record, key, revived);
      }
    }
    return object;
  }

  private descriptor(descriptor: Descriptor): unknown {
    const tag = descriptor[DESCRIPTOR_KEY];
    const data = descriptor.data;
    if (tag === ESCAPED) {
      if (!Array.isArray(data)) return NOT_A_DESCRIPTOR;
      const rebuilt = {};
      this.revived.set(descriptor, rebuilt);
      for (const entry of data) {
        if (Array.isArray(entry) && typeof entry[0] === 'string') setOwn(rebuilt, entry[0], this.node(entry[1]));
      }
      return rebuilt;
    }
    if (typeof tag !== 'string') return NOT_A_DESCRIPTOR;
    const codec = codecFor(tag);
    // A back edge into its own data (only a hostile sender makes one) meets the descriptor, not a loop.
    this.revived.set(descriptor, descriptor);
    const revivedData = this.node(data);
    let instance: unknown;
    try {
      instance = codec.decode(revivedData);
    } catch (error) {
      if (isParapoolError(error)) throw error;
      throw new InvalidStateError(`Received a ${tag} that could not be revived: ${safeDescription(error)}`, { cause: error });
    }
    this.revived.set(descriptor, instance);
    return instance;
  }

  private map(map: Map<unknown, unknown>): Map<unknown, unknown> {
    this.revived.set(map, map);
    let changed = false;
    const entries = [...map].map(([key, value]) => {
      const revivedKey = this.node(key);
      const revivedValue = this.node(value);
      changed ||= revivedKey !== key || revivedValue !== value;
      return [revivedKey, revivedValue] as const;
    });
    if (changed) {
      map.clear();
      for (const [key, value] of entries) map.set(key, value);
    }
    return map;
  }

  private set(set: Set<unknown>): Set<unknown> {
    this.revived.set(set, set);
    let changed = false;
    const items = [...set].map((item) => {
      const revived = this.node(item);
      changed ||= revived !== item;
      return revived;
    });
    if (changed) {
      set.clear();
      for (const item of items) set.add(item);
    }
    return set;
  }
}

/**
 * Revives the descriptors in a received value (shared objects, escaped
 * objects), in place, at any depth; returns the value (a new object when the
 * root itself was a descriptor). Only needed when the sender's
 * `Encoded.shared` was true. An object with the descriptor key whose tag no
 * encoder writes is left as plain data.
 *
 * @throws InvalidStateError (`ERR_INVALID_STATE`) for a shared object this thread cannot revive
 *   (an unknown type, memory that is gone), or a shared type's own error; never anything else.
 */
export function decode<T>(value: T): T {
  try {
    return new Decoder().node(value) as T;
  } catch (error) {
    if (isParapoolError(error)) throw error;
    const what = isStackOverflow(error) ? 'is nested too deeply to revive' : `could not be revived: ${safeDescription(error)}`;
    throw new InvalidStateError(`A value received from another thread ${what}`, { cause: error });
  }
}
