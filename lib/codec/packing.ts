/**
 * Packed chunks: the fast path for maps over numbers.
 *
 * Structured clone serializes an array element by element; for a chunk of
 * 12,500 numbers that is most of a fine-grained map's cost, and all of it is
 * paid on the main thread, which serializes every chunk and deserializes every
 * result. A chunk made only of numbers travels instead as one Float64Array (a
 * memory copy; every JS number, -0 and NaN included, round-trips exactly), and
 * results made only of numbers or only of booleans come back the same way. The
 * check costs one `typeof` per item, far less than the serialization it saves.
 *
 * Integers travel as an Int32Array when they all fit: numbers read from a
 * Float64Array are doubles to V8, and a task doing integer arithmetic (`n % d`)
 * on doubles runs several times slower than on small integers.
 */

/** Below this many items the saving does not pay for the check. */
const MIN_PACKED = 64;

export const PackedKind = {
  Float64: 1,
  Boolean: 2,
  Int32: 3,
} as const;
export type PackedKind = (typeof PackedKind)[keyof typeof PackedKind];

type NumberArrayType = typeof Int32Array | typeof Float64Array;

/**
 * Int32Array if every item is a 32-bit integer (not -0), Float64Array if every
 * item is a number, undefined otherwise or when too few items to pay off.
 */
function numberArrayType(items: readonly unknown[]): NumberArrayType | undefined {
  const length = items.length;
  if (length < MIN_PACKED) return undefined;
  let integers = true;
  for (let i = 0; i < length; i++) {
    const item = items[i];
    if (typeof item !== 'number') return undefined;
    if (integers && ((item | 0) !== item || (item === 0 && 1 / item < 0))) integers = false;
  }
  return integers ? Int32Array : Float64Array;
}

/** The items as an Int32Array or a Float64Array (see numberArrayType), else undefined. */
export function packNumbers(items: readonly unknown[]): Int32Array | Float64Array | undefined {
  const Type = numberArrayType(items);
  return Type === undefined ? undefined : new Type(items as number[]);
}

/** Results as a typed array when they are all numbers or all booleans. */
export function packResults(results: readonly unknown[]): { packed: Float64Array | Int32Array | Uint8Array; kind: PackedKind } | undefined {
  const length = results.length;
  if (length < MIN_PACKED) return undefined;
  const first = typeof results[0];
  if (first === 'number') {
    const packed = packNumbers(results);
    if (packed === undefined) return undefined;
    return { packed, kind: packed instanceof Int32Array ? PackedKind.Int32 : PackedKind.Float64 };
  }
  if (first !== 'boolean') return undefined;
  for (let i = 1; i < length; i++) if (typeof results[i] !== 'boolean') return undefined;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = results[i] ? 1 : 0;
  return { packed: bytes, kind: PackedKind.Boolean };
}

/**
 * A whole input of numbers, packed once into shared memory: every chunk of a
 * map over an array is then just a range of it, and nothing is copied or
 * serialized per chunk.
 */
export function packNumbersShared(
  items: readonly unknown[],
  allocate: (bytes: number) => SharedArrayBuffer = (bytes) => new SharedArrayBuffer(bytes),
): Int32Array | Float64Array | undefined {
  const Type = numberArrayType(items);
  if (Type === undefined) return undefined;
  // The buffer may be longer than needed (a reused one): the view has exactly the items.
  const buffer = allocate(items.length * Type.BYTES_PER_ELEMENT);
  const packed = Type === Int32Array ? new Int32Array(buffer, 0, items.length) : new Float64Array(buffer, 0, items.length);
  packed.set(items as number[]);
  return packed;
}

/** Back to a plain array. */
export function unpackResults(packed: Float64Array | Int32Array | Uint8Array, kind: PackedKind): unknown[] {
  const length = packed.length;
  const out: unknown[] = new Array(length);
  if (kind === PackedKind.Boolean) {
    for (let i = 0; i < length; i++) out[i] = packed[i] === 1;
  } else {
    for (let i = 0; i < length; i++) out[i] = packed[i];
  }
  return out;
}
