/**
 * The codec: how values cross threads.
 *
 * Values travel by structured clone. Three things need more than that, and the
 * encoder (sender side) handles them in one walk over the value:
 *
 * - parapool's shared objects (Value, Lock, Queue, ...) are class instances whose
 *   state lives in SharedArrayBuffers; structured clone would strip their
 *   prototype and private fields. Each class registers a tag with an `encode`
 *   (instance → cloneable descriptor) and a `decode` (descriptor → working
 *   instance over the same memory). The encoder swaps instances for tagged
 *   descriptors, copying only the containers on the path to them; the decoder
 *   swaps them back in place, at any depth.
 * - values that cannot be cloned (functions, symbols, Proxies, WeakMaps,
 *   promises) and values that cannot even be read (a throwing getter, a revoked
 *   Proxy) are reported before anything is sent, with their path:
 *   `args[1].cb is a function`. `encode` throws nothing but parapool errors.
 * - buffers marked with `transfer()` are moved instead of copied.
 *
 * Descriptors cannot be forged by user data. A descriptor is a plain object
 * whose own key `__parapool_shared__` holds its tag. The encoder escapes every
 * object of the user's that has that key itself (as an own enumerable property,
 * the kind structured clone carries over) into an escape descriptor,
 * `{ __parapool_shared__: 'parapool.codec.escaped', data: [[key, value], ...] }`,
 * which the decoder turns back into an object with exactly those properties, in
 * that order. So in an encoded value every object that holds the key was made
 * by the encoder, and the decoder can trust it. The decoder looks for the key on
 * plain objects only, never on arrays, Maps, Sets or built-ins.
 *
 * What the walk visits, on both sides: array elements, own enumerable string
 * keys of plain objects and of class instances (which clone as plain objects),
 * Map entries, Set items, and a shared object's descriptor. Named (non-index)
 * properties of arrays are left to structured clone on both sides: listing an
 * array's keys costs more than cloning it, and arrays of numbers must stay fast.
 * Where the encoder copies an array it copies them too, as they are.
 *
 * Nesting: the walk is recursive, as V8's serializer is. A value nested deeper
 * than the stack allows is ERR_UNCLONEABLE ("is nested too deeply"), never a
 * RangeError. Walking iteratively would not help: structured clone itself
 * gives up at about the same depth, so such a value could not be sent anyway.
 *
 * Adding a shared type is one call to `registerSharedType`.
 */
export { decode } from './decoder';
export { type Encoded, encode, type TransferableValue, transfer } from './encoder';
export { DESCRIPTOR_KEY, registerSharedType, type SharedTypeCodec, setSharedTypeLoader, sharedDescriptor } from './registry';
