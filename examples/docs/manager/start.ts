import { classRef, Manager, Pool, tasks } from 'parapool';

const Cache = classRef<typeof import('./workers/cache.js').Cache>(new URL('./workers/cache.js', import.meta.url), 'Cache');
await using m = await Manager.register({ Cache }).start();

const results = await m.dict<string, number>(); // ManagedDict<string, number>
const cache = await m.Cache(); // Proxied<Cache>: each method async
await results.set('a', 1);
cache.sync.store('k', 42); // the blocking form (for workers)

const work = tasks<typeof import('./workers/work.js')>(new URL('./workers/work.js', import.meta.url));
await using pool = new Pool({ workers: 2 });
await pool.starmap(work.fill, [
  [results, 0],
  [results, 1],
]); // proxies cross to tasks
console.log(await results.entries(), await cache.lookup('k'));
