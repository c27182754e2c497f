/**
 * What structured clone refuses and the codec's walk cannot see: a Proxy (live
 * or revoked) looks like a plain object to every property access, and posting
 * one throws a raw DataCloneError (inside a worker, after the task returned,
 * which kills the worker). Both sides check their values with this before
 * posting, so the caller gets ERR_UNCLONEABLE with the path instead.
 */
import { types } from 'node:util';
import { UncloneableError } from '../errors';

/** The path of the first Proxy in `value` (`args[1].x`), or undefined; never touches a Proxy's traps. */
export function findProxy(value: unknown, rootName: string, indexOffset = 0): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const seen = new Set<object>();
  const visit = (node: unknown, path: string, offset: number): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    if (types.isProxy(node)) return path;
    if (seen.has(node)) return undefined;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item = node[i];
        if (typeof item !== 'object' || item === null) continue;
        const found = visit(item, `${path}[${i + offset}]`, 0);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (ArrayBuffer.isView(node) || types.isAnyArrayBuffer(node)) return undefined;
    if (types.isMap(node)) {
      for (const [key, item] of node as Map<unknown, unknown>) {
        const found = visit(key, `${path}.<key>`, 0) ?? visit(item, `${path}.get(${String(key)})`, 0);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (types.isSet(node)) {
      for (const item of node as Set<unknown>) {
        const found = visit(item, `${path}.<item>`, 0);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(node)) {
      const descriptor = Object.getOwnPropertyDescriptor(node, key);
      if (descriptor === undefined || !('value' in descriptor)) continue;
      const found = visit(descriptor.value, `${path}.${key}`, 0);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(value, rootName, indexOffset);
}

/** Throws ERR_UNCLONEABLE naming the first Proxy in `value`. */
export function checkNoProxy(value: unknown, rootName: string, indexOffset = 0): void {
  const path = findProxy(value, rootName, indexOffset);
  if (path !== undefined) throw new UncloneableError(`${path} is a Proxy; it cannot be sent to another thread`);
}
