/**
 * A backend: where a Pool or an Executor runs its jobs when not on local
 * worker threads. `redisBackend()` of `parapool/remote` makes one; this layer
 * knows only that it makes dispatchers, so the package root never loads the
 * remote backend's dependencies.
 */
import type { Dispatcher } from './dispatch';

const BACKEND = Symbol.for('parapool.backend');

/** A remote backend for `new Pool({ backend })` / `new Executor({ backend })`, made by `redisBackend()` of `parapool/remote`. */
export interface Backend {
  /** What it runs on, for messages: e.g. `redis queue "primes"`. */
  readonly description: string;
  /** @internal One dispatcher per Pool. */
  readonly [BACKEND]: () => Dispatcher;
}

/** @internal Makes a Backend from its dispatcher factory. */
export function makeBackend(description: string, createDispatcher: () => Dispatcher): Backend {
  return Object.freeze({ description, [BACKEND]: createDispatcher });
}

/** @internal True for a Backend made by any copy of parapool. */
export function isBackend(value: unknown): value is Backend {
  return typeof value === 'object' && value !== null && typeof (value as Record<symbol, unknown>)[BACKEND] === 'function';
}

/** @internal A new dispatcher of `backend`. */
export function dispatcherOf(backend: Backend): Dispatcher {
  return backend[BACKEND]();
}
