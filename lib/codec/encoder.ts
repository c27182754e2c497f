/**
 * The sender's side of the codec: one walk over a value (see lib/codec/codec.ts).
 */
import { types } from 'node:util';
import { MessagePort, type TransferListItem } from 'node:worker_threads';
import { isParapoolError, type ParapoolError, UncloneableError } from '../errors';
import { safeDescription } from './describe';
import { passesAsIs } from './plain';
import { DESCRIPTOR_KEY, type Descriptor, ESCAPED, isStackOverflow, madeDescriptors, setOwn, sharedTagOf, sharedTypes } from './registry';

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

/**
 * Node's platform objects written in JavaScript: their state is in private
 * fields, so structured clone turns each into an empty object without a word.
 * They are refused instead, since what arrives would not be what was sent.
 */
const PLATFORM_CLASSES = [
  'URL',
  'URLSearchParams',
  'Headers',
  'Request',
  'Response',
  'FormData',
  'AbortController',
  'AbortSignal',
  'Event',
  'EventTarget',
  'TextEncoder',
  'TextDecoder',
] as const;

/**
 * The platform classes this Node.js has, looked up once, at the first class instance the walk meets: every one is
 * checked against them. Not when this module loads: reading `Headers`, `Request`, `Response` or `FormData` off
 * `globalThis` loads Node's fetch implementation, which would then be part of every worker's start.
 */
let platformClasses: { name: string; Class: abstract new (...args: never[]) => unknown }[] | undefined;

function platformKind(object: object): string | undefined {
  platformClasses ??= PLATFORM_CLASSES.flatMap((name) => {
    const Class = (globalThis as Record<string, unknown>)[name];
    return typeof Class === 'function' ? [{ name, Class: Class as abstract new (...args: never[]) => unknown }] : [];
  });
  for (const { name, Class } of platformClasses) if (object instanceof Class) return name;
  return undefined;
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
    if (madeDescriptors.has(object)) return this.madeDescriptor(object as Descriptor);
    if (proto === Object.prototype || proto === null) return this.plainObject(object, false);
    return this.instance(object, proto);
  }

  /** A descriptor its type's owner made with `sharedDescriptor`: sent as one, its data encoded. */
  private madeDescriptor(made: Descriptor): Descriptor {
    this.shared = true;
    const descriptor: Descriptor = { [DESCRIPTOR_KEY]: made[DESCRIPTOR_KEY], data: undefined };
    this.seen.set(made, descriptor);
    descriptor.data = this.node(made.data);
    return descriptor;
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
    const platform = platformKind(object);
    if (platform !== undefined) {
      throw new UncloneableAt(
        `is ${/^[AE]/.test(platform) ? 'an' : 'a'} ${platform}, which would arrive as an empty object (send what it holds instead, e.g. a URL's href)`,
      );
    }
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
 * error messages (`args`, `result`, `item`); `indexOffset` is added to the
 * first index of the path when `value` is an array that is a slice of a larger
 * one (a chunk of a map's input), so the path counts from the whole input.
 * A value structured clone can send
 * comes back unchanged (the same object) unless it holds shared objects or an
 * object with the key `__parapool_shared__`; then the containers on the path to
 * them are copied and `shared` is true.
 *
 * @throws UncloneableError (`ERR_UNCLONEABLE`) naming the path of the first value that cannot cross,
 *   or that cannot be read (a throwing getter, a revoked Proxy), or nests too deeply;
 *   or a shared type's own error (e.g. `ERR_INVALID_STATE` for a closed SharedMemory). Never anything else.
 */
export function encode<T>(value: T, rootName = 'value', indexOffset = 0): Encoded<T> {
  // Fast path: a primitive, or an array of primitives (an apply's arguments, mostly), needs no walk:
  // the walk would return it unchanged.
  if (passesAsIs(value)) return { value, transferList: undefined, shared: false };
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
    const outermost = at.path.length - 1;
    const index = indexOffset !== 0 && Array.isArray(value) ? /^\[(\d+)\]$/.exec(at.path[outermost] ?? '') : null;
    if (index !== null) at.path[outermost] = `[${Number(index[1]) + indexOffset}]`;
    const message = `${renderPath(rootName, at.path)} ${at.what}; it cannot be sent to another thread`;
    throw new UncloneableError(message, at.cause === undefined ? undefined : { cause: at.cause });
  }
}
