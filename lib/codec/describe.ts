/**
 * Describing a value that may be hostile, for error messages. Everything here
 * runs on values that already failed to cross (a revoked Proxy, an object with
 * throwing getters, a thrown Symbol), so it never runs user code — no getters,
 * no `toString`, no traps — and never throws.
 */
import { types } from 'node:util';

const MAX_TEXT = 200;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** Own data property `key` of a non-Proxy object, or undefined; never runs a getter. */
function ownData(object: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined;
}

/**
 * A short description of any value: `a function`, `Symbol(x)`, `a Proxy`,
 * `TypeError: bad`, `12n`. Reads an error's `name` and `message` only where
 * they are plain data (own or on a built-in prototype).
 */
export function safeDescription(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string':
        return clip(JSON.stringify(value));
      case 'number':
      case 'boolean':
      case 'undefined':
        return String(value);
      case 'bigint':
        return clip(`${value}n`);
      case 'symbol':
        return clip(Symbol.prototype.toString.call(value));
      case 'function':
        return types.isProxy(value) ? 'a Proxy' : 'a function';
    }
    if (value === null) return 'null';
    if (types.isProxy(value)) return 'a Proxy';
    if (types.isNativeError(value) || value instanceof Error) {
      let name = ownData(value, 'name');
      let message = ownData(value, 'message');
      for (
        let proto = Object.getPrototypeOf(value);
        proto !== null && (name === undefined || message === undefined);
        proto = Object.getPrototypeOf(proto)
      ) {
        if (types.isProxy(proto)) break;
        name ??= ownData(proto, 'name');
        message ??= ownData(proto, 'message');
      }
      const label = typeof name === 'string' ? name : 'an error';
      return clip(typeof message === 'string' && message !== '' ? `${label}: ${message}` : label);
    }
    if (Array.isArray(value)) return 'an array';
    return 'an object';
  } catch {
    // Only a hostile prototype chain gets here (a Proxy among the prototypes of a non-Proxy object).
    return 'a value';
  }
}
