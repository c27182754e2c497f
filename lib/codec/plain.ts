/**
 * Values the codec sends exactly as they are, without walking them: a
 * primitive, or an array of primitives that is not a Proxy (a Proxy's traps
 * must not run). A leaf with no imports of parapool's, so that a worker can
 * answer plain results without loading the codec (lib/entry/pool-worker.ts).
 */
import { types } from 'node:util';

/** True for a primitive: not an object (null is one here), a function or a symbol. */
export function isPrimitive(value: unknown): boolean {
  const type = typeof value;
  return (type !== 'object' || value === null) && type !== 'function' && type !== 'symbol';
}

/** True when `value` goes as it is: a primitive, or an array (not a Proxy) of primitives only. */
export function passesAsIs(value: unknown): boolean {
  if (isPrimitive(value)) return true;
  if (!Array.isArray(value) || types.isProxy(value)) return false;
  for (let i = 0; i < value.length; i++) if (!isPrimitive(value[i])) return false;
  return true;
}
