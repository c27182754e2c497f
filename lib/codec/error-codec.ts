/**
 * Errors across threads. Structured clone keeps only name, message and stack of
 * built-in errors and drops own properties such as `code`, so a task's error is
 * encoded explicitly in the worker and rebuilt on the caller's side with its
 * class (built-in or parapool's), name, message, code, other own data
 * properties, cause, and the worker-side stack.
 *
 * Whatever a thread throws, the caller learns what it was: `encodeError` never
 * throws and never runs a getter or a Proxy trap of the thrown value (it reads
 * own data properties only), and `decodeError` never throws on what arrives
 * (it may come from a crashed or hostile thread). What cannot be read or sent
 * is described instead: a thrown Symbol or function, or a Proxy, becomes an
 * `ERR_UNCLONEABLE` error saying what was thrown; an unreadable `message`
 * becomes a message saying so, with the class and code kept where they could
 * be read.
 */
import { types } from 'node:util';
import { type ErrorCode, errorClassesByCode, InvalidStateError, isParapoolError, UncloneableError } from '../errors';
import { decode, encode } from './codec';
import { safeDescription } from './describe';

/** An error, made cloneable: everything needed to rebuild it on the other side. */
export interface EncodedError {
  /** False when a non-Error value was thrown; then `value` holds it (encoded). */
  readonly isError: boolean;
  readonly value?: unknown;
  /** The built-in constructor to rebuild with ('Error', 'TypeError', ...), if any. */
  readonly builtin?: string;
  readonly name?: string;
  readonly message?: string;
  readonly stack?: string;
  /** The `code` of a parapool error, to rebuild its class. */
  readonly parapoolCode?: string;
  /**
   * Own enumerable data properties (code, errno, custom fields) as `[key, encoded value]`
   * pairs: an array, so that no key of the user's can pass for a codec descriptor.
   */
  readonly props?: ReadonlyArray<readonly [string, unknown]>;
  readonly cause?: EncodedError;
  readonly hasCause?: boolean;
  /** AggregateError's errors. */
  readonly errors?: readonly EncodedError[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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
const BUILTIN_BY_PROTOTYPE = new Map<object, string>(Object.entries(BUILTIN_ERRORS).map(([name, ctor]) => [ctor.prototype, name]));

/** Own properties rebuilt by other means than copying. */
const STRUCTURAL_KEYS = new Set(['name', 'message', 'stack', 'cause', 'errors']);

/** How deep causes and aggregated errors are followed. */
const MAX_DEPTH = 8;

const { isNativeError, isProxy } = types;

/** Own data property of a non-Proxy object; never runs a getter. */
function ownData(object: object, key: PropertyKey): { value: unknown } | undefined {
  const descriptor = Object.getOwnPropertyDescriptor(object, key);
  return descriptor !== undefined && 'value' in descriptor ? { value: descriptor.value } : undefined;
}

/** `object[key]`, getters included (a class may compute its `message`), or what reading it threw. */
function read(object: object, key: PropertyKey): { value: unknown } | { threw: unknown } {
  try {
    return { value: (object as Record<PropertyKey, unknown>)[key] };
  } catch (threw) {
    return { threw };
  }
}

function isParapoolErrorSafely(error: object): boolean {
  try {
    return isParapoolError(error);
  } catch {
    return false;
  }
}

function builtinOf(error: object): string | undefined {
  for (let proto = Object.getPrototypeOf(error); proto !== null && !isProxy(proto); proto = Object.getPrototypeOf(proto)) {
    const name = BUILTIN_BY_PROTOTYPE.get(proto);
    if (name !== undefined) return name;
  }
  return undefined;
}

function isErrorLike(thrown: object): boolean {
  if (isNativeError(thrown)) return true;
  try {
    return thrown instanceof Error || (Object.hasOwn(thrown, 'stack') && Object.hasOwn(thrown, 'message'));
  } catch {
    // A Proxy among its prototypes: not an error we can read.
    return false;
  }
}

/** The error the caller gets for a thrown value that cannot be sent as it is: ERR_UNCLONEABLE, saying what was thrown. */
function undescribable(thrown: unknown, reason: string): EncodedError {
  return {
    isError: true,
    builtin: 'Error',
    name: UncloneableError.name,
    message: `A task threw ${safeDescription(thrown)}: ${reason}`,
    parapoolCode: UncloneableError.code,
  };
}

const UNSENDABLE = 'it cannot be sent to another thread';

/**
 * The stack frames of an error whose `stack` throws when read: V8 formats the
 * stack lazily, and its header (`name: message`) is what throws for a Symbol
 * name or a throwing `message` getter. With `Error.prepareStackTrace` set, V8
 * hands over the frames it captured and formats no header.
 */
function framesOf(error: object): string | undefined {
  const previous = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites.map((site) => `    at ${String(site)}`).join('\n');
    const frames = (error as { stack?: unknown }).stack;
    return typeof frames === 'string' ? frames : undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = previous;
  }
}

class ErrorEncoder {
  shared = false;
  private readonly ancestors = new Set<object>();

  thrown(thrown: unknown, depth: number): EncodedError {
    if (typeof thrown === 'object' && thrown !== null) {
      if (isProxy(thrown)) return undescribable(thrown, UNSENDABLE);
      if (isErrorLike(thrown)) return this.error(thrown, depth);
    }
    if (typeof thrown === 'function') return undescribable(thrown, UNSENDABLE);
    try {
      const encoded = encode(thrown, 'error');
      this.shared ||= encoded.shared;
      return { isError: false, value: encoded.value };
    } catch (error) {
      return undescribable(thrown, isParapoolError(error) ? error.message : UNSENDABLE);
    }
  }

  private error(error: object, depth: number): EncodedError {
    this.ancestors.add(error);
    const result: Mutable<EncodedError> = { isError: true, builtin: builtinOf(error) };
    const name = read(error, 'name');
    if ('threw' in name) result.name = result.builtin ?? 'Error';
    else result.name = typeof name.value === 'string' ? name.value : safeDescription(name.value);
    const message = read(error, 'message');
    if ('threw' in message) result.message = `(the message could not be read: reading it threw ${safeDescription(message.threw)})`;
    else
      result.message =
        message.value === undefined ? '' : typeof message.value === 'string' ? message.value : safeDescription(message.value);
    const stack = read(error, 'stack');
    if ('value' in stack && typeof stack.value === 'string') result.stack = stack.value;
    else if ('threw' in stack) {
      const frames = framesOf(error);
      if (frames !== undefined) result.stack = `${result.name}: ${result.message}\n${frames}`;
    }
    const code = read(error, 'code');
    if (isParapoolErrorSafely(error) && 'value' in code && typeof code.value === 'string') result.parapoolCode = code.value;
    result.props = this.props(error);
    const cause = ownData(error, 'cause');
    if (
      cause !== undefined &&
      depth < MAX_DEPTH &&
      !(typeof cause.value === 'object' && cause.value !== null && this.ancestors.has(cause.value))
    ) {
      result.cause = this.thrown(cause.value, depth + 1);
      result.hasCause = true;
    }
    const errors = ownData(error, 'errors');
    if (result.builtin === 'AggregateError' && Array.isArray(errors?.value) && !isProxy(errors.value) && depth < MAX_DEPTH) {
      const inner = errors.value as unknown[];
      result.errors = Array.from({ length: inner.length }, (_, i) => this.thrown(ownData(inner, String(i))?.value, depth + 1));
    }
    this.ancestors.delete(error);
    return result;
  }

  private props(error: object): [string, unknown][] {
    const props: [string, unknown][] = [];
    for (const key of Object.keys(error)) {
      if (STRUCTURAL_KEYS.has(key)) continue;
      const value = ownData(error, key);
      if (value === undefined) continue;
      try {
        const encoded = encode(value.value, `error.${key}`);
        this.shared ||= encoded.shared;
        props.push([key, encoded.value]);
      } catch {
        props.push([key, `[uncloneable ${typeof value.value}]`]);
      }
    }
    return props;
  }
}

/**
 * Encodes a thrown value; never throws, whatever was thrown. Properties that
 * cannot cross are replaced by a description rather than failing the whole
 * error: losing the error would be worse. `shared` is set when the encoded form
 * holds descriptors, so `decodeError` must be told to revive them.
 */
export function encodeError(thrown: unknown): { error: EncodedError; shared: boolean } {
  const encoder = new ErrorEncoder();
  try {
    const error = encoder.thrown(thrown, 0);
    return { error, shared: encoder.shared };
  } catch (failure) {
    // Only a hostile prototype chain (a Proxy among an error's prototypes) or no stack left gets here.
    return { error: undescribable(thrown, `it cannot be described (${safeDescription(failure)})`), shared: false };
  }
}

/**
 * Rebuilds what `encodeError` made; `shared` says whether descriptors must be
 * revived. Never throws: what cannot be rebuilt (a malformed message from a
 * crashed or hostile thread, a shared object that cannot be revived) becomes an
 * error that says so.
 */
export function decodeError(encoded: EncodedError, shared: boolean): unknown {
  try {
    if (shared) decode(encoded);
    return rebuild(encoded, 0);
  } catch (error) {
    const reason = isParapoolError(error) ? error.message : safeDescription(error);
    return new InvalidStateError(`The error a thread sent could not be rebuilt: ${reason}`, { cause: error });
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function rebuild(encoded: EncodedError, depth: number): unknown {
  if (typeof encoded !== 'object' || encoded === null) throw new InvalidStateError(`an encoded error was ${safeDescription(encoded)}`);
  if (encoded.isError !== true) return encoded.value;
  const message = text(encoded.message) ?? '';
  const options =
    encoded.hasCause === true && depth < MAX_DEPTH && encoded.cause !== undefined
      ? { cause: rebuild(encoded.cause, depth + 1) }
      : undefined;
  const parapoolClass = typeof encoded.parapoolCode === 'string' ? errorClassesByCode.get(encoded.parapoolCode as ErrorCode) : undefined;
  let error: Error;
  if (parapoolClass !== undefined) {
    error = Reflect.construct(parapoolClass, [message, options]) as Error;
  } else if (encoded.builtin === 'AggregateError') {
    const inner = Array.isArray(encoded.errors) && depth < MAX_DEPTH ? encoded.errors.map((item) => rebuild(item, depth + 1)) : [];
    error = new AggregateError(inner, message, options);
  } else {
    const builtin = text(encoded.builtin);
    const Ctor = (builtin !== undefined && Object.hasOwn(BUILTIN_ERRORS, builtin) ? BUILTIN_ERRORS[builtin] : undefined) ?? Error;
    error = new Ctor(message, options);
  }
  const name = text(encoded.name);
  if (name !== undefined && name !== error.name) {
    Object.defineProperty(error, 'name', { value: name, enumerable: false, writable: true, configurable: true });
  }
  const stack = text(encoded.stack);
  if (stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: stack, enumerable: false, writable: true, configurable: true });
  }
  for (const entry of Array.isArray(encoded.props) ? encoded.props : []) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
    Object.defineProperty(error, entry[0], { value: entry[1], enumerable: true, writable: true, configurable: true });
  }
  return error;
}
