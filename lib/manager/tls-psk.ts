/**
 * The TLS options of a manager's TCP channel: TLS 1.3 with a pre-shared key
 * derived from the authkey by HKDF-SHA256 under a fixed label. No
 * certificates; a wrong key fails the handshake on both sides (neither learns
 * anything, nothing is touched), and every later byte is encrypted and
 * authenticated.
 */
import { hkdfSync } from 'node:crypto';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

const PSK_IDENTITY = 'parapool-manager';
const PSK_LABEL = 'parapool manager TLS 1.3 PSK v1';
const CIPHERS = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

function psk(authkey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', authkey, new Uint8Array(0), PSK_LABEL, 32));
}

export function serverTlsOptions(authkey: Uint8Array): TlsOptions {
  const key = psk(authkey);
  return {
    minVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? key : null),
  };
}

export function clientTlsOptions(authkey: Uint8Array): ConnectionOptions {
  const key = psk(authkey);
  return {
    minVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
  };
}
