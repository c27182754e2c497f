// retry.ts: branch on err.code
import { Pool, isParapoolError, tasks } from 'parapool';

const slow = tasks<typeof import('./workers/slow.js')>(new URL('./workers/slow.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

async function attempt(timeout: number): Promise<number[] | 'retry later'> {
  try {
    return await pool.map(slow.work, [50, 2_000], { timeout });
  } catch (err) {
    if (isParapoolError(err) && err.code === 'ERR_TIMEOUT') return 'retry later';
    throw err;
  }
}
console.log(await attempt(200)); // retry later
console.log(await attempt(10_000)); // [ 50, 2000 ]
