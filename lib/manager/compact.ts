/**
 * A compact binary form for the plain data most proxy calls carry (strings,
 * numbers, booleans, `undefined`, `null`, `bigint`, dense plain arrays, plain
 * objects, `Map`, `Set`, `Date`), used where structured clone, `v8.serialize`
 * or devalue cost more than the call itself: a sync call's shared-memory lane
 * (lane.ts) and the manager's TCP frames (wire.ts).
 *
 * `encodeCompact` gives up (returns -1 / undefined) on anything else (class
 * instances, typed arrays, shared objects, functions, holes, an object reached
 * twice or a cycle, nesting past `MAX_DEPTH`): the caller then takes the
 * general path (the codec, or devalue), so nothing changes meaning.
 *
 * `decodeCompact` reads untrusted bytes too (over TCP): it only builds data,
 * never calls user code, checks every length against the bytes left before it
 * allocates, refuses nesting past `MAX_DEPTH`, and, when `noProtoKeys` is set,
 * refuses a `__proto__` key. Malformed input throws a `RangeError`/`TypeError`.
 */

/** The deepest nesting either side accepts. */
export const MAX_DEPTH = 256;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_STRING = 6;
const T_BIGINT = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;
const T_MAP = 10;
const T_SET = 11;
const T_DATE = 12;
const T_REF = 13;

/** An extra type the caller carries (the wire's references to server objects). */
export interface CompactRef<R> {
  test(value: object): value is R & object;
  parts(value: R): readonly [number, string, readonly string[]];
  make(id: number, type: string, methods: string[]): R;
}

/** Strings up to this many UTF-16 units are tried as ASCII first. */
const SHORT_STRING = 32;

/** Thrown inside the encoder to give up; never escapes it. */
const GIVE_UP: unique symbol = Symbol('give up');

class Writer {
  buf: Buffer;
  pos: number;
  readonly #limit: number;
  readonly #grow: boolean;
  readonly #ref: CompactRef<unknown> | undefined;
  #first: object | undefined;
  #seen: Set<object> | undefined;

  constructor(buf: Buffer, pos: number, limit: number, grow: boolean, ref: CompactRef<unknown> | undefined) {
    this.buf = buf;
    this.pos = pos;
    this.#limit = limit;
    this.#grow = grow;
    this.#ref = ref;
  }

  #room(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    if (!this.#grow || need > this.#limit) throw GIVE_UP;
    const next = Buffer.allocUnsafe(Math.min(this.#limit, Math.max(need, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  #u32(value: number): void {
    this.#room(4);
    this.buf.writeUInt32LE(value, this.pos);
    this.pos += 4;
  }

  string(value: string, tag = T_STRING): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const length = value.length;
    this.#room(5 + length * 3);
    const buf = this.buf;
    const start = this.pos + 5;
    buf[this.pos] = tag;
    let written = -1;
    if (length <= SHORT_STRING) {
      // Short ASCII (keys, method names) byte by byte: cheaper than a call into Buffer#write.
      written = length;
      for (let i = 0; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) {
          written = -1;
          break;
        }
        buf[start + i] = code;
      }
    }
    if (written < 0) written = buf.write(value, start, 'utf8');
    buf.writeUInt32LE(written, this.pos + 1);
    this.pos = start + written;
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'number':
        if ((value | 0) === value && !Object.is(value, -0)) {
          this.#room(5);
          this.buf[this.pos] = T_INT;
          this.buf.writeInt32LE(value, this.pos + 1);
          this.pos += 5;
        } else {
          this.#room(9);
          this.buf[this.pos] = T_FLOAT;
          this.buf.writeDoubleLE(value, this.pos + 1);
          this.pos += 9;
        }
        return;
      case 'boolean':
        this.#room(1);
        this.buf[this.pos++] = value ? T_TRUE : T_FALSE;
        return;
      case 'undefined':
        this.#room(1);
        this.buf[this.pos++] = T_UNDEFINED;
        return;
      case 'bigint':
        this.string(value.toString(16), T_BIGINT);
        return;
      case 'object':
        if (value === null) {
          this.#room(1);
          this.buf[this.pos++] = T_NULL;
          return;
        }
        this.#object(value, depth);
        return;
      default:
        throw GIVE_UP;
    }
  }

  #object(value: object, depth: number): void {
    if (depth >= MAX_DEPTH) throw GIVE_UP;
    // An object reached twice (or a cycle) gives up. The first object is kept on its own, so a
    // value holding one container (a call's arguments) allocates no set.
    if (this.#first === undefined) this.#first = value;
    else {
      if (value === this.#first) throw GIVE_UP;
      this.#seen ??= new Set();
      if (this.#seen.has(value)) throw GIVE_UP;
      this.#seen.add(value);
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Array.prototype) {
      const array = value as unknown[];
      this.#room(1);
      this.buf[this.pos++] = T_ARRAY;
      this.#u32(array.length);
      for (let i = 0; i < array.length; i++) {
        if (!(i in array)) throw GIVE_UP;
        this.value(array[i], depth + 1);
      }
      return;
    }
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(value);
      this.#room(1);
      this.buf[this.pos++] = T_OBJECT;
      this.#u32(keys.length);
      for (const key of keys) {
        this.string(key);
        this.value((value as Record<string, unknown>)[key], depth + 1);
      }
      return;
    }
    if (proto === Map.prototype) {
      const map = value as Map<unknown, unknown>;
      this.#room(1);
      this.buf[this.pos++] = T_MAP;
      this.#u32(map.size);
      for (const [k, v] of map) {
        this.value(k, depth + 1);
        this.value(v, depth + 1);
      }
      return;
    }
    if (proto === Set.prototype) {
      const set = value as Set<unknown>;
      this.#room(1);
      this.buf[this.pos++] = T_SET;
      this.#u32(set.size);
      for (const item of set) this.value(item, depth + 1);
      return;
    }
    if (proto === Date.prototype) {
      this.#room(9);
      this.buf[this.pos] = T_DATE;
      this.buf.writeDoubleLE((value as Date).getTime(), this.pos + 1);
      this.pos += 9;
      return;
    }
    if (this.#ref?.test(value)) {
      const [id, type, methods] = this.#ref.parts(value);
      this.#room(5);
      this.buf[this.pos] = T_REF;
      this.buf.writeInt32LE(id, this.pos + 1);
      this.pos += 5;
      this.string(type);
      this.#u32(methods.length);
      for (const method of methods) this.string(method);
      return;
    }
    throw GIVE_UP;
  }
}

/**
 * Writes `value` into `buf` from `offset`, within `buf`'s length. Returns the
 * end offset, or -1 when the value is not plain data of the kinds above or does not fit.
 */
export function encodeCompactInto(value: unknown, buf: Buffer, offset: number): number {
  const writer = new Writer(buf, offset, buf.length, false, undefined);
  try {
    writer.value(value, 0);
  } catch (error) {
    if (error === GIVE_UP) return -1;
    throw error;
  }
  return writer.pos;
}

/**
 * `value` as a buffer whose first `head` bytes are left for the caller, at most
 * `limit` bytes in all; undefined when it is not plain data or would be larger.
 * A `ref` adds one more type the form carries.
 */
export function encodeCompact<R>(value: unknown, head: number, limit: number, ref?: CompactRef<R>): Buffer | undefined {
  const writer = new Writer(Buffer.allocUnsafe(Math.min(limit, 256)), head, limit, true, ref as CompactRef<unknown> | undefined);
  try {
    writer.value(value, 0);
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
  return writer.buf.subarray(0, writer.pos);
}

/**
 * `values`, one after the other, as `encodeCompact` writes one (read back with
 * `decodeCompactValues`); undefined when one is not plain data or all would be
 * larger than `limit`.
 */
export function encodeCompactValues<R>(values: readonly unknown[], head: number, limit: number, ref?: CompactRef<R>): Buffer | undefined {
  const writer = new Writer(Buffer.allocUnsafe(Math.min(limit, 256)), head, limit, true, ref as CompactRef<unknown> | undefined);
  try {
    for (const value of values) writer.value(value, 0);
  } catch (error) {
    if (error === GIVE_UP) return undefined;
    throw error;
  }
  return writer.buf.subarray(0, writer.pos);
}

const HEX = /^-?[0-9a-f]+$/;

class Reader {
  pos: number;
  readonly #buf: Buffer;
  readonly #end: number;
  readonly #noProto: boolean;
  readonly #ref: CompactRef<unknown> | undefined;

  constructor(buf: Buffer, pos: number, end: number, noProto: boolean, ref: CompactRef<unknown> | undefined) {
    this.#buf = buf;
    this.pos = pos;
    this.#end = end;
    this.#noProto = noProto;
    this.#ref = ref;
  }

  #need(bytes: number): void {
    if (this.pos + bytes > this.#end) throw new RangeError('compact value truncated');
  }

  #u32(): number {
    this.#need(4);
    const value = this.#buf.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A count of items, each at least one byte: never more than the bytes left. */
  #count(): number {
    const count = this.#u32();
    if (count > this.#end - this.pos) throw new RangeError('compact count past the end');
    return count;
  }

  #text(): string {
    const length = this.#u32();
    this.#need(length);
    const text = this.#buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return text;
  }

  #key(): string {
    this.#need(1);
    if (this.#buf[this.pos++] !== T_STRING) throw new TypeError('compact key is not a string');
    return this.#text();
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new RangeError('compact value nested too deeply');
    this.#need(1);
    const tag = this.#buf[this.pos++];
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT: {
        this.#need(4);
        const value = this.#buf.readInt32LE(this.pos);
        this.pos += 4;
        return value;
      }
      case T_FLOAT:
      case T_DATE: {
        this.#need(8);
        const value = this.#buf.readDoubleLE(this.pos);
        this.pos += 8;
        return tag === T_DATE ? new Date(value) : value;
      }
      case T_STRING:
        return this.#text();
      case T_BIGINT: {
        const text = this.#text();
        if (!HEX.test(text)) throw new TypeError('malformed compact bigint');
        return text.startsWith('-') ? -BigInt(`0x${text.slice(1)}`) : BigInt(`0x${text}`);
      }
      case T_ARRAY: {
        const count = this.#count();
        const array: unknown[] = [];
        for (let i = 0; i < count; i++) array.push(this.value(depth + 1));
        return array;
      }
      case T_OBJECT: {
        const count = this.#count();
        const object: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = this.#key();
          const item = this.value(depth + 1);
          if (key === '__proto__') {
            if (this.#noProto) throw new TypeError('__proto__ key in frame');
            Object.defineProperty(object, key, { value: item, writable: true, enumerable: true, configurable: true });
          } else object[key] = item;
        }
        return object;
      }
      case T_MAP: {
        const count = this.#count();
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < count; i++) {
          const key = this.value(depth + 1);
          map.set(key, this.value(depth + 1));
        }
        return map;
      }
      case T_SET: {
        const count = this.#count();
        const set = new Set<unknown>();
        for (let i = 0; i < count; i++) set.add(this.value(depth + 1));
        return set;
      }
      case T_REF: {
        if (this.#ref === undefined) throw new TypeError('unexpected reference');
        this.#need(4);
        const id = this.#buf.readInt32LE(this.pos);
        this.pos += 4;
        const type = this.#key();
        const count = this.#count();
        const methods: string[] = [];
        for (let i = 0; i < count; i++) methods.push(this.#key());
        return this.#ref.make(id, type, methods);
      }
      default:
        throw new TypeError(`unknown compact tag ${tag}`);
    }
  }
}

/**
 * Reads one value from `buf[offset, end)`; throws on malformed input or bytes
 * left over. `noProtoKeys` refuses `__proto__` keys (network input).
 */
export function decodeCompact<R>(buf: Buffer, offset: number, end: number, noProtoKeys: boolean, ref?: CompactRef<R>): unknown {
  const reader = new Reader(buf, offset, end, noProtoKeys, ref as CompactRef<unknown> | undefined);
  const value = reader.value(0);
  if (reader.pos !== end) throw new RangeError('bytes left after a compact value');
  return value;
}

/**
 * Reads `count` values written by `encodeCompactValues` from `buf[offset, end)`;
 * throws on malformed input or bytes left over.
 */
export function decodeCompactValues<R>(
  buf: Buffer,
  offset: number,
  end: number,
  count: number,
  noProtoKeys: boolean,
  ref?: CompactRef<R>,
): unknown[] {
  const reader = new Reader(buf, offset, end, noProtoKeys, ref as CompactRef<unknown> | undefined);
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) values.push(reader.value(0));
  if (reader.pos !== end) throw new RangeError('bytes left after a compact value');
  return values;
}
