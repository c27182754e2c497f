/**
 * Redis keys and scripts of the remote backend, besides BullMQ's own. Every key
 * lives under BullMQ's prefix and the queue name, so a Redis ACL that grants a
 * user `~bull:<queue>:*` covers all of them.
 *
 * Per client (deleted by the client when it closes):
 * - `…:pp:c:<client>`: exists while the client is alive (workers skip jobs of a gone client);
 * - `…:pp:c:<client>:results`: the list workers push results to;
 * - `…:pp:c:<client>:cancelled`: ids of cancelled jobs (a worker skips them);
 * - `…:pp:c:<client>:runners`: job id → the worker running it (to name the host of a death).
 * Per queue (the workers'): `…:pp:workers` (sorted set of heartbeats by Redis time) and
 * `…:pp:workerinfo` (worker → its description); the channel `…:pp:cancel` stops running jobs.
 */

export interface QueueKeys {
  readonly base: string;
  readonly workers: string;
  readonly workerInfo: string;
  readonly cancelChannel: string;
}

export interface ClientKeys {
  readonly alive: string;
  readonly results: string;
  readonly cancelled: string;
  readonly runners: string;
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:${queue}`;
  return { base, workers: `${base}:pp:workers`, workerInfo: `${base}:pp:workerinfo`, cancelChannel: `${base}:pp:cancel` };
}

export function clientKeys(prefix: string, queue: string, client: string): ClientKeys {
  const alive = `${prefix}:${queue}:pp:c:${client}`;
  return { alive, results: `${alive}:results`, cancelled: `${alive}:cancelled`, runners: `${alive}:runners` };
}

/** Milliseconds after its last heartbeat that a worker no longer counts. */
export const HEARTBEAT_TTL_MS = 3000;
/** How often a worker heartbeats, and how often a client reads them. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** How long a client's alive key lives without a refresh (a crashed client's jobs are skipped after it). */
export const CLIENT_TTL_MS = 30000;

/**
 * Worker, before running a job. KEYS: alive, cancelled, runners, results. ARGV: job id, runner, started message.
 * Returns 0 when the client is gone, 1 when the job was cancelled, 2 to run it (and tells the client it started).
 */
export const BEGIN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 1 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[3])
return 2
`;

/** Worker, after a job. KEYS: alive, results, runners. ARGV: job id, message. Pushes only while the client lives. */
export const PUSH_SCRIPT = `
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[2]) end
return 1
`;

/** Worker heartbeat. KEYS: workers, workerInfo. ARGV: member, info, ttl ms. Also forgets workers past the ttl. */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
for _, member in ipairs(stale) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[2], member)
end
return 1
`;

/** Client: the live workers' descriptions. KEYS: workers, workerInfo. ARGV: ttl ms. */
export const LIVE_WORKERS_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
if #live == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(live))
`;
