/**
 * Redis keys and scripts of the remote backend, besides BullMQ's own. Every key
 * lives under BullMQ's prefix and the queue name, so a Redis ACL that grants a
 * user `~bull:<queue>:*` covers all of them.
 *
 * Per client (deleted by the client when it closes):
 * - `…:pp:c:<client>`: exists while the client is alive (workers skip jobs of a gone client);
 * - `…:pp:c:<client>:results`: the list workers push results to;
 * - `…:pp:c:<client>:cancelled`: ids of cancelled jobs (a worker skips them);
 * - `…:pp:c:<client>:runners`: part id → the worker running it (to name the host of a death);
 * - `…:pp:c:<client>:done`: ids of parts that ended while their job is still in BullMQ (a job re-run after
 *   its worker died skips them: only the parts that had not ended run again).
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
  readonly done: string;
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:${queue}`;
  return { base, workers: `${base}:pp:workers`, workerInfo: `${base}:pp:workerinfo`, cancelChannel: `${base}:pp:cancel` };
}

export function clientKeys(prefix: string, queue: string, client: string): ClientKeys {
  const alive = `${prefix}:${queue}:pp:c:${client}`;
  return { alive, results: `${alive}:results`, cancelled: `${alive}:cancelled`, runners: `${alive}:runners`, done: `${alive}:done` };
}

/** Milliseconds after its last heartbeat that a worker no longer counts. */
export const HEARTBEAT_TTL_MS = 3000;
/** How often a worker heartbeats, and how often a client reads them. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** How long a client's alive key lives without a refresh (a crashed client's jobs are skipped after it). */
export const CLIENT_TTL_MS = 30000;

/**
 * Worker, before running the parts of one client's jobs it fetched in one event-loop turn. KEYS: alive,
 * cancelled, runners, done. ARGV: runner, then the part ids. Returns 0 when the client is gone, else one
 * state per part: 1 cancelled (skip it), 2 run it (its runner recorded, to name the host if it dies),
 * 3 it ended in an earlier run of its job (skip it silently: its message was sent).
 */
export const BEGIN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local states = {}
local runners = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 then
    states[i - 1] = 1
  elseif redis.call('SISMEMBER', KEYS[4], ARGV[i]) == 1 then
    states[i - 1] = 3
  else
    states[i - 1] = 2
    runners[#runners + 1] = ARGV[i]
    runners[#runners + 1] = ARGV[1]
  end
end
for i = 1, #runners, 500 do redis.call('HSET', KEYS[3], unpack(runners, i, math.min(i + 499, #runners))) end
return states
`;

/**
 * Worker, the messages for one client of one event-loop turn, in order. KEYS: alive, results, runners,
 * done. ARGV: n, then the n ids of parts that ended (their runner entries go; they are marked done while
 * the client lives), m, then the m ids of parts whose job left BullMQ (their done marks go), then the
 * sealed entries (each holds the messages of one turn, one per line), pushed only while the client lives.
 */
export const PUSH_SCRIPT = `
local n = tonumber(ARGV[1])
local m = tonumber(ARGV[n + 2])
local alive = redis.call('EXISTS', KEYS[1]) == 1
for i = 2, n + 1, 500 do
  local last = math.min(i + 499, n + 1)
  redis.call('HDEL', KEYS[3], unpack(ARGV, i, last))
  if alive then redis.call('SADD', KEYS[4], unpack(ARGV, i, last)) end
end
if alive and n > 0 then redis.call('PEXPIRE', KEYS[4], ${4 * CLIENT_TTL_MS}) end
for i = n + 3, n + m + 2, 500 do redis.call('SREM', KEYS[4], unpack(ARGV, i, math.min(i + 499, n + m + 2))) end
if alive then
  for i = n + m + 3, #ARGV, 500 do redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV))) end
end
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
