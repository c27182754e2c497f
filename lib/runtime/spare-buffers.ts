/**
 * SharedArrayBuffers of finished self-scheduled maps (range-run.ts), kept for
 * the next map of a similar size: a fresh SharedArrayBuffer's pages fault in
 * on their first write, which for a fine map costs more than the map's own
 * stores. A buffer comes back here only once no thread can read or write it
 * any more (every job of its map answered), and few and small ones are kept,
 * so the memory held stays bounded.
 */
const spares: SharedArrayBuffer[] = [];
const MAX_SPARES = 4;
const MAX_SPARE_BYTES = 8 * 1024 * 1024;

/** A buffer of at least `bytes` bytes (at most four times as many): a spare, or a new one. */
export function takeShared(bytes: number): SharedArrayBuffer {
  let best = -1;
  for (let i = 0; i < spares.length; i++) {
    const length = spares[i]!.byteLength;
    // A much larger spare stays for a map of its size.
    if (length >= bytes && length <= 4 * bytes && (best === -1 || length < spares[best]!.byteLength)) best = i;
  }
  return best === -1 ? new SharedArrayBuffer(bytes) : spares.splice(best, 1)[0]!;
}

/** Keeps `buffer` for a later `takeShared`; the caller guarantees that nothing uses it any more. */
export function giveBackShared(buffer: SharedArrayBuffer): void {
  if (buffer.byteLength > MAX_SPARE_BYTES || spares.includes(buffer)) return;
  if (spares.length === MAX_SPARES) spares.shift();
  spares.push(buffer);
}
