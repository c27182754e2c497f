/**
 * What crosses the network between a client and remote workers: values as
 * devalue JSON (numbers, strings, bigint, arrays, plain objects, Map, Set,
 * Date, RegExp, typed arrays; devalue refuses `__proto__` keys both ways),
 * and the job and result messages built on it.
 */
import { parse, stringify } from 'devalue';
import { UncloneableError } from '../errors';
import type { CallKind, EncodedError, TaskRequest, TaskResponse } from '../runtime/protocol';

/** The data of one BullMQ job: a task named by module, export and content hash, with its arguments. */
export interface JobData {
  /** Wire version. */
  readonly v: 1;
  /** The client that submitted it (its result list, its cancellations). */
  readonly client: string;
  /** The task module, relative to the client's root, with `/` separators. */
  readonly module: string;
  readonly export: string;
  /** sha256 of the task module's content, hex. */
  readonly sha256: string;
  readonly kind: CallKind;
  /** The arguments (apply) or the chunk's items (map, starmap), as devalue JSON. */
  readonly args: string;
  /** HMAC-SHA256(authkey, canonical payload), hex (see signing.ts). */
  readonly mac: string;
}

/** Worker → client, one entry of the client's result list. */
export type ResultMessage =
  | { readonly id: string; readonly type: 'started' }
  | { readonly id: string; readonly type: 'response'; readonly response: TaskResponse }
  | { readonly id: string; readonly type: 'failure'; readonly error: EncodedError }
  | { readonly id: string; readonly type: 'skipped' };

const SENT_AWAY = 'cannot be sent to another machine';

/** A request's arguments as plain values; refuses shared objects and transfers before anything is sent. */
export function plainArgs(request: TaskRequest, hasTransfers: boolean, rootName: string): unknown[] {
  if (hasTransfers) throw new UncloneableError(`${rootName} holds a transfer()-marked buffer, which ${SENT_AWAY}`);
  if (request.shared) {
    throw new UncloneableError(`${rootName} holds a parapool shared object (shared memory, a lock or a queue), which ${SENT_AWAY}`);
  }
  if (request.packed === true) {
    const packed = request.args as unknown as Int32Array | Float64Array;
    const [from, to] = request.range ?? [0, packed.length];
    return Array.from(packed.subarray(from, to));
  }
  return request.args;
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
