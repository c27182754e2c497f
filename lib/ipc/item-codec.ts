/**
 * The bytes of a queue item: a small binary format for the values that fill
 * most queues (numbers, strings, booleans, null, undefined, plain objects and
 * arrays of them), written straight into a reusable buffer and read straight
 * out of shared memory.
 *
 * Why not `v8.serialize`: it costs more per small object than a whole
 * `MessagePort.postMessage` round, and this format writes and reads the same
 * object several times faster (docs/design/queue.md has the figures and the
 * command behind them). Everything it does not cover (Map, Set, Date, typed
 * arrays, BigInt, class instances, repeated or cyclic references, holes,
 * arrays with named properties, strings with lone surrogates, Proxies) falls
 * back to `v8.serialize`, so values arrive exactly as structured clone would
 * deliver them.
 *
 * Format: one tag byte per value, little-endian.
 *   UNDEFINED | NULL | TRUE | FALSE
 *   INT32 i32 | FLOAT64 f64
 *   ASCII u32 n, n bytes (strings ≤ 64 chars, all < 0x80) | UTF8 u32 n, n bytes
 *   ARRAY u32 n, n values | OBJECT u32 n, n × (key string, value)
 */
import { types } from 'node:util';

const UNDEFINED = 0;
const NULL = 1;
const TRUE = 2;
const FALSE = 3;
const INT32 = 4;
const FLOAT64 = 5;
const ASCII = 6;
const UTF8 = 7;
const ARRAY = 8;
const OBJECT = 9;

const SHORT_STRING = 64;
const LARGE_SCRATCH = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let bytes = new Uint8Array(4096);
let view = new DataView(bytes.buffer);
let cursor = 0;
const containers = new Set<object>();

/** Thrown inside the writer when a value needs the fallback; never escapes this module. */
const UNSUPPORTED = Symbol('unsupported');

function reserve(count: number): void {
  if (cursor + count <= bytes.length) return;
  let size = bytes.length * 2;
  while (size < cursor + count) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(bytes.subarray(0, cursor));
  bytes = grown;
  view = new DataView(grown.buffer);
}

function writeString(text: string): void {
  const length = text.length;
  if (length <= SHORT_STRING) {
    reserve(5 + length);
    const start = cursor + 5;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      bytes[start + i] = code;
    }
    if (i === length) {
      bytes[cursor] = ASCII;
      view.setUint32(cursor + 1, length, true);
      cursor = start + length;
      return;
    }
  }
  // UTF-8 cannot hold a lone surrogate (TextEncoder would turn it into U+FFFD); structured clone keeps it.
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) throw UNSUPPORTED;
  reserve(5 + length * 3);
  const { written } = encoder.encodeInto(text, bytes.subarray(cursor + 5));
  bytes[cursor] = UTF8;
  view.setUint32(cursor + 1, written, true);
  cursor += 5 + written;
}

function writeValue(value: unknown): void {
  switch (typeof value) {
    case 'number':
      if ((value | 0) === value && !(value === 0 && 1 / value < 0)) {
        reserve(5);
        bytes[cursor] = INT32;
        view.setInt32(cursor + 1, value, true);
        cursor += 5;
      } else {
        reserve(9);
        bytes[cursor] = FLOAT64;
        view.setFloat64(cursor + 1, value, true);
        cursor += 9;
      }
      return;
    case 'string':
      writeString(value);
      return;
    case 'boolean':
      reserve(1);
      bytes[cursor++] = value ? TRUE : FALSE;
      return;
    case 'undefined':
      reserve(1);
      bytes[cursor++] = UNDEFINED;
      return;
    case 'object':
      if (value === null) {
        reserve(1);
        bytes[cursor++] = NULL;
        return;
      }
      writeContainer(value);
      return;
    default:
      throw UNSUPPORTED;
  }
}

function writeContainer(value: object): void {
  // A Proxy's contents are not its own: structured clone refuses it, and so does the fallback.
  if (containers.has(value) || types.isProxy(value)) throw UNSUPPORTED;
  containers.add(value);
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const array = value as unknown[];
    const length = array.length;
    reserve(5);
    bytes[cursor] = ARRAY;
    view.setUint32(cursor + 1, length, true);
    cursor += 5;
    for (let i = 0; i < length; i++) {
      const item = array[i];
      if (item === undefined && !(i in array)) throw UNSUPPORTED;
      writeValue(item);
    }
    // Named properties (`Object.assign([1], { tag: 'x' })`): structured clone keeps them, this format has no room.
    if (Object.keys(array).length !== length) throw UNSUPPORTED;
    return;
  }
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  reserve(5);
  bytes[cursor] = OBJECT;
  view.setUint32(cursor + 1, keys.length, true);
  cursor += 5;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    writeString(key);
    writeValue(record[key]);
  }
}

/**
 * Writes `value` in the fast format. Returns the bytes (a view of a buffer this
 * module reuses: copy them out before the next call), or `undefined` when the
 * value needs the fallback.
 */
export function writeItem(value: unknown): Uint8Array | undefined {
  if (bytes.length > LARGE_SCRATCH) {
    // Do not keep the memory of one huge item for the thread's lifetime.
    bytes = new Uint8Array(4096);
    view = new DataView(bytes.buffer);
  }
  cursor = 0;
  try {
    writeValue(value);
  } catch (error) {
    if (error === UNSUPPORTED) return undefined;
    throw error;
  } finally {
    containers.clear();
  }
  return bytes.subarray(0, cursor);
}

let source: Uint8Array = bytes;
let sourceView: DataView = view;
let at = 0;

// Keys and short values repeat from item to item ('id', 'value', 'item'):
// remember the last string seen per hash of its bytes, so that reading one
// costs a compare, not a new string (and V8 sees the same internalized key).
const CACHE_SIZE = 512;
const CACHED_LENGTH = 24;
const cachedBytes: (Uint8Array | undefined)[] = new Array(CACHE_SIZE);
const cachedText: string[] = new Array(CACHE_SIZE);

function readAscii(start: number, length: number): string {
  let hash = length;
  for (let i = start; i < start + length; i++) hash = (hash * 31 + source[i]!) | 0;
  const slot = hash & (CACHE_SIZE - 1);
  const known = cachedBytes[slot];
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (known[i] !== source[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedText[slot]!;
  }
  let text = '';
  for (let i = start; i < start + length; i++) text += String.fromCharCode(source[i]!);
  if (length <= CACHED_LENGTH) {
    cachedBytes[slot] = source.slice(start, start + length);
    cachedText[slot] = text;
  }
  return text;
}

function readString(tag: number): string {
  const length = sourceView.getUint32(at + 1, true);
  const start = at + 5;
  at = start + length;
  return tag === ASCII ? readAscii(start, length) : decoder.decode(source.subarray(start, at));
}

function readValue(): unknown {
  const tag = source[at]!;
  switch (tag) {
    case UNDEFINED:
      at += 1;
      return undefined;
    case NULL:
      at += 1;
      return null;
    case TRUE:
      at += 1;
      return true;
    case FALSE:
      at += 1;
      return false;
    case INT32:
      at += 5;
      return sourceView.getInt32(at - 4, true);
    case FLOAT64:
      at += 9;
      return sourceView.getFloat64(at - 8, true);
    case ASCII:
    case UTF8:
      return readString(tag);
    case ARRAY: {
      const length = sourceView.getUint32(at + 1, true);
      at += 5;
      const array = new Array<unknown>(length);
      for (let i = 0; i < length; i++) array[i] = readValue();
      return array;
    }
    case OBJECT: {
      const count = sourceView.getUint32(at + 1, true);
      at += 5;
      const record: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const key = readString(source[at]!);
        const item = readValue();
        if (key === '__proto__') {
          Object.defineProperty(record, key, { value: item, enumerable: true, writable: true, configurable: true });
        } else {
          record[key] = item;
        }
      }
      return record;
    }
    default:
      throw new RangeError(`Corrupt queue item: unknown tag ${tag} at byte ${at}`);
  }
}

/** Reads a value written by `writeItem` from `data[start…]` (`data` may be shared memory). */
export function readItem(data: Uint8Array, dataView: DataView, start: number): unknown {
  source = data;
  sourceView = dataView;
  at = start;
  return readValue();
}
