/**
 * Errors across threads. Structured clone keeps only name, message and stack of
 * built-in errors and drops own properties such as `code`, so a task's error is
 * encoded explicitly in the worker and rebuilt on the caller's side with its
 * class (built-in or parapool's), name, message, code, other own data
 * properties, cause, and the worker-side stack.
 */
import { decode, encode } from './codec';
import { errorClassesByCode, isParapoolError, type ErrorCode } from '../errors';
import type { EncodedError } from '../runtime/protocol';

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as ErrorConstructor,
};

/** Own properties rebuilt by other means than copying. */
const STRUCTURAL_KEYS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

function builtinOf(error: Error): string | undefined {
  let proto = Object.getPrototypeOf(error);
  while (proto !== null) {
    const name = proto.constructor?.name;
    if (name !== undefined && BUILTIN_ERRORS[name]?.prototype === proto) return name;
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

/**
 * Encodes a thrown value. Properties that cannot cross are replaced by a
 * description rather than failing the whole error: losing the error would be worse.
 * `shared` is set when the encoded form holds shared objects.
 */
export function encodeError(thrown: unknown, depth = 0): { error: EncodedError; shared: boolean } {
  if (!(thrown instanceof Error) && !(typeof thrown === 'object' && thrown !== null && 'stack' in thrown && 'message' in thrown)) {
    const value = safeEncode(thrown, 'error');
    return { error: { isError: false, value: value.value }, shared: value.shared };
  }
  const error = thrown as Error;
  let shared = false;
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (STRUCTURAL_KEYS.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (descriptor === undefined || !('value' in descriptor)) continue;
    const encoded = safeEncode(descriptor.value, `error.${key}`);
    shared ||= encoded.shared;
    props[key] = encoded.value;
  }
  const result: {
    -readonly [K in keyof EncodedError]: EncodedError[K];
  } = {
    isError: true,
    builtin: builtinOf(error),
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === 'string' ? error.stack : undefined,
    props,
  };
  if (isParapoolError(error)) result.parapoolCode = error.code;
  if (depth < 8 && 'cause' in error) {
    const cause = encodeError(error.cause, depth + 1);
    result.cause = cause.error;
    result.hasCause = true;
    shared ||= cause.shared;
  }
  if (depth < 8 && error instanceof AggregateError) {
    result.errors = error.errors.map((inner: unknown) => {
      const encoded = encodeError(inner, depth + 1);
      shared ||= encoded.shared;
      return encoded.error;
    });
  }
  return { error: result, shared };
}

function safeEncode(value: unknown, path: string): { value: unknown; shared: boolean } {
  try {
    const encoded = encode(value, path);
    return { value: encoded.value, shared: encoded.shared };
  } catch {
    return { value: `[uncloneable ${typeof value}]`, shared: false };
  }
}

/** Rebuilds what `encodeError` made; `shared` says whether descriptors must be revived. */
export function decodeError(encoded: EncodedError, shared: boolean): unknown {
  if (shared) decode(encoded);
  return rebuild(encoded);
}

function rebuild(encoded: EncodedError): unknown {
  if (!encoded.isError) return encoded.value;
  const options = encoded.hasCause ? { cause: rebuild(encoded.cause!) } : undefined;
  let error: Error;
  const parapoolClass = encoded.parapoolCode ? errorClassesByCode.get(encoded.parapoolCode as ErrorCode) : undefined;
  if (parapoolClass !== undefined) {
    error = Reflect.construct(parapoolClass, [encoded.message ?? '', options]) as Error;
  } else if (encoded.builtin === 'AggregateError') {
    error = new AggregateError((encoded.errors ?? []).map(rebuild), encoded.message, options);
  } else {
    const Ctor = BUILTIN_ERRORS[encoded.builtin ?? 'Error'] ?? Error;
    error = new Ctor(encoded.message, options);
  }
  if (encoded.name !== undefined && encoded.name !== error.name) {
    Object.defineProperty(error, 'name', { value: encoded.name, enumerable: false, writable: true, configurable: true });
  }
  if (encoded.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: encoded.stack, enumerable: false, writable: true, configurable: true });
  }
  for (const [key, value] of Object.entries(encoded.props ?? {})) {
    Object.defineProperty(error, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return error;
}
