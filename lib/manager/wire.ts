/**
 * The frames of a manager's TCP channel (inside TLS, see tls-psk.ts): a uint32
 * length, then either a zero byte and the compact binary form of compact.ts
 * (plain data: what almost every call carries), or UTF-8 devalue text (the
 * rest: cycles, typed arrays, RegExps …). Neither decoder ever evaluates code;
 * every frame is capped in size before it is buffered; devalue's output is
 * checked after parsing for `__proto__` own keys and for depth, and the compact
 * decoder refuses both while it reads.
 */
import type * as net from 'node:net';
import { parse, stringify } from 'devalue';
import { type CompactRef, decodeCompact, encodeCompact, MAX_DEPTH } from './compact';

/** The largest frame either side accepts (bytes after the length). */
export const MAX_FRAME = 64 * 1024 * 1024;
/** The first byte of a compact frame (devalue text never starts with it). */
const COMPACT = 0;
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
 * Writes many frames as few TLS records: the socket is corked until the
 * current tick ends (pipelined calls then share records and syscalls).
 */
export function writeFrame(socket: net.Socket, bytes: Buffer): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  socket.write(bytes);
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

/**
 * Reads frames from a socket: `onFrame` for each parsed, guarded value;
 * `onBad` once, for an oversized length, bad UTF-8/devalue, or a guard failure
 * (the caller closes the connection). Nothing is buffered past the cap.
 */
export function readFrames(socket: net.Socket, onFrame: (value: unknown) => void, onBad: (reason: string) => void): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let need = -1;
  let bad = false;
  socket.on('data', (chunk: Buffer) => {
    if (bad) return;
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (need < 0) {
        if (buffered < 4) return;
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        need = all.readUInt32BE(0);
        chunks = [all.subarray(4)];
        buffered -= 4;
        if (need > MAX_FRAME) {
          bad = true;
          onBad(`frame of ${need} bytes over the limit`);
          return;
        }
      }
      if (buffered < need) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const text = all.subarray(0, need);
      chunks = [all.subarray(need)];
      buffered -= need;
      need = -1;
      let value: unknown;
      try {
        if (text.length > 0 && text[0] === COMPACT) value = decodeCompact(text, 1, text.length, true, compactRef);
        else {
          value = parse(new TextDecoder('utf-8', { fatal: true }).decode(text), revivers);
          guard(value);
        }
      } catch (error) {
        bad = true;
        onBad(`malformed frame: ${(error as Error).message}`);
        return;
      }
      onFrame(value);
      if (bad) return;
    }
  });
}
