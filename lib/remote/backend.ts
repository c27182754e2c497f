/**
 * `redisBackend()`: the options of the remote backend, checked once, and the
 * factory of one RemoteDispatcher per Pool (API.md §10).
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import type { RedisOptions } from 'ioredis';
import { makeBackend, type Backend } from '../runtime/backend';
import { checkOptions, checkTimeout, invalidArg } from '../validate';
import { RemoteDispatcher } from './dispatcher';
import { authkeyBytes } from './signing';

/** Options of `redisBackend()`. */
export interface RedisBackendOptions {
  /** A `redis://` or `rediss://` (TLS) URL, or ioredis options (host, port, username, password, tls, ...). */
  readonly connection: string | RedisOptions;
  /** The BullMQ queue name the workers serve (`--queue`); no `:`. */
  readonly queue: string;
  /** The directory task modules are named relative to; the workers' `--root` holds the same tree. */
  readonly root: string;
  /** The shared secret jobs are signed with; the workers read the same bytes from `--authkey-file`. */
  readonly authkey: string | Uint8Array;
  /**
   * Milliseconds Redis may stay unreachable before pending and new calls fail with `ERR_BACKEND`.
   * @default 10000
   */
  readonly backendTimeout?: number;
  /** BullMQ's key prefix (the workers' `--prefix`). @default 'bull' */
  readonly prefix?: string;
}

const DEFAULT_BACKEND_TIMEOUT = 10000;
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * A backend that runs a Pool's or an Executor's work on remote worker
 * processes (`npx parapool worker`) through a BullMQ queue on Redis. Every call
 * of Pool and Executor works unchanged; `pool.workers` is the number of remote
 * threads now serving the queue. Each Pool made with it has its own
 * connections and leaves nothing of its calls in Redis after close()/join().
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a missing or bad option (a queue name with `:`, a root that is not a directory, an empty authkey).
 * @example
 * import { Pool, tasks } from 'parapool';
 * import { redisBackend } from 'parapool/remote';
 * const backend = redisBackend({ connection: 'redis://127.0.0.1:6379', queue: 'primes', root: __dirname, authkey: process.env.PARAPOOL_KEY! });
 * const primes = tasks<typeof import('./workers/primes')>(require.resolve('./workers/primes'));
 * await using pool = new Pool({ backend });
 * const flags = await pool.map(primes.isPrime, [2, 3, 4]);
 */
export function redisBackend(options: RedisBackendOptions): Backend {
  const opts = checkOptions('options', options);
  const connection = opts.connection;
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw invalidArg('connection', 'a redis:// URL or ioredis options', connection);
  }
  if (typeof connection === 'string' && !/^rediss?:\/\//.test(connection)) {
    throw invalidArg('connection', 'a redis:// or rediss:// URL', connection);
  }
  if (typeof opts.queue !== 'string' || !QUEUE_NAME.test(opts.queue)) {
    throw invalidArg('queue', 'a queue name of letters, digits, _ . - (no `:`)', opts.queue);
  }
  const prefix = opts.prefix ?? 'bull';
  if (typeof prefix !== 'string' || !QUEUE_NAME.test(prefix)) throw invalidArg('prefix', 'a key prefix of letters, digits, _ . -', prefix);
  if (typeof opts.root !== 'string' || opts.root === '') throw invalidArg('root', 'the path of a directory', opts.root);
  const root = path.resolve(opts.root);
  let isDirectory = false;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) throw invalidArg('root', 'the path of an existing directory', opts.root);
  const authkey = authkeyBytes(opts.authkey);
  if (authkey === undefined) throw invalidArg('authkey', 'a non-empty string or Uint8Array', opts.authkey);
  const backendTimeout = checkTimeout('backendTimeout', opts.backendTimeout) ?? DEFAULT_BACKEND_TIMEOUT;
  const settings = { connection, queue: opts.queue, prefix, root, authkey, backendTimeout };
  return makeBackend(`redis queue "${opts.queue}"`, () => new RemoteDispatcher(settings));
}
