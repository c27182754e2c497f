/**
 * parapool/remote: the remote backend (API.md §10). The only entry that loads
 * bullmq and ioredis; the package root never does.
 */
export { redisBackend } from './backend';
export type { RedisBackendOptions } from './backend';
export type { Backend } from '../runtime/backend';
