/**
 * What crosses the network between a client and remote workers: values as
 * devalue JSON (numbers, strings, bigint, arrays, plain objects, Map, Set,
 * Date, RegExp, typed arrays; devalue refuses `__proto__` keys both ways),
 * and the job and result messages built on it.
 */
import { parse, stringify } from 'devalue';
import { DESCRIPTOR_KEY, ESCAPED } from '../codec/registry';
import { UncloneableError } from '../errors';
import type { CallKind, EncodedError, TaskRequest, TaskResponse } from '../runtime/protocol';

/**
 * One chunk (or apply/submit) inside a BullMQ job: its id (the client's entry), a task named by module,
 * export and content hash, with its arguments.
 */
export interface JobPart {
  /** The client's id of this chunk: what its messages name. */
  readonly id: string;
  /** The task module, relative to the client's root, with `/` separators. */
  readonly module: string;
  readonly export: string;
  /** sha256 of the task module's content, hex. */
  readonly sha256: string;
  readonly kind: CallKind;
  /** The arguments (apply) or the chunk's items (map, starmap), codec-encoded, as devalue JSON. */
  readonly args: string;
  /** True when `args` holds escaped user objects (the thread unescapes them). */
  readonly escaped: boolean;
}

/**
 * The data of one BullMQ job: one or more parts of one client (several short chunks share a job, so that
 * BullMQ's per-job work is paid once for them), signed as a whole. The job's BullMQ id is its first part's.
 */
export interface JobData {
  /** Wire version. */
  readonly v: 2;
  /** The client that submitted it (its result list, its cancellations). */
  readonly client: string;
  readonly parts: readonly JobPart[];
  /** HMAC-SHA256(authkey, canonical payload), hex (see signing.ts). */
  readonly mac: string;
}

/**
 * Worker → client, one entry of the client's result list (sealed with the authkey: signing.ts). A response's
 * `ms` is how long the part ran on its thread: what the client sizes its jobs by.
 */
export type ResultMessage =
  | { readonly id: string; readonly type: 'started' }
  | { readonly id: string; readonly type: 'response'; readonly response: TaskResponse; readonly ms?: number }
  | { readonly id: string; readonly type: 'failure'; readonly error: EncodedError }
  | { readonly id: string; readonly type: 'skipped' }
  /** The job (`id`: its BullMQ id, not a part's) failed the worker's signature check and did not run. */
  | { readonly id: string; readonly type: 'refused'; readonly error: EncodedError };

const SENT_AWAY = 'cannot be sent to another machine';

/**
 * A request's arguments as plain values, and whether they hold escaped user objects (objects with the
 * codec's own descriptor key, which the worker's thread must unescape); refuses shared objects and
 * transfers before anything is sent.
 */
export function plainArgs(request: TaskRequest, hasTransfers: boolean, rootName: string): { args: unknown[]; escaped: boolean } {
  if (hasTransfers) throw new UncloneableError(`${rootName} holds a transfer()-marked buffer, which ${SENT_AWAY}`);
  const { input } = request;
  if (input.kind === 'packed') return { args: Array.from(input.packed), escaped: false };
  if (input.kind === 'packed-range') return { args: Array.from(input.packed.subarray(input.from, input.to)), escaped: false };
  if (input.shared && sharedTagIn(input.args) !== undefined) {
    throw new UncloneableError(`${rootName} holds a parapool shared object (shared memory, a lock or a queue), which ${SENT_AWAY}`);
  }
  return { args: input.args, escaped: input.shared };
}

/** devalue JSON of `value`; a value that is not plain data → ERR_UNCLONEABLE naming where. */
export function toWire(value: unknown, rootName: string): string {
  try {
    return stringify(value);
  } catch (error) {
    const at = (error as { path?: unknown }).path;
    const where = typeof at === 'string' && at !== '' ? `${rootName}${at}` : rootName;
    const message = error instanceof Error ? error.message : String(error);
    throw new UncloneableError(`${where} ${SENT_AWAY}: ${message}`, { cause: error });
  }
}

/** Parses devalue JSON (objects with a `__proto__` key are refused by devalue itself). */
export function fromWire(text: string): unknown {
  return parse(text);
}

/** The tag of the first shared-object descriptor in a codec-encoded value, or undefined (escaped user objects are plain data). */
export function sharedTagIn(value: unknown): string | undefined {
  let found: string | undefined;
  walkEncoded(value, (tag) => {
    found ??= tag;
    return undefined;
  });
  return found;
}

/**
 * Replaces, in place, every shared-object descriptor in a codec-encoded value by a description of what
 * was there: what an error's properties become when they held shared objects, which cannot cross machines
 * (the error itself, with its class, code and stack, still does).
 */
export function describeShared<T>(value: T): T {
  return walkEncoded(value, (tag) => `[shared object ${tag}: it ${SENT_AWAY}]`) as T;
}

/** Visits the descriptors of shared objects in `value`; a string returned replaces the descriptor. */
function walkEncoded(root: unknown, visit: (tag: string) => string | undefined): unknown {
  const seen = new Set<object>();
  const walk = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i]);
      return value;
    }
    if (value instanceof Map) {
      for (const [key, entry] of value) value.set(key, walk(entry));
      return value;
    }
    if (value instanceof Set) {
      const entries = [...value];
      value.clear();
      for (const entry of entries) value.add(walk(entry));
      return value;
    }
    const record = value as Record<string, unknown>;
    const tag = record[DESCRIPTOR_KEY];
    if (typeof tag === 'string' && tag !== ESCAPED) return visit(tag) ?? value;
    for (const key of Object.keys(record)) record[key] = walk(record[key]);
    return value;
  };
  return walk(root);
}
