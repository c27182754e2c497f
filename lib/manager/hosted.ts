/**
 * The objects behind `m.dict()`, `m.list()`, `m.set()` and `m.Namespace()`, as
 * they live in the manager thread, with Python's semantics: negative indices,
 * `pop` with and without a default, `KeyError` as `ERR_KEY_NOT_FOUND`,
 * `IndexError` as `RangeError`. Each public method is exposed to proxies
 * (`BUILTIN_METHODS`); every argument arrived by copy.
 */
import { isDeepStrictEqual } from 'node:util';
import { KeyNotFoundError } from '../errors';
import { invalidArg } from '../validate';

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

/** Python's `dict`, on a `Map` (keys compare as `Map` keys do: primitives by value). */
export class HostedDict {
  readonly map: Map<unknown, unknown>;

  constructor(init?: unknown) {
    this.map = new Map();
    if (init !== undefined && init !== null) this.update(init);
  }

  get(key: unknown, defaultValue?: unknown): unknown {
    return this.map.has(key) ? this.map.get(key) : defaultValue;
  }

  set(key: unknown, value: unknown): void {
    this.map.set(key, value);
  }

  has(key: unknown): boolean {
    return this.map.has(key);
  }

  delete(key: unknown): boolean {
    return this.map.delete(key);
  }

  size(): number {
    return this.map.size;
  }

  keys(): unknown[] {
    return [...this.map.keys()];
  }

  values(): unknown[] {
    return [...this.map.values()];
  }

  entries(): [unknown, unknown][] {
    return [...this.map.entries()];
  }

  update(source: unknown): void {
    if (source instanceof Map || Array.isArray(source)) {
      for (const entry of source as Iterable<unknown>) {
        if (!Array.isArray(entry) || entry.length !== 2) throw invalidArg('entries', 'an array of [key, value] pairs', entry);
        this.map.set(entry[0], entry[1]);
      }
      return;
    }
    if (typeof source === 'object' && source !== null) {
      for (const key of Object.keys(source)) this.map.set(key, (source as Record<string, unknown>)[key]);
      return;
    }
    throw invalidArg('update(source)', 'entries, a Map or an object', source);
  }

  pop(...args: unknown[]): unknown {
    const key = args[0];
    if (this.map.has(key)) {
      const value = this.map.get(key);
      this.map.delete(key);
      return value;
    }
    if (args.length >= 2) return args[1];
    throw new KeyNotFoundError(`Key not found: ${describeKey(key)}`);
  }

  setDefault(key: unknown, value?: unknown): unknown {
    if (this.map.has(key)) return this.map.get(key);
    this.map.set(key, value);
    return value;
  }

  clear(): void {
    this.map.clear();
  }

  copy(): Map<unknown, unknown> {
    return new Map(this.map);
  }
}

function checkIndex(name: string, index: unknown): number {
  if (typeof index !== 'number' || !Number.isInteger(index)) throw invalidArg(name, 'an integer', index);
  return index;
}

/** Python's slice bounds: negatives from the end, clamped to `0..length`. */
function sliceBound(name: string, value: unknown, length: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const index = checkIndex(name, value);
  if (index < 0) return Math.max(0, index + length);
  return Math.min(index, length);
}

function compare(a: unknown, b: unknown): number {
  // Python orders numbers by value and strings by code point; JavaScript's default sort compares strings.
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Python's `list`, on an array. */
export class HostedList {
  readonly items: unknown[];

  constructor(init?: unknown) {
    if (init === undefined || init === null) this.items = [];
    else if (typeof init === 'object' && Symbol.iterator in init) this.items = [...(init as Iterable<unknown>)];
    else throw invalidArg('list(init)', 'an iterable', init);
  }

  #at(name: string, index: unknown): number {
    const given = checkIndex(name, index);
    const i = given < 0 ? given + this.items.length : given;
    if (i < 0 || i >= this.items.length) throw new RangeError(`list index ${given} out of range (length ${this.items.length})`);
    return i;
  }

  length(): number {
    return this.items.length;
  }

  get(index: unknown): unknown {
    return this.items[this.#at('index', index)];
  }

  set(index: unknown, value: unknown): void {
    this.items[this.#at('index', index)] = value;
  }

  append(value: unknown): void {
    this.items.push(value);
  }

  extend(values: unknown): void {
    if (typeof values !== 'object' || values === null || !(Symbol.iterator in values))
      throw invalidArg('extend(items)', 'an iterable', values);
    for (const value of values as Iterable<unknown>) this.items.push(value);
  }

  insert(index: unknown, value: unknown): void {
    // Python clamps: insert(-100, x) puts x first, insert(100, x) last.
    this.items.splice(sliceBound('index', index, this.items.length, 0), 0, value);
  }

  pop(index: unknown = -1): unknown {
    if (this.items.length === 0) throw new RangeError('pop from empty list');
    return this.items.splice(this.#at('index', index), 1)[0];
  }

  remove(value: unknown): void {
    const i = this.items.findIndex((item) => isDeepStrictEqual(item, value));
    if (i < 0) throw new RangeError(`list.remove(x): ${describeKey(value)} not in list`);
    this.items.splice(i, 1);
  }

  index(value: unknown, start?: unknown, end?: unknown): number {
    const from = sliceBound('start', start, this.items.length, 0);
    const to = sliceBound('end', end, this.items.length, this.items.length);
    for (let i = from; i < to; i++) if (isDeepStrictEqual(this.items[i], value)) return i;
    throw new RangeError(`${describeKey(value)} is not in list`);
  }

  count(value: unknown): number {
    let n = 0;
    for (const item of this.items) if (isDeepStrictEqual(item, value)) n++;
    return n;
  }

  slice(start?: unknown, end?: unknown): unknown[] {
    const length = this.items.length;
    return this.items.slice(sliceBound('start', start, length, 0), sliceBound('end', end, length, length));
  }

  reverse(): void {
    this.items.reverse();
  }

  sort(options?: { reverse?: boolean }): void {
    this.items.sort(compare);
    if (options?.reverse === true) this.items.reverse();
  }

  clear(): void {
    this.items.length = 0;
  }

  copy(): unknown[] {
    return [...this.items];
  }
}

/** A set, on a `Set`. */
export class HostedSet {
  readonly members: Set<unknown>;

  constructor(init?: unknown) {
    if (init === undefined || init === null) this.members = new Set();
    else if (typeof init === 'object' && Symbol.iterator in init) this.members = new Set(init as Iterable<unknown>);
    else throw invalidArg('set(init)', 'an iterable', init);
  }

  add(value: unknown): void {
    this.members.add(value);
  }

  delete(value: unknown): boolean {
    return this.members.delete(value);
  }

  has(value: unknown): boolean {
    return this.members.has(value);
  }

  size(): number {
    return this.members.size;
  }

  values(): unknown[] {
    return [...this.members];
  }

  clear(): void {
    this.members.clear();
  }

  copy(): Set<unknown> {
    return new Set(this.members);
  }
}

/** Python's `Namespace`: named attributes. */
export class HostedNamespace {
  readonly attrs: Record<string, unknown> = Object.create(null);

  constructor(init?: unknown) {
    if (init === undefined || init === null) return;
    if (typeof init !== 'object') throw invalidArg('Namespace(init)', 'an object', init);
    for (const key of Object.keys(init)) this.set(key, (init as Record<string, unknown>)[key]);
  }

  get(name: unknown): unknown {
    if (typeof name !== 'string' || !Object.hasOwn(this.attrs, name))
      throw new KeyNotFoundError(`Namespace has no attribute ${describeKey(name)}`);
    return this.attrs[name];
  }

  set(name: unknown, value: unknown): void {
    if (typeof name !== 'string') throw invalidArg('name', 'a string', name);
    this.attrs[name] = value;
  }

  delete(name: unknown): void {
    if (typeof name !== 'string' || !Object.hasOwn(this.attrs, name))
      throw new KeyNotFoundError(`Namespace has no attribute ${describeKey(name)}`);
    delete this.attrs[name];
  }

  copy(): Record<string, unknown> {
    return { ...this.attrs };
  }
}

/** The builtin types a manager makes, by type name. */
export const BUILTIN_TYPES = {
  dict: HostedDict,
  list: HostedList,
  set: HostedSet,
  Namespace: HostedNamespace,
} as const;

/** The public methods of a class: its prototype chain's functions, minus `constructor` and `_`-prefixed names. */
export function exposedMethods(ctor: abstract new (...args: never[]) => unknown): string[] {
  const names = new Set<string>();
  for (let proto = ctor.prototype; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name.startsWith('_')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor !== undefined && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}
