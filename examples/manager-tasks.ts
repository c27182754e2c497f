/** Pool tasks of the manager demo: they receive proxies and call them with `.sync` (blocking is fine in a worker). */
import type { ManagedDict, Proxied } from 'parapool';
import type { Cache } from './manager-types';

function slowSquare(n: number): number {
  const until = Date.now() + 2;
  while (Date.now() < until);
  return n * n;
}

/** Squares `n` through the shared cache: computes only on a miss. */
export function cachedSquare(cache: Proxied<Cache>, n: number): number {
  const key = String(n);
  const hit = cache.sync.lookup(key);
  if (hit !== undefined) return hit;
  const value = slowSquare(n);
  cache.sync.store(key, value);
  return value;
}

/** Writes one result per item into the shared dict, as `worker-<id>:<n>` → n². */
export function fillResults(results: ManagedDict<string, number>, worker: number, items: number[]): number {
  for (const n of items) results.sync.set(`worker-${worker}:${n}`, n * n);
  return items.length;
}
