/**
 * A queue item as stored: one format byte, then the item's bytes.
 *
 * - `FAST`: the item codec (./item-codec), for plain data: the common case.
 * - `V8`: `v8.serialize`, for the other structured-cloneable types (Map, Set,
 *   Date, typed arrays, BigInt, cycles, ...): exact, but several times slower
 *   (docs/design/queue.md).
 * - `SIDE`: a side-item number; the item itself travels on the side channel
 *   (./side-channel), either as the codec's value (it holds SharedArrayBuffers:
 *   parapool's shared objects) or as a SharedArrayBuffer of `FAST`/`V8` bytes
 *   (it is bigger than the free blocks).
 */
import * as v8 from 'node:v8';
import { decode, encode } from '../codec/codec';
import { InvalidStateError, ParapoolError, UncloneableError } from '../errors';
import { readItem, writeItem } from './item-codec';
import { describingSideItem, type SideMessage } from './side-channel';

export const FAST = 1;
export const V8 = 2;
export const SIDE = 3;

/** An item made ready to store: bytes (`FAST`/`V8`), or a value for the side channel (`SIDE`). */
export interface Payload {
  format: number;
  bytes?: Uint8Array;
  value?: unknown;
  shared?: boolean;
}

/**
 * Serializes `item`. `FAST` bytes live in a buffer the next call reuses: `stable()` them before waiting.
 * @throws UncloneableError (`ERR_UNCLONEABLE`) naming the path of what cannot cross.
 */
export function prepare(item: unknown): Payload {
  const fast = writeItem(item);
  if (fast !== undefined) return { format: FAST, bytes: fast };
  let encoded: ReturnType<typeof encode>;
  try {
    encoded = describingSideItem(() => encode(item, 'item'));
  } catch (error) {
    if (error instanceof ParapoolError) throw error;
    // A revoked Proxy and the like: what structured clone would refuse, said with a code.
    throw new UncloneableError(`item cannot be sent to another thread: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!encoded.shared) {
    try {
      return { format: V8, bytes: v8.serialize(encoded.value) };
    } catch {
      // SharedArrayBuffers and the like: only a message can carry them.
    }
  }
  return { format: SIDE, value: encoded.value, shared: encoded.shared };
}

/** A payload that stays valid while its put waits. */
export function stable(payload: Payload): Payload {
  return payload.format === FAST ? { format: FAST, bytes: payload.bytes!.slice() } : payload;
}

/** The side-channel message for side item `id`. */
export function sideMessage(id: number, payload: Payload): SideMessage {
  if (payload.bytes === undefined) return { id, value: payload.value, shared: payload.shared === true };
  const bytes = new SharedArrayBuffer(payload.bytes.length + 1);
  const view = new Uint8Array(bytes);
  view[0] = payload.format;
  view.set(payload.bytes, 1);
  return { id, bytes };
}

/** Reads the item stored at `source[start … start + total)`; `takeSide` fetches side items. */
export function decodePayload(
  source: Uint8Array,
  view: DataView,
  start: number,
  total: number,
  takeSide: (id: number) => SideMessage | undefined,
): unknown {
  const format = source[start]!;
  if (format === FAST) return readItem(source, view, start + 1);
  if (format === V8) return v8.deserialize(Buffer.from(source.subarray(start + 1, start + total)));
  const id = view.getInt32(start + 1, true);
  const message = takeSide(id);
  if (message === undefined) {
    throw new InvalidStateError(
      `Queue item ${id} travels on the side channel and never reached this thread: it was put while this thread's copy of the queue was on its way here`,
    );
  }
  if (message.bytes !== undefined) {
    const bytes = new Uint8Array(message.bytes);
    return decodePayload(bytes, new DataView(message.bytes), 0, bytes.length, takeSide);
  }
  return message.shared ? decode(message.value) : message.value;
}
