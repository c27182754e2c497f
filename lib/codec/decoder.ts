/**
 * The receiver's side of the codec: revives descriptors in place (see lib/codec/codec.ts).
 */
import { types } from 'node:util';
import { InvalidStateError, isParapoolError } from '../errors';
import { safeDescription } from './describe';
import { codecFor, DESCRIPTOR_KEY, type Descriptor, ESCAPED, isStackOverflow, setOwn } from './registry';

const { isMap, isProxy, isSet } = types;

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
