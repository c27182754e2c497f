/**
 * A backend: where a Pool or an Executor runs its jobs when not on local
 * worker threads. `redisBackend()` of `parapool/remote` makes one; this layer
 * knows only that it makes dispatchers, so the package root never loads the
 * remote backend's dependencies.
 */
import { invalidArg } from '../validate';
import type { Dispatcher } from './dispatch';

const BACKEND = Symbol.for('parapool.backend');

/** A remote backend for `new Pool({ backend })` / `new Executor({ backend })`, made by `redisBackend()` of `parapool/remote`. */
export interface Backend {
  /** What it runs on, for messages: e.g. `redis queue "primes"`. */
  readonly description: string;
  /** One dispatcher per Pool. */
  readonly [BACKEND]: () => Dispatcher;
}

/** Makes a Backend from its dispatcher factory. */
export function makeBackend(description: string, createDispatcher: () => Dispatcher): Backend {
  return Object.freeze({ description, [BACKEND]: createDispatcher });
}

/** True for a Backend made by any copy of parapool. */
export function isBackend(value: unknown): value is Backend {
  return typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[BACKEND] === 'function';
}

/** A new dispatcher of `backend`. */
export function dispatcherOf(backend: Backend): Dispatcher {
  return backend[BACKEND]();
}

/**
 * The dispatcher of a Pool's or an Executor's `backend` option, checked once in
 * the face: a backend's workers are configured on the worker command, so the
 * options that configure local threads are refused beside it. `undefined` when
 * no backend was given (local threads).
 */
export function backendDispatcher(options: Readonly<Record<string, unknown>>, workerOptions: readonly string[]): Dispatcher | undefined {
  const backend = options.backend;
  if (backend === undefined) return undefined;
  if (!isBackend(backend)) throw invalidArg('backend', 'a backend made by redisBackend() of parapool/remote', backend);
  for (const option of workerOptions) {
    if (options[option] !== undefined) {
      throw invalidArg(
        option,
        `undefined with a backend (${backend.description}: it is an option of the workers, e.g. --threads, --initializer)`,
        options[option],
      );
    }
  }
  return dispatcherOf(backend);
}
