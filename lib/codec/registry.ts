/**
 * The registry of shared types and the descriptor format both sides of the
 * codec agree on (see lib/codec/codec.ts for the design).
 */
import { types } from 'node:util';
import { InvalidStateError } from '../errors';
import { invalidArg } from '../validate';

const { isNativeError, isProxy } = types;

/** The key that marks a descriptor object inside an encoded message. */
export const DESCRIPTOR_KEY = '__parapool_shared__';
/** The tag of an escape descriptor: a user's object that holds DESCRIPTOR_KEY itself. */
export const ESCAPED = 'parapool.codec.escaped';

export interface SharedTypeCodec<T, D> {
  /** Instance → structured-cloneable descriptor (SharedArrayBuffers, numbers, strings, other shared objects). */
  encode(value: T): D;
  /** Descriptor (already decoded at every depth) → working instance over the same memory. */
  decode(descriptor: D): T;
}

export interface Descriptor {
  [DESCRIPTOR_KEY]: string;
  data: unknown;
}

export const sharedTypes = new Map<string, SharedTypeCodec<unknown, unknown>>();
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

export function isStackOverflow(thrown: unknown): boolean {
  if (!isNativeError(thrown) || isProxy(thrown) || Object.getPrototypeOf(thrown) !== RangeError.prototype) return false;
  const message = Object.getOwnPropertyDescriptor(thrown, 'message')?.value;
  return typeof message === 'string' && message.includes('call stack');
}

export function sharedTagOf(proto: object | null): string | undefined {
  for (let current = proto; current !== null && current !== Object.prototype; current = Object.getPrototypeOf(current)) {
    if (isProxy(current)) return undefined;
    const tag = tagsByPrototype.get(current);
    if (tag !== undefined) return tag;
  }
  return undefined;
}

/** `target[key] = value` as an own data property, also for the key `__proto__` (which would set the prototype). */
export function setOwn(target: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
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

export function codecFor(tag: string): SharedTypeCodec<unknown, unknown> {
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

/** Descriptors made by `sharedDescriptor`: the encoder sends them as descriptors (user data that holds DESCRIPTOR_KEY is escaped). */
export const madeDescriptors = new WeakSet<object>();

/**
 * A descriptor of shared type `tag`, built by the code that owns the type when it
 * has no instance at hand (a Manager's host hands out proxies to objects that
 * only it holds). `encode` sends it as that shared object, where a plain object
 * of the same shape would be escaped as user data.
 */
export function sharedDescriptor(tag: string, data: unknown): Descriptor {
  const descriptor: Descriptor = { [DESCRIPTOR_KEY]: tag, data };
  madeDescriptors.add(descriptor);
  return descriptor;
}
