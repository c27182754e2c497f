/**
 * The TLS options of a manager's TCP channel: TLS 1.3 with a pre-shared key
 * derived from the authkey by HKDF-SHA256 under a fixed label. No
 * certificates; a wrong key fails the handshake on both sides (neither learns
 * anything, nothing is touched), and every later byte is encrypted and
 * authenticated.
 */
import { hkdfSync } from 'node:crypto';
import * as tls from 'node:tls';
import { AuthenticationError, ManagerGoneError } from '../errors';

const PSK_IDENTITY = 'parapool-manager';
const PSK_LABEL = 'parapool manager TLS 1.3 PSK v1';
// A pre-shared key given through Node's pskCallback is a SHA-256 one: only the SHA-256 suites can be
// negotiated. AES-GCM first (hardware-accelerated almost everywhere), ChaCha20-Poly1305 for the rest.
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';

function psk(authkey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', authkey, new Uint8Array(0), PSK_LABEL, 32));
}

export function serverTlsOptions(authkey: Uint8Array): tls.TlsOptions {
  const key = psk(authkey);
  return {
    minVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? key : null),
  };
}

export function clientTlsOptions(authkey: Uint8Array): tls.ConnectionOptions {
  const key = psk(authkey);
  return {
    minVersion: 'TLSv1.3',
    ciphers: CIPHERS,
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
  };
}

/** A client's TLS connection, handshake done (no delay on small writes); `ERR_AUTH` for a wrong key, `ERR_MANAGER_GONE` when nothing answers. */
export function connectTls(address: { readonly host: string; readonly port: number }, authkey: Uint8Array): Promise<tls.TLSSocket> {
  const { host, port } = address;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ...clientTlsOptions(authkey) });
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (typeof error.code === 'string' && error.code.startsWith('ERR_SSL')) {
        reject(new AuthenticationError(`The manager at ${host}:${port} refused the key (TLS: ${error.code})`));
      } else {
        reject(new ManagerGoneError(`No manager answers at ${host}:${port}: ${error.message}`));
      }
    };
    socket.once('error', onError);
  });
}
