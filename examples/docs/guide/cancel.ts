// cancel.ts: an AbortSignal or a timeout ends a call, and only that call
import { Pool, isParapoolError, tasks } from 'parapool';

const slow = tasks<typeof import('./workers/slow.js')>(new URL('./workers/slow.js', import.meta.url));
await using pool = new Pool({ workers: 2 });
const items = [10_000, 10_000, 10_000];

const controller = new AbortController();
setTimeout(() => controller.abort(), 100);
const cancelled = await pool.map(slow.work, items, { signal: controller.signal }).catch((error: unknown) => error);
const timedOut = await pool.map(slow.work, items, { timeout: 200 }).catch((error: unknown) => error);
for (const error of [cancelled, timedOut]) if (isParapoolError(error)) console.log(error.code); // ERR_CANCELLED, then ERR_TIMEOUT
console.log(await pool.map(slow.work, [1, 2])); // [ 1, 2 ]: the pool goes on
