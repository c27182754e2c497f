/**
 * The Manager (seed 004): objects that live in a manager thread, reached from
 * every worker through typed proxies, and from another process over TCP.
 * A shared cache that workers fill and hit, workers filling one shared dict,
 * and the same dict read and written by a second process.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { classRef, Manager, type Pool, tasks } from 'parapool';
import { since } from './progress';

const work = tasks<typeof import('./manager-tasks')>(path.join(__dirname, 'manager-tasks.ts'));
const Cache = classRef<typeof import('./manager-types').Cache>(path.join(__dirname, 'manager-types.ts'), 'Cache');

export async function run(pool: Pool): Promise<void> {
  const key = randomBytes(16).toString('hex');
  await using m = await Manager.register({ Cache }).start({ address: { host: '127.0.0.1', port: 0 }, authkey: key });

  // A shared cache: the second pass is all hits.
  const cache = await m.Cache();
  const items = Array.from({ length: 200 }, (_, i) => i % 50);
  let start = performance.now();
  await pool.starmap(
    work.cachedSquare,
    items.map((n) => [cache, n] as [typeof cache, number]),
  );
  console.log(`shared cache: 200 lookups of 50 keys in ${since(start)}:`, await cache.stats());

  // Workers filling one shared dict.
  const results = await m.dict<string, number>(undefined, { name: 'results' });
  start = performance.now();
  const chunks = Array.from(
    { length: pool.workers },
    (_, w) => [results, w, Array.from({ length: 100 }, (_, i) => i)] as [typeof results, number, number[]],
  );
  await pool.starmap(work.fillResults, chunks);
  console.log(`${pool.workers} workers wrote ${await results.size()} entries into one dict in ${since(start)}`);

  // The same dict from a second process, over TCP.
  const port = m.address!.port;
  const output = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'manager-client.ts'), String(port), key], {
    encoding: 'utf8',
  });
  process.stdout.write(output);
  const remote = (await results.keys()).filter((k) => k.startsWith('remote:'));
  console.log(`back here, the dict has ${await results.size()} entries, ${remote.length} written over TCP`);
}
