/**
 * Signatures, both ways: HMAC-SHA256 over a canonical payload, so that a worker
 * runs only jobs made by a holder of the authkey, exactly as they were made (the
 * job id, and for each of its parts the part's id, the task named by module,
 * export and hash, the kind and the arguments), and a client accepts only results made by one (the messages a
 * worker sends a client in one turn are sealed together: their MAC, then their text, each naming its part), and a
 * worker stops only parts whose cancellation a holder of the authkey published. Redis itself
 * is protected by its ACL and TLS (docs/remote.md).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { JobData } from './wire';

type Unsigned = Omit<JobData, 'mac'>;

/** The bytes that are signed: every field of the job but the MAC, every field of each part, in a fixed order. */
function canonical(id: string, data: Unsigned): string {
  const parts = Array.isArray(data.parts)
    ? data.parts.map((part) => [part?.id, part?.module, part?.export, part?.sha256, part?.kind, part?.args, part?.escaped])
    : null;
  return JSON.stringify([data.v, id, data.client, parts]);
}

/** HMAC-SHA256(authkey, canonical payload) in hex. */
export function sign(authkey: Buffer, id: string, data: Unsigned): string {
  return createHmac('sha256', authkey).update(canonical(id, data)).digest('hex');
}

/** True when `data.mac` is the signature of this job under `authkey` (constant-time comparison). */
export function verify(authkey: Buffer, id: string, data: JobData): boolean {
  if (typeof data.mac !== 'string' || !/^[0-9a-f]{64}$/.test(data.mac)) return false;
  const expected = Buffer.from(sign(authkey, id, data), 'hex');
  return timingSafeEqual(expected, Buffer.from(data.mac, 'hex'));
}

/** Separates result MACs from job MACs: a job's signature can never pass for a result's. */
const RESULT_DOMAIN = 'parapool.remote.result\n';
const MAC_HEX = 64;

/**
 * Result messages as they go into a client's result list: the hex MAC of their text, then the text (one
 * message per line: devalue JSON holds no raw line break).
 */
export function sealResult(authkey: Buffer, text: string): string {
  return createHmac('sha256', authkey).update(RESULT_DOMAIN).update(text).digest('hex') + text;
}

/**
 * The text of a sealed entry of result messages, and whether its MAC is this authkey's (constant-time comparison). An
 * unauthentic text is only good for naming the job to fail: nothing in it is trusted.
 */
export function openResult(authkey: Buffer, sealed: string): { readonly text: string; readonly authentic: boolean } {
  const text = sealed.slice(MAC_HEX);
  if (!/^[0-9a-f]{64}/.test(sealed)) return { text, authentic: false };
  const expected = createHmac('sha256', authkey).update(RESULT_DOMAIN).update(text).digest();
  return { text, authentic: timingSafeEqual(expected, Buffer.from(sealed.slice(0, MAC_HEX), 'hex')) };
}

/** Separates cancellation MACs from the others: neither a job's nor a result's MAC can pass for one. */
const CANCEL_DOMAIN = 'parapool.remote.cancel\n';

/** A cancellation as a client publishes it to the workers: its client id, the ids of its parts, their MAC. */
export interface CancelMessage {
  readonly client: string;
  readonly ids: readonly string[];
  readonly mac: string;
}

function cancelMac(authkey: Buffer, client: string, ids: readonly string[]): Buffer {
  return createHmac('sha256', authkey)
    .update(CANCEL_DOMAIN)
    .update(JSON.stringify([client, ids]))
    .digest();
}

/** The text a client publishes to cancel its parts `ids`, signed with the authkey. */
export function signCancel(authkey: Buffer, client: string, ids: readonly string[]): string {
  return JSON.stringify({ client, ids, mac: cancelMac(authkey, client, ids).toString('hex') } satisfies CancelMessage);
}

/**
 * The part ids a published cancellation names, when its MAC is this authkey's (constant-time comparison)
 * and every id is one of its client's; else undefined: a worker acts on no cancellation it cannot trust.
 */
export function openCancel(authkey: Buffer, text: string): readonly string[] | undefined {
  let message: Partial<CancelMessage>;
  try {
    message = JSON.parse(text) as Partial<CancelMessage>;
  } catch {
    return undefined;
  }
  const { client, ids, mac } = message ?? {};
  if (typeof client !== 'string' || !Array.isArray(ids) || typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return undefined;
  if (!ids.every((id) => typeof id === 'string' && id.startsWith(`${client}-`))) return undefined;
  return timingSafeEqual(cancelMac(authkey, client, ids), Buffer.from(mac, 'hex')) ? ids : undefined;
}

/** sha256 of a task module's content, hex: how client and worker agree on its version. */
export function contentHash(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** An authkey given as a string or bytes, as bytes; empty → undefined. */
export function authkeyBytes(authkey: unknown): Buffer | undefined {
  if (typeof authkey === 'string') return authkey.length === 0 ? undefined : Buffer.from(authkey, 'utf8');
  if (authkey instanceof Uint8Array) return authkey.length === 0 ? undefined : Buffer.from(authkey);
  return undefined;
}
