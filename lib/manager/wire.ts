/**
 * The frames of a manager's TCP channel (inside TLS, see tls-psk.ts): a uint32
 * length, then either a kind byte and the compact binary form of compact.ts
 * (plain data: what almost every call carries; a call or a reply has a head of
 * its own, `callFrame`/`replyFrame`, so no key is written or read), or UTF-8
 * devalue text (the rest: cycles, typed arrays, RegExps …). Neither decoder ever evaluates code;
 * every frame is capped in size before it is buffered; devalue's output is
 * checked after parsing for `__proto__` own keys and for depth, and the compact
 * decoder refuses both while it reads.
 */
import type * as net from 'node:net';
import { parse, stringify } from 'devalue';
import { type CompactRef, decodeCompact, decodeCompactValues, encodeCompact, encodeCompactValues, MAX_DEPTH } from './compact';

/** The largest frame either side accepts (bytes after the length). */
export const MAX_FRAME = 64 * 1024 * 1024;
/** The first byte of a compact frame (devalue text, printable, never starts with these). */
const COMPACT = 0;
/** A call frame (`callFrame`). */
const CALL = 1;
/** A reply frame with a value, and one with an error (`replyFrame`). */
const REPLY_OK = 2;
const REPLY_ERR = 3;
/** A reference to an object of the server, as it travels on the wire. */
export class RemoteRef {
  constructor(
    readonly id: number,
    readonly type: string,
    readonly methods: readonly string[],
  ) {}
}

const compactRef: CompactRef<RemoteRef> = {
  test: (value): value is RemoteRef => value instanceof RemoteRef,
  parts: (ref) => [ref.id, ref.type, ref.methods],
  make: (id, type, methods) => new RemoteRef(id, type, methods),
};

const reducers = {
  Ref: (value: unknown) => (value instanceof RemoteRef ? [value.id, value.type, value.methods] : undefined),
};
const revivers = {
  Ref: (value: unknown) => {
    if (!Array.isArray(value) || !Number.isInteger(value[0]) || typeof value[1] !== 'string' || !Array.isArray(value[2])) {
      throw new TypeError('malformed reference');
    }
    return new RemoteRef(value[0] as number, value[1] as string, (value[2] as unknown[]).map(String));
  },
};

/**
 * Writes a frame at once. No corking: while a write is in flight (a TLS
 * socket finishes each one a turn of the event loop later), the socket
 * buffers the frames that follow and writes them together when it ends, so
 * pipelined calls share TLS records and syscalls, and a call awaited on its
 * own goes out without a hop.
 */
export function writeFrame(socket: net.Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.write(bytes);
}

/** One frame's bytes: length, then the compact form or devalue text. Throws for values devalue cannot carry. */
export function frame(value: unknown): Buffer {
  const compact = encodeCompact(value, 5, MAX_FRAME + 4, compactRef);
  if (compact !== undefined) {
    compact.writeUInt32BE(compact.length - 4, 0);
    compact[4] = COMPACT;
    return compact;
  }
  const text = Buffer.from(stringify(value, reducers), 'utf8');
  if (text.length > MAX_FRAME) throw new RangeError(`A manager message of ${text.length} bytes is over the ${MAX_FRAME}-byte frame limit`);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(text.length, 0);
  return Buffer.concat([header, text]);
}

const isInt32 = (value: number) => (value | 0) === value;
const isUint32 = (value: number) => value >>> 0 === value;

/**
 * A call's frame (read back as `{ t: 'call', seq, id, m, a }`): a fixed head
 * (kind, number, object id) and the method and arguments in the compact form,
 * so no key is written or read; devalue text when the arguments are not plain data.
 */
export function callFrame(seq: number, id: number, method: string, args: unknown[]): Buffer {
  const compact = isUint32(seq) && isInt32(id) ? encodeCompactValues([method, args], 13, MAX_FRAME + 4, compactRef) : undefined;
  if (compact === undefined) return frame({ t: 'call', seq, id, m: method, a: args });
  compact.writeUInt32BE(compact.length - 4, 0);
  compact[4] = CALL;
  compact.writeUInt32LE(seq, 5);
  compact.writeInt32LE(id, 9);
  return compact;
}

/** A reply's frame (read back as `{ t: 'reply', seq, ok }` or `{ t: 'reply', seq, err }`), as `callFrame` writes a call. */
export function replyFrame(seq: number, ok: boolean, value: unknown): Buffer {
  const compact = isUint32(seq) ? encodeCompact(value, 9, MAX_FRAME + 4, compactRef) : undefined;
  if (compact === undefined) return frame(ok ? { t: 'reply', seq, ok: value } : { t: 'reply', seq, err: value });
  compact.writeUInt32BE(compact.length - 4, 0);
  compact[4] = ok ? REPLY_OK : REPLY_ERR;
  compact.writeUInt32LE(seq, 5);
  return compact;
}

/** Rejects `__proto__` own keys and nesting deeper than `MAX_DEPTH`. */
function guard(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null || seen.has(item)) continue;
    if (depth > MAX_DEPTH) throw new RangeError('frame nested too deeply');
    seen.add(item);
    if (item instanceof Map) {
      for (const [k, v] of item) stack.push([k, depth + 1], [v, depth + 1]);
      continue;
    }
    if (item instanceof Set) {
      for (const v of item) stack.push([v, depth + 1]);
      continue;
    }
    if (ArrayBuffer.isView(item) || item instanceof RemoteRef) continue;
    const proto = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null && !(item instanceof Date) && !(item instanceof RegExp)) {
      throw new TypeError('unexpected object in frame');
    }
    for (const key of Reflect.ownKeys(item)) {
      if (key === '__proto__') throw new TypeError('__proto__ key in frame');
      stack.push([(item as Record<string | symbol, unknown>)[key], depth + 1]);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value of the frame in `buf[start, end)`; throws when it is malformed. */
function decodeFrame(buf: Buffer, start: number, end: number): unknown {
  const kind = end > start ? buf[start] : -1;
  switch (kind) {
    case COMPACT:
      return decodeCompact(buf, start + 1, end, true, compactRef);
    case CALL: {
      if (end - start < 9) throw new RangeError('call frame truncated');
      const seq = buf.readUInt32LE(start + 1);
      const id = buf.readInt32LE(start + 5);
      const [m, a] = decodeCompactValues(buf, start + 9, end, 2, true, compactRef);
      return { t: 'call', seq, id, m, a };
    }
    case REPLY_OK:
    case REPLY_ERR: {
      if (end - start < 5) throw new RangeError('reply frame truncated');
      const seq = buf.readUInt32LE(start + 1);
      const value = decodeCompact(buf, start + 5, end, true, compactRef);
      return kind === REPLY_OK ? { t: 'reply', seq, ok: value } : { t: 'reply', seq, err: value };
    }
    default: {
      const value = parse(utf8.decode(buf.subarray(start, end)), revivers);
      guard(value);
      return value;
    }
  }
}

/**
 * Reads frames from a socket: `onFrame` for each parsed, guarded value;
 * `onBad` once, for an oversized length, bad UTF-8/devalue, or a guard failure
 * (the caller closes the connection). A frame's length is checked before its
 * bytes are buffered; a frame that came whole in one chunk is read where it is.
 */
export function readFrames(socket: net.Socket, onFrame: (value: unknown) => void, onBad: (reason: string) => void): void {
  /** The start of a frame that has not come whole yet, and the bytes after it. */
  let parts: Buffer[] = [];
  let buffered = 0;
  /** The bytes `parts` must hold before the next frame can be read (its length, then all of it). */
  let want = 4;
  let bad = false;
  socket.on('data', (chunk: Buffer) => {
    if (bad) return;
    let buf = chunk;
    if (parts.length > 0) {
      parts.push(chunk);
      buffered += chunk.length;
      if (buffered < want) return;
      buf = Buffer.concat(parts, buffered);
      parts = [];
      buffered = 0;
    }
    let pos = 0;
    for (;;) {
      const left = buf.length - pos;
      if (left < 4) {
        want = 4;
        break;
      }
      const length = buf.readUInt32BE(pos);
      if (length > MAX_FRAME) {
        bad = true;
        onBad(`frame of ${length} bytes over the limit`);
        return;
      }
      if (left - 4 < length) {
        want = 4 + length;
        break;
      }
      const start = pos + 4;
      pos = start + length;
      let value: unknown;
      try {
        value = decodeFrame(buf, start, pos);
      } catch (error) {
        bad = true;
        onBad(`malformed frame: ${(error as Error).message}`);
        return;
      }
      onFrame(value);
      if (bad) return;
    }
    if (pos < buf.length) {
      parts = [pos === 0 ? buf : buf.subarray(pos)];
      buffered = buf.length - pos;
    }
  });
}
