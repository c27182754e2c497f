/**
 * The option checks that Pool and Executor share: what every worker starts
 * with (the initializer and its arguments, encoded once) and its heap limits.
 * Each face calls them once, in its own constructor.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { encode } from '../codec/codec';
import { taskSpecOf } from '../tasks/task-ref';
import { invalidArg } from '../validate';
import type { PoolWorkerData } from './protocol';

/** `workerData` of every pool worker: the initializer's spec and its encoded arguments. */
export function poolWorkerData(initializer: unknown, initargs: unknown): PoolWorkerData {
  if (initargs !== undefined && !Array.isArray(initargs)) throw invalidArg('initargs', 'an array', initargs);
  if (initializer === undefined) return {};
  const spec = taskSpecOf(initializer, 'initializer');
  const args = (initargs as unknown[] | undefined) ?? [];
  const encoded = encode(args, 'initargs');
  return { initializer: spec, initargs: encoded.value, initargsShared: encoded.shared };
}

const RESOURCE_LIMIT_KEYS: readonly string[] = ['maxYoungGenerationSizeMb', 'maxOldGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

/** Worker heap limits: an object whose fields are known and each a positive finite number. */
export function checkResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArg('resourceLimits', 'an object of worker resource limits', value);
  }
  for (const key of Object.keys(value)) {
    if (!RESOURCE_LIMIT_KEYS.includes(key)) {
      throw invalidArg(`resourceLimits.${key}`, `one of ${RESOURCE_LIMIT_KEYS.map((name) => `\`${name}\``).join(', ')}`, key);
    }
    const limit = (value as Record<string, unknown>)[key];
    if (limit === undefined) continue;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
      throw invalidArg(`resourceLimits.${key}`, 'a positive number of megabytes', limit);
    }
  }
  return { ...(value as ResourceLimits) };
}
