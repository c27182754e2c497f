/**
 * Job signatures: HMAC-SHA256 over a canonical payload, so that a worker runs
 * only jobs made by a holder of the authkey, exactly as they were made (the
 * job id, the task named by module, export and hash, the kind and the
 * arguments). Redis itself is protected by its ACL and TLS (docs/remote.md).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { JobData } from './wire';

type Unsigned = Omit<JobData, 'mac'>;

/** The bytes that are signed: every field of the job but the MAC, in a fixed order. */
function canonical(id: string, data: Unsigned): string {
  return JSON.stringify([data.v, id, data.client, data.module, data.export, data.sha256, data.kind, data.args]);
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
